/*
 * sdk_event: the torpor_event behind the public accessors of torpor.h.
 * One event is created per process and reused for every request: it
 * borrows the request's FastCGI parameter array, owns the payload buffer,
 * and carries the action queue, storage and batch handles that the
 * action and storage calls reach through the event.
 *
 * A request carries one event, or a batch of K events of one object
 * (doc/PROTOCOL.md, 10). sdk_event_load decodes the request;
 * sdk_event_select then makes one of its events the current one, which
 * is what every accessor reports.
 */
#ifndef SDK_EVENT_H
#define SDK_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "torpor.h"

struct sdk_actions;
struct sdk_batch;
struct sdk_storage;

/* Payload capacity kept between requests; larger buffers are freed. */
#define SDK_EVENT_BODY_KEEP	(256 * 1024)

/* The most events a batch may carry: the SDK's Torpor-Batch value. */
#define SDK_EVENT_BATCH_MAX	64
#define SDK_EVENT_STR(x)	#x
#define SDK_EVENT_XSTR(x)	SDK_EVENT_STR(x)
/* The header every response carries (doc/PROTOCOL.md, 10.1). */
#define SDK_EVENT_BATCH_HEADER \
	"Torpor-Batch: " SDK_EVENT_XSTR(SDK_EVENT_BATCH_MAX) "\r\n"

/*
 * Creates an event bound to actions, storage and batch (borrowed; they
 * must outlive it). Returns 0 or -ENOMEM.
 */
int	sdk_event_create(torpor_event **evp, struct sdk_actions *actions,
	    struct sdk_storage *storage, struct sdk_batch *batch);
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
 * written into the buffer (a batch: every event's payload, in order).
 * No event is current afterwards. Returns 0; -EBADMSG when TORPOR_OBJECT
 * is missing, TORPOR_BATCH is not 1..SDK_EVENT_BATCH_MAX or the
 * TORPOR_LENGTH_i do not add up to body_len (*cause says which); -ENOMEM.
 */
int	sdk_event_load(torpor_event *ev, char **envp, size_t body_len,
	    const char **cause);
/* Events in the loaded request: 1, or a batch's K. */
size_t	sdk_event_count(const torpor_event *ev);
/* 1 when the loaded request is a batch (even of one event), else 0. */
int	sdk_event_batched(const torpor_event *ev);
/*
 * Makes event i (< sdk_event_count) the current one. Returns 0; -EBADMSG
 * without its TORPOR_EVENT (*cause says so); -ENOTSUP for an event type
 * this SDK does not know; -ENOMEM.
 */
int	sdk_event_select(torpor_event *ev, size_t i, const char **cause);
/* Forgets the request (its envp becomes invalid after this). */
void	sdk_event_reset(torpor_event *ev);

/*
 * Batches: make the current event report what an earlier event of the
 * batch changed, as a single request would have carried it. The strings
 * are borrowed until the next select or reset. value is the attachment
 * ("" when cleared); tags the comma-separated list. Return 0 or -ENOMEM.
 */
void	sdk_event_set_attachment(torpor_event *ev, const char *value);
int	sdk_event_set_tags(torpor_event *ev, const char *tags);
/* at_ms -1: no alarm. */
void	sdk_event_set_alarm(torpor_event *ev, int64_t at_ms);

struct sdk_actions *sdk_event_actions(const torpor_event *ev);
struct sdk_storage *sdk_event_storage(const torpor_event *ev);
struct sdk_batch *sdk_event_batch(const torpor_event *ev);

#endif
