/*
 * syncer: the group-commit thread of --durability group. Handlers commit
 * the state env without syncing; this thread calls mdb_env_sync in a loop
 * while anyone waits, so one fsync covers every commit made before it
 * started. The loop asks for a ticket when a response arrives (its commit
 * is done by then) and releases the response's frames once the sync with
 * that number has finished: durable like "full", at the cost of one sync
 * per batch of events instead of one per event.
 */
#ifndef SYNCER_H
#define SYNCER_H

#include <stdint.h>

#include <lmdb.h>

struct syncer;
struct lws_context;

/* Starts the thread; wakes ctx's loop after each sync. NULL + *cause on failure. */
struct syncer	*syncer_start(struct lws_context *ctx, MDB_env *env,
		    const char **cause);
/* Stops and joins the thread (after a last sync); accepts NULL. */
void		 syncer_stop(struct syncer *s);
/*
 * Returns the number of the first sync that starts after this call and
 * makes sure it will happen. Output waiting on it may go once
 * syncer_done() >= that number.
 */
uint64_t	 syncer_ticket(struct syncer *s);
/* Number of the last finished sync. */
uint64_t	 syncer_done(struct syncer *s);

#endif
