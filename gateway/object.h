/*
 * object: the gateway's view of an object: its open connections, its FIFO
 * of pending events, whether one is in flight, its event sequence number
 * and its alarm. Every event for an object goes through object_push and
 * leaves through object_pop, one at a time, which is what gives handlers
 * per-object order.
 */
#ifndef OBJECT_H
#define OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "store.h"

struct objects;
struct object;
struct conn;

enum event_type {
	EVENT_CONNECT,
	EVENT_MESSAGE,
	EVENT_CLOSE,
	EVENT_ERROR,
	EVENT_ALARM,
};

/* A queued event. The conn reference (if any) is held by the event. */
struct event {
	enum event_type	 type;
	struct conn	*conn;		/* NULL for alarms */
	uint8_t		*payload;	/* message body, owned */
	size_t		 len;
	int		 binary;
	int		 close_code;
	int		 close_clean;
	char		*text;		/* close reason or error text, owned */
	int64_t		 alarm_ms;	/* alarm events: the time that fired */
	int64_t		 sent_us;	/* when the request went to a handler */
	struct object	*obj;		/* set by object_push */
	struct event	*next;
	struct event	*batch_next;	/* the rest of its batch, in flight */
};

struct objects	*objects_create(MDB_env *env, const struct store_gateway_dbs *dbs);
void		 objects_free(struct objects *os);
/*
 * Finds or creates an object by name (its last event id is read from the
 * gateway env on creation).
 */
struct object	*objects_get(struct objects *os, const char *name);
struct object	*objects_find(struct objects *os, const char *name);
size_t		 objects_count(const struct objects *os);
/* Events waiting in every object's queue. */
size_t		 objects_queued(const struct objects *os);
/* 1 when some event id or alarm waits to be written. */
int		 objects_dirty(const struct objects *os);
/* Writes changed event ids and alarms in one transaction. */
int		 objects_flush(struct objects *os, MDB_txn *txn);

const char	*object_name(const struct object *o);
/* Head of the object's open connection list (owned by the registry). */
struct conn	**object_conn_head(struct object *o);
int		 object_conn_count(const struct object *o);
void		 object_conn_count_add(struct object *o, int delta);

/* Creates an event (zeroed, type set) holding a reference to c. */
struct event	*event_new(enum event_type type, struct conn *c);
void		 event_free(struct event *ev);
/* Appends ev; returns the queue length afterwards. */
size_t		 object_push(struct object *o, struct event *ev);
/* Puts ev back at the front (it could not be sent). */
void		 object_requeue(struct object *o, struct event *ev);
/* The first event, left in the queue, or NULL. */
struct event	*object_peek(struct object *o);
/* Removes and returns the first event, or NULL. */
struct event	*object_pop(struct object *o);
size_t		 object_queue_len(const struct object *o);
void		 object_set_in_flight(struct object *o, int on);
/* Increments and returns the event id (persisted at the next flush). */
uint64_t	 object_next_event_id(struct object *o);

/* The object's alarm: ms since epoch, or -1. */
int64_t		 object_alarm(const struct object *o);
/* Sets (at_ms >= 0) or clears (-1) the alarm; persisted at the next flush. */
void		 object_set_alarm(struct object *o, int64_t at_ms);
int		 object_alarm_retry(const struct object *o);
void		 object_set_alarm_retry(struct object *o, int n);
/* Set while an alarm event is queued or in flight (one at a time). */
int		 object_alarm_pending(const struct object *o);
void		 object_set_alarm_pending(struct object *o, int on);

/* Set while reading from the object's sockets is paused (queue full). */
int		 object_paused(const struct object *o);
void		 object_set_paused(struct object *o, int on);
/*
 * Counts a pause of the object at now_ms. Returns how many pauses a log
 * line should report, at most one line a second per object (a flood
 * pauses and resumes reading thousands of times a second), else 0.
 */
unsigned int	 object_pause_note(struct object *o, int64_t now_ms);

/* Ready list: objects with a queued event and none in flight. */
void		 objects_mark_ready(struct objects *os, struct object *o);
struct object	*objects_next_ready(struct objects *os);
/* Pins keep an object alive while something outside it points at it. */
void		 object_pin(struct object *o);
void		 object_unpin(struct object *o);
/* Frees objects with no connection, no event, no alarm. */
void		 objects_collect(struct objects *os);

#endif
