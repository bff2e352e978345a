/*
 * sdk_event: the torpor_event behind the public accessors of torpor.h.
 * One event is created per process and reused for every request: it
 * borrows the request's FastCGI parameter array, owns the payload buffer,
 * and carries the action queue and storage handles that the action and
 * storage calls reach through the event.
 */
#ifndef SDK_EVENT_H
#define SDK_EVENT_H

#include <stddef.h>

#include "torpor.h"

struct sdk_actions;
struct sdk_storage;

/* Payload capacity kept between requests; larger buffers are freed. */
#define SDK_EVENT_BODY_KEEP	(256 * 1024)

/*
 * Creates an event bound to actions and storage (borrowed; they must
 * outlive it). Returns 0 or -ENOMEM.
 */
int	sdk_event_create(torpor_event **evp, struct sdk_actions *actions,
	    struct sdk_storage *storage);
/* Frees the event; accepts NULL. */
void	sdk_event_free(torpor_event *ev);

/*
 * Makes room for at least need payload bytes (plus a NUL the SDK keeps
 * after them) and points *buf at the payload buffer. Returns 0 or
 * -ENOMEM; earlier payload bytes are kept.
 */
int	sdk_event_body_reserve(torpor_event *ev, size_t need, char **buf);

/*
 * Decodes a request: envp is the NULL-terminated "NAME=value" array
 * (borrowed until sdk_event_reset), body_len the payload bytes already
 * written into the buffer. Returns 0; -EBADMSG when TORPOR_EVENT or
 * TORPOR_OBJECT is missing (*cause names it); -ENOTSUP for an event type
 * this SDK does not know; -ENOMEM.
 */
int	sdk_event_load(torpor_event *ev, char **envp, size_t body_len,
	    const char **cause);
/* Forgets the request (its envp becomes invalid after this). */
void	sdk_event_reset(torpor_event *ev);

struct sdk_actions *sdk_event_actions(const torpor_event *ev);
struct sdk_storage *sdk_event_storage(const torpor_event *ev);

#endif
