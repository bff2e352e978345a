/*
 * sdk_storage: the LMDB side of the SDK. It opens the state env
 * (TORPOR_STORE, read-write) and the gateway env (TORPOR_GATEWAY_STORE,
 * read-only) on first use, serves torpor_get/torpor_list from one
 * read-only snapshot per event, buffers torpor_put/torpor_delete in
 * memory, and commits the buffer in one write transaction when the
 * callback succeeded. torpor_connections reads the gateway's registry.
 *
 * A batch shares one snapshot and one buffer among its events, with a
 * savepoint before each: a failed event's writes are rolled back alone,
 * and the successful ones are committed together at the end.
 */
#ifndef SDK_STORAGE_H
#define SDK_STORAGE_H

#include "torpor.h"

struct sdk_storage;

/* Returns 0 or -ENOMEM. Nothing is opened until an event needs it. */
int	sdk_storage_create(struct sdk_storage **sp);
/* Ends any event, closes the envs and frees everything; accepts NULL. */
void	sdk_storage_free(struct sdk_storage *s);

/* Number of buffered writes (puts and deletes) of the current event. */
size_t	sdk_storage_pending(const struct sdk_storage *s);

/*
 * Writes the event's buffered puts and deletes in one write transaction
 * (nothing happens without writes). Returns 0 or a negative code; on
 * failure nothing was written and *cause says which step failed.
 */
int	sdk_storage_commit(struct sdk_storage *s, const torpor_event *ev,
	    const char **cause);

/*
 * Batches: starts the next event's savepoint. Pointers handed to the
 * previous callback become invalid (its entries replaced since are
 * freed).
 */
void	sdk_storage_savepoint(struct sdk_storage *s);
/*
 * Discards the writes made since the last savepoint, bringing back what
 * they replaced; earlier events' writes stay buffered.
 */
void	sdk_storage_rollback(struct sdk_storage *s);

/*
 * Ends the event (or the batch): drops the write buffer (committed or not) and every
 * pointer handed out, and resets the read transactions so no snapshot is
 * held between events. The envs stay open.
 */
void	sdk_storage_end(struct sdk_storage *s);

#endif
