/*
 * object: per-object FIFO, event ids and alarm state. Objects live in a
 * uthash table by name; those with work waiting and nothing in flight sit
 * on a ready list the pool drains, so dispatch never scans every object.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "log.h"
#include "object.h"
#include "registry.h"
#include "xmalloc.h"

struct object {
	struct objects	*os;
	char		*name;
	struct conn	*conns;
	int		 nconns;
	struct event	*head;
	struct event	*tail;
	size_t		 qlen;
	int		 in_flight;
	int		 in_ready;
	uint64_t	 event_id;
	int		 event_id_dirty;
	int64_t		 alarm_ms;
	int		 alarm_dirty;
	int		 alarm_retry;
	int		 alarm_pending;
	int		 paused;
	unsigned int	 pauses;	/* since the last pause logged */
	int64_t		 pause_logged_ms;
	int		 pins;
	struct object	*ready_next;
	struct object	*dirty_next;
	int		 in_dirty;
	UT_hash_handle	 hh;
};

struct objects {
	MDB_env				*env;
	const struct store_gateway_dbs	*dbs;
	struct object			*table;
	struct object			*ready_head;
	struct object			*ready_tail;
	struct object			*dirty;
	size_t				 queued;
};

struct objects *
objects_create(MDB_env *env, const struct store_gateway_dbs *dbs)
{
	struct objects	*os = xcalloc(1, sizeof *os);

	os->env = env;
	os->dbs = dbs;
	return os;
}

static void
object_free(struct object *o)
{
	struct event	*ev, *next;

	for (ev = o->head; ev != NULL; ev = next) {
		next = ev->next;
		event_free(ev);
	}
	free(o->name);
	free(o);
}

void
objects_free(struct objects *os)
{
	struct object	*o, *tmp;

	if (os == NULL)
		return;
	HASH_ITER(hh, os->table, o, tmp) {
		HASH_DEL(os->table, o);
		object_free(o);
	}
	free(os);
}

struct object *
objects_find(struct objects *os, const char *name)
{
	struct object	*o;

	HASH_FIND_STR(os->table, name, o);
	return o;
}

/* Reads the persisted event id and alarm: both survive restarts. */
static void
object_load(struct objects *os, struct object *o)
{
	MDB_txn	*txn = NULL;
	int	 rc;

	if (os->env == NULL)
		return;
	rc = mdb_txn_begin(os->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		log_error("cannot read object %s: %s", o->name,
		    mdb_strerror(rc));
		return;
	}
	rc = store_event_id_get(txn, os->dbs, o->name, &o->event_id);
	if (rc != 0 && rc != MDB_NOTFOUND)
		log_error("event id of %s: %s", o->name,
		    store_strerror(rc));
	rc = store_alarm_get(txn, os->dbs, o->name, &o->alarm_ms);
	if (rc != 0)
		o->alarm_ms = -1;
	mdb_txn_abort(txn);
}

struct object *
objects_get(struct objects *os, const char *name)
{
	struct object	*o;

	o = objects_find(os, name);
	if (o != NULL)
		return o;
	o = xcalloc(1, sizeof *o);
	o->os = os;
	o->name = xstrdup(name);
	o->alarm_ms = -1;
	object_load(os, o);
	HASH_ADD_KEYPTR(hh, os->table, o->name, strlen(o->name), o);
	return o;
}

size_t
objects_count(const struct objects *os)
{
	return HASH_COUNT(os->table);
}

size_t
objects_queued(const struct objects *os)
{
	return os->queued;
}

static void
objects_mark_dirty(struct objects *os, struct object *o)
{
	if (o->in_dirty)
		return;
	o->in_dirty = 1;
	o->dirty_next = os->dirty;
	os->dirty = o;
}

int
objects_dirty(const struct objects *os)
{
	return os->dirty != NULL;
}

int
objects_flush(struct objects *os, MDB_txn *txn)
{
	struct object	*o;
	int		 rc = 0;

	while ((o = os->dirty) != NULL) {
		os->dirty = o->dirty_next;
		o->in_dirty = 0;
		if (o->event_id_dirty) {
			rc = store_event_id_put(txn, os->dbs, o->name,
			    o->event_id);
			if (rc != 0)
				goto out;
			o->event_id_dirty = 0;
		}
		if (o->alarm_dirty) {
			if (o->alarm_ms >= 0)
				rc = store_alarm_put(txn, os->dbs, o->name,
				    o->alarm_ms);
			else
				rc = store_alarm_del(txn, os->dbs, o->name);
			if (rc != 0)
				goto out;
			o->alarm_dirty = 0;
		}
	}
out:
	return rc;
}

const char *
object_name(const struct object *o)
{
	return o->name;
}

struct conn **
object_conn_head(struct object *o)
{
	return &o->conns;
}

int
object_conn_count(const struct object *o)
{
	return o->nconns;
}

void
object_conn_count_add(struct object *o, int delta)
{
	o->nconns += delta;
}

struct event *
event_new(enum event_type type, struct conn *c)
{
	struct event	*ev = xcalloc(1, sizeof *ev);

	ev->type = type;
	ev->conn = c;
	if (c != NULL)
		conn_ref(c);
	return ev;
}

void
event_free(struct event *ev)
{
	if (ev == NULL)
		return;
	if (ev->conn != NULL)
		conn_unref(ev->conn);
	free(ev->payload);
	free(ev->text);
	free(ev);
}

size_t
object_push(struct object *o, struct event *ev)
{
	ev->obj = o;
	ev->next = NULL;
	o->os->queued++;
	if (o->tail != NULL)
		o->tail->next = ev;
	else
		o->head = ev;
	o->tail = ev;
	return ++o->qlen;
}

void
object_requeue(struct object *o, struct event *ev)
{
	ev->obj = o;
	o->os->queued++;
	ev->next = o->head;
	o->head = ev;
	if (o->tail == NULL)
		o->tail = ev;
	o->qlen++;
}

struct event *
object_peek(struct object *o)
{
	return o->head;
}

struct event *
object_pop(struct object *o)
{
	struct event	*ev = o->head;

	if (ev == NULL)
		return NULL;
	o->head = ev->next;
	if (o->head == NULL)
		o->tail = NULL;
	o->qlen--;
	o->os->queued--;
	ev->next = NULL;
	return ev;
}

size_t
object_queue_len(const struct object *o)
{
	return o->qlen;
}

void
object_set_in_flight(struct object *o, int on)
{
	o->in_flight = on;
}

uint64_t
object_next_event_id(struct object *o)
{
	o->event_id++;
	o->event_id_dirty = 1;
	objects_mark_dirty(o->os, o);
	return o->event_id;
}

int64_t
object_alarm(const struct object *o)
{
	return o->alarm_ms;
}

void
object_set_alarm(struct object *o, int64_t at_ms)
{
	o->alarm_ms = at_ms < 0 ? -1 : at_ms;
	o->alarm_dirty = 1;
	objects_mark_dirty(o->os, o);
}

int
object_alarm_retry(const struct object *o)
{
	return o->alarm_retry;
}

void
object_set_alarm_retry(struct object *o, int n)
{
	o->alarm_retry = n;
}

int
object_alarm_pending(const struct object *o)
{
	return o->alarm_pending;
}

void
object_set_alarm_pending(struct object *o, int on)
{
	o->alarm_pending = on;
}

int
object_paused(const struct object *o)
{
	return o->paused;
}

void
object_set_paused(struct object *o, int on)
{
	o->paused = on;
}

unsigned int
object_pause_note(struct object *o, int64_t now_ms)
{
	unsigned int	n = ++o->pauses;

	if (o->pause_logged_ms != 0 && now_ms - o->pause_logged_ms < 1000)
		return 0;
	o->pause_logged_ms = now_ms;
	o->pauses = 0;
	return n;
}

void
object_pin(struct object *o)
{
	o->pins++;
}

void
object_unpin(struct object *o)
{
	o->pins--;
}

void
objects_mark_ready(struct objects *os, struct object *o)
{
	if (o->in_ready || o->in_flight || o->head == NULL)
		return;
	o->in_ready = 1;
	o->ready_next = NULL;
	if (os->ready_tail != NULL)
		os->ready_tail->ready_next = o;
	else
		os->ready_head = o;
	os->ready_tail = o;
}

struct object *
objects_next_ready(struct objects *os)
{
	struct object	*o = os->ready_head;

	if (o == NULL)
		return NULL;
	os->ready_head = o->ready_next;
	if (os->ready_head == NULL)
		os->ready_tail = NULL;
	o->in_ready = 0;
	o->ready_next = NULL;
	return o;
}

void
objects_collect(struct objects *os)
{
	struct object	*o, *tmp;

	HASH_ITER(hh, os->table, o, tmp) {
		if (o->nconns > 0 || o->head != NULL || o->in_flight ||
		    o->pins > 0 ||
		    o->in_ready || o->in_dirty || o->alarm_ms >= 0 ||
		    o->conns != NULL)
			continue;
		HASH_DEL(os->table, o);
		object_free(o);
	}
}
