/*
 * sdk_batch: what one event of a batch leaves for the next ones. The
 * gateway encodes every event of a batch before any of them runs, so the
 * attachments, tags and alarm it sends do not include what earlier
 * events of the same batch changed (doc/PROTOCOL.md, 10). This module
 * records those changes after each successful event and shows them to
 * the later ones, so each callback sees what a single request would
 * have carried. It also assembles the batch response, one element per
 * event.
 */
#ifndef SDK_BATCH_H
#define SDK_BATCH_H

#include "torpor.h"

struct sdk_actions;
struct sdk_batch;

/* Returns 0 or -ENOMEM. */
int	sdk_batch_create(struct sdk_batch **bp);
/* Frees everything; accepts NULL. */
void	sdk_batch_free(struct sdk_batch *b);
/* Forgets every recorded change and the response (a request's end). */
void	sdk_batch_reset(struct sdk_batch *b);

/*
 * Makes the current event report the changes recorded so far: its
 * connection's attachment and tags, and the object's alarm. Call it for
 * every event, before its callback. Returns 0 or -ENOMEM.
 */
int	sdk_batch_view(struct sdk_batch *b, torpor_event *ev);
/*
 * Records the changes the current event queued in a (call it only when
 * the event succeeded): attachments, tags, the alarm, and the clearing a
 * successful alarm event implies when it leaves the alarm alone and
 * nothing earlier moved it (doc/PROTOCOL.md, 7). Returns 0 or -ENOMEM
 * (then the batch cannot go on).
 */
int	sdk_batch_apply(struct sdk_batch *b, const torpor_event *ev,
	    const struct sdk_actions *a);
/*
 * Overlays the recorded attachment and tags on a registry record of
 * torpor_connections. The pointers stay valid until the next apply.
 */
void	sdk_batch_patch(const struct sdk_batch *b,
	    struct torpor_connection *c);

/*
 * The batch response, built one event at a time: begin writes the
 * headers and opens the array; add appends {"status":200,"actions":[...]}
 * made of the actions queued in a; add_error appends {"status":500,
 * "error":"what: detail"} (detail may be NULL); end closes the array and
 * points *data and *len at the response, valid until the next begin or
 * reset. Each returns 0 or -ENOMEM (the response is then lost: answer
 * with an error instead).
 */
int	sdk_batch_begin(struct sdk_batch *b);
int	sdk_batch_add(struct sdk_batch *b, const struct sdk_actions *a);
int	sdk_batch_add_error(struct sdk_batch *b, const char *what,
	    const char *detail);
int	sdk_batch_end(struct sdk_batch *b, const char **data, size_t *len);

#endif
