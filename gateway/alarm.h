/*
 * alarm: the alarm thread. It keeps an in-memory schedule (one alarm per
 * object), sleeps until the earliest one is due or the schedule changes,
 * and hands due objects to the event loop through a mutexed list plus
 * lws_cancel_service(). It never touches LMDB's write side: the loop
 * persists alarms; this thread only syncs the gateway env periodically so
 * alarm and registry writes reach the disk without the loop doing I/O.
 */
#ifndef ALARM_H
#define ALARM_H

#include <stdint.h>

#include <lmdb.h>

struct alarm;
struct lws_context;

/*
 * Starts the thread. env (may be NULL) is synced every sync_ms. Returns
 * NULL and sets *cause when the thread cannot start.
 */
struct alarm	*alarm_start(struct lws_context *ctx, MDB_env *env,
		    int sync_ms, const char **cause);
/* Stops and joins the thread, frees everything; accepts NULL. */
void		 alarm_stop(struct alarm *a);
/* Schedules object's alarm at at_ms, replacing any; at_ms < 0 cancels. */
void		 alarm_set(struct alarm *a, const char *object, int64_t at_ms);
/*
 * Called from the loop: passes each due object name to fn (the alarm is
 * removed from the schedule first) and returns how many.
 */
int		 alarm_drain(struct alarm *a,
		    void (*fn)(const char *object, void *arg), void *arg);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t		 alarm_now_ms(void);

#endif
