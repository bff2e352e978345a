/*
 * gateway: owns every module and moves events between them. Sockets and
 * alarms produce events; each goes on its object's FIFO; objects with a
 * queued event and none in flight wait on the ready list until the pool
 * can take a request; the response is parsed and applied (frames, closes,
 * attachment and tag changes, alarm) before the object's next event is
 * sent, so a handler always sees the effects of the previous event.
 */
#include <config.h>	/* autoconf's, found first on the include path */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "alarm.h"
#include "config.h"
#include "deliver.h"
#include "control.h"
#include "fcgi.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "object.h"
#include "pool.h"
#include "registry.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "server.h"
#include "wsconn.h"
#include "store.h"
#include "syncer.h"
#include "xmalloc.h"

#define TICK_MS		100
#define READER_CHECK_MS	5000
#define COLLECT_MS	10000
/* The most events the gateway puts in one request, whatever is offered. */
#define GATEWAY_BATCH_MAX	64

struct gateway {
	const struct config	*cfg;
	struct router		*router;
	struct server		*server;
	struct registry		*registry;
	struct objects		*objects;
	struct pool		*pool;
	struct alarm		*alarm;
	MDB_env			*genv;
	struct store_gateway_dbs dbs;
	char			*state_dir;
	char			*gateway_dir;
	struct response_limits	 limits;
	MDB_env			*senv;	/* group durability: the state env */
	struct syncer		*syncer;
	struct deliver		*deliver;
	struct metrics		*metrics;
	int64_t			 started_ms;
	int			 batch_max;	/* events per request */
	struct buf		 body;	/* reused per batch request */
	struct buf		 nv;	/* reused per request */
	struct buf		 req;	/* reused per request */
	lws_sorted_usec_list_t	 tick;
	int			 sigfd;
	int			 stop;
	int			 stopping;	/* tearing down: no more events */
	size_t			 handshakes;	/* requests still arriving */
	int			 dispatching;	/* inside gateway_dispatch */
	int			 pidfile;	/* ours to remove */
	unsigned long		 reloads;	/* reload verdicts written */
	int64_t			 next_reader_check;
	int64_t			 next_collect;
};

static void	gateway_dispatch(struct gateway *gw);
static void	gateway_done(void *, const struct pool_result *, void *);
static void	gateway_reload(struct gateway *gw);

int
gateway_can_accept(struct gateway *gw, const char *remote)
{
	if (registry_count(gw->registry) >= (size_t)gw->cfg->max_connections)
		return -1;
	if (registry_count_remote(gw->registry, remote) >=
	    (size_t)gw->cfg->max_per_ip)
		return -2;
	return 0;
}

int
gateway_handshake_begin(struct gateway *gw, const char *peer)
{
	if (gw->handshakes >= (size_t)gw->cfg->max_handshakes)
		return -1;
	if (peer != NULL && registry_count_remote(gw->registry, peer) >=
	    (size_t)gw->cfg->max_per_ip)
		return -2;
	gw->handshakes++;
	if (peer != NULL)
		registry_hold_remote(gw->registry, peer, 1);
	return 0;
}

void
gateway_handshake_end(struct gateway *gw, const char *peer)
{
	gw->handshakes--;
	if (peer != NULL)
		registry_hold_remote(gw->registry, peer, -1);
}

/* Pauses reading from an object's sockets while its queue is full. */
static void
gateway_flow(struct gateway *gw, struct object *o)
{
	size_t		 qlen = object_queue_len(o);
	size_t		 max = gw->cfg->object_queue_max;
	struct conn	*c;
	unsigned int	 n;
	int		 pause;

	if (!object_paused(o) && qlen >= max)
		pause = 1;
	else if (object_paused(o) && qlen <= max / 2)
		pause = 0;
	else
		return;
	object_set_paused(o, pause);
	metrics_flow(gw->metrics, pause);
	if (pause && (n = object_pause_note(o, alarm_now_ms())) > 0)
		log_info("object %s queue=%zu: reading paused (%u time%s since "
		    "the last such line; at most one a second)", object_name(o),
		    qlen, n, n == 1 ? "" : "s");
	else
		log_debug("object %s queue=%zu: reading %s", object_name(o),
		    qlen, pause ? "paused" : "resumed");
	for (c = conn_first_of(o); c != NULL; c = conn_next_of(c))
		wsconn_pause(c, pause);
}

static void
gateway_enqueue(struct gateway *gw, struct object *o, struct event *ev)
{
	object_push(o, ev);
	gateway_flow(gw, o);
	objects_mark_ready(gw->objects, o);
	gateway_dispatch(gw);
}

struct conn *
gateway_conn_open(struct gateway *gw, void *server_data, const char *object,
    const char *remote, const char *uri, struct buf *headers)
{
	struct object	*o = objects_get(gw->objects, object);
	struct conn	*c;
	struct event	*ev;

	c = registry_add(gw->registry, o, remote, alarm_now_ms());
	conn_set_uri(c, uri);
	/* before the event goes anywhere: a failure may close c at once */
	conn_set_server_data(c, server_data);
	if (object_paused(o))
		wsconn_pause(c, 1);
	ev = event_new(EVENT_CONNECT, c);
	/* the connect event carries the upgrade headers, already encoded */
	ev->len = buf_size(headers);
	ev->payload = xmemdup(buf_head(headers), ev->len);
	log_debug("connection %s object=%s remote=%s",
	    conn_id(c), object, remote);
	gateway_enqueue(gw, o, ev);
	return c;
}

void
gateway_conn_message(struct gateway *gw, struct conn *c, uint8_t *payload,
    size_t len, int binary)
{
	struct event	*ev = event_new(EVENT_MESSAGE, c);

	ev->payload = payload;
	ev->len = len;
	ev->binary = binary;
	gateway_enqueue(gw, conn_object(c), ev);
}

void
gateway_conn_error(struct gateway *gw, struct conn *c,
    enum metrics_error kind, const char *what)
{
	struct event	*ev;

	if (gw->stopping)
		return;		/* sockets closing at teardown: nothing to tell */
	ev = event_new(EVENT_ERROR, c);
	metrics_error(gw->metrics, kind);
	ev->text = xstrdup(what);
	gateway_enqueue(gw, conn_object(c), ev);
}

void
gateway_conn_closed(struct gateway *gw, struct conn *c, int code,
    const char *reason, int clean)
{
	struct object	*o = conn_object(c);
	struct event	*ev;

	log_debug("connection %s closed code=%d clean=%d",
	    conn_id(c), code, clean);
	metrics_close(gw->metrics, code);
	if (gw->stopping) {
		/* the record stays: the next start replays this close */
		conn_detach(c);
		return;
	}
	if (!conn_refused(c)) {
		ev = event_new(EVENT_CLOSE, c);
		ev->close_code = code;
		ev->close_clean = clean;
		ev->text = xstrdup(reason != NULL ? reason : "");
		conn_detach(c);
		gateway_enqueue(gw, o, ev);
	} else
		conn_detach(c);
}

static void
gateway_alarm_due(const char *object, void *arg)
{
	struct gateway	*gw = arg;
	struct object	*o = objects_get(gw->objects, object);
	struct event	*ev;

	if (object_alarm(o) < 0 || object_alarm_pending(o))
		return;
	log_info("alarm fired object=%s retry=%d", object,
	    object_alarm_retry(o));
	metrics_alarm(gw->metrics, METRICS_ALARM_FIRED);
	ev = event_new(EVENT_ALARM, NULL);
	ev->alarm_ms = object_alarm(o);
	object_set_alarm_pending(o, 1);
	gateway_enqueue(gw, o, ev);
}


int
gateway_admin_page(struct gateway *gw, const char *path, struct buf *out,
    const char **content_type)
{
	struct metrics_gauges	g;

	memset(&g, 0, sizeof g);
	g.sockets = registry_count(gw->registry);
	g.handshakes = gw->handshakes;
	g.objects = objects_count(gw->objects);
	g.queued_events = objects_queued(gw->objects);
	g.in_flight = pool_busy(gw->pool);
	g.generation = pool_generation(gw->pool);
	g.processes = pool_count(gw->pool);
	g.draining = pool_draining(gw->pool);
	g.durability = store_durability_name(gw->cfg->durability);
	g.uptime_ms = alarm_now_ms() - gw->started_ms;
	if (strcmp(path, "/metrics") == 0) {
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		metrics_prometheus(gw->metrics, &g, out);
		return 0;
	}
	if (strcmp(path, "/status") == 0) {
		*content_type = "application/json";
		metrics_status(gw->metrics, &g, out);
		return 0;
	}
	return -ENOENT;
}

void
gateway_wake(struct gateway *gw)
{
	if (gw->alarm != NULL)
		alarm_drain(gw->alarm, gateway_alarm_due, gw);
	deliver_release(gw->deliver);
}

static const char *const event_names[] = {
	"connect", "message", "close", "error", "alarm",
};

/* Writes registry and object changes before a handler can look at them. */
static void
gateway_flush(struct gateway *gw)
{
	MDB_txn	*txn = NULL;
	int	 rc;

	registry_flush(gw->registry);
	if (!objects_dirty(gw->objects))
		return;
	rc = mdb_txn_begin(gw->genv, NULL, 0, &txn);
	if (rc == 0) {
		rc = objects_flush(gw->objects, txn);
		if (rc == 0)
			rc = STORE_ERR(mdb_txn_commit(txn));
		else
			mdb_txn_abort(txn);
	} else
		rc = STORE_ERR(rc);
	if (rc != 0)
		log_error("gateway env write failed: %s",
		    store_strerror(rc));
}

/*
 * Takes the events to send for o: the first queued one and, when the
 * handler accepts batches, those queued behind it, up to the batch size
 * and stopping before a connect (which always goes alone). Returns k.
 */
static size_t
gateway_take(struct gateway *gw, struct object *o, struct event **first)
{
	struct event	*ev, *last;
	size_t		 k = 1;

	*first = last = object_pop(o);
	if (last == NULL)
		return 0;
	last->batch_next = NULL;
	while (last->type != EVENT_CONNECT && k < (size_t)gw->batch_max &&
	    object_queue_len(o) > 0 && object_peek(o)->type != EVENT_CONNECT) {
		ev = object_pop(o);
		ev->batch_next = NULL;
		last->batch_next = ev;
		last = ev;
		k++;
	}
	return k;
}

/* Puts a batch that could not be sent back at the front of its queue. */
static void
gateway_untake(struct object *o, struct event *first)
{
	struct event	*ev, *rev = NULL, *next;

	for (ev = first; ev != NULL; ev = next) {	/* reverse the chain */
		next = ev->batch_next;
		ev->batch_next = rev;
		rev = ev;
	}
	for (ev = rev; ev != NULL; ev = next) {
		next = ev->batch_next;
		ev->batch_next = NULL;
		ev->next = NULL;
		object_requeue(o, ev);
	}
}

static void
gateway_dispatch(struct gateway *gw)
{
	struct request_env	 env;
	struct object		*o;
	struct event		*first, *ev;
	size_t			 k;
	int			 flushed = 0, rc;

	/* a request failed at once calls back into here: the loop below
	 * picks up what that makes ready, without recursing */
	if (gw->dispatching)
		return;
	gw->dispatching = 1;
	env.state_dir = gw->state_dir;
	env.gateway_dir = gw->gateway_dir;
	env.durability = store_durability_name(gw->cfg->durability);
	env.params = gw->cfg->handler_params;
	env.nparams = gw->cfg->nhandler_params;
	while (pool_can_take(gw->pool) &&
	    (o = objects_next_ready(gw->objects)) != NULL) {
		if ((k = gateway_take(gw, o, &first)) == 0)
			continue;
		gateway_flow(gw, o);
		request_encode(&env, o, first, k, &gw->nv, &gw->body,
		    &gw->req);
		if (!flushed) {
			gateway_flush(gw);
			flushed = 1;
		}
		object_set_in_flight(o, 1);
		first->sent_us = lws_now_usecs();
		for (ev = first; ev != NULL; ev = ev->batch_next)
			metrics_event(gw->metrics, (int)ev->type);
		metrics_batch(gw->metrics, k);
		rc = pool_submit(gw->pool, &gw->req, first);
		if (rc == -ECONNREFUSED) {
			/* external server down: fail these events now (1011)
			 * rather than hold every socket of the object */
			static const struct pool_result down = {
				0, "the FastCGI server cannot be reached", NULL, 0 };

			gateway_done(first, &down, gw);
			continue;
		}
		if (rc != 0) {
			metrics_error(gw->metrics, METRICS_ERR_SPAWN);
			/* could not start a handler: put it back, try on a tick */
			object_set_in_flight(o, 0);
			gateway_untake(o, first);
			objects_mark_ready(gw->objects, o);
			break;
		}
	}
	gw->dispatching = 0;
}

static void
gateway_close_failed(struct gateway *gw, struct event *ev, const char *cause)
{
	struct object	*o = ev->obj;

	log_warn("object=%s event=%s connection=%s: %s",
	    object_name(o), event_names[ev->type],
	    ev->conn != NULL ? conn_id(ev->conn) : "-", cause);
	if (ev->conn != NULL && ev->type != EVENT_CLOSE &&
	    conn_is_open(ev->conn))
		deliver_output(gw->deliver, ev->conn, ev->obj, NULL);
}

/* A failed alarm run is retried with exponential backoff and jitter. */
static void
gateway_alarm_failed(struct gateway *gw, struct event *ev)
{
	struct object	*o = ev->obj;
	int		 retry = object_alarm_retry(o) + 1;
	int64_t		 delay, at;

	if (object_alarm(o) != ev->alarm_ms)
		return;	/* something set a new alarm meanwhile: it wins */
	if (retry > gw->cfg->alarm_retries) {
		log_error("alarm of object %s failed %d times, giving up",
		    object_name(o), retry);
		metrics_alarm(gw->metrics, METRICS_ALARM_FAILED);
		object_set_alarm_retry(o, 0);
		object_set_alarm(o, -1);
		alarm_set(gw->alarm, object_name(o), -1);
		return;
	}
	delay = 2000LL << (retry - 1 > 20 ? 20 : retry - 1);
	delay += (int64_t)(random() % (delay / 4 + 1));
	at = alarm_now_ms() + delay;
	log_warn("alarm of object %s failed; retry %d in %lld ms",
	    object_name(o), retry, (long long)delay);
	metrics_alarm(gw->metrics, METRICS_ALARM_RETRIED);
	object_set_alarm_retry(o, retry);
	object_set_alarm(o, at);
	alarm_set(gw->alarm, object_name(o), at);
}

static void
gateway_refuse(struct gateway *gw, struct event *ev, const struct response *r)
{
	char	reason[124];
	size_t	i, n;

	if (ev->conn == NULL || !conn_is_open(ev->conn))
		return;
	for (i = 0; i < r->nactions; i++)
		if (r->actions[i].type == ACTION_SEND &&
		    r->actions[i].target == TARGET_SENDER)
			wsconn_send(ev->conn, r->actions[i].data,
			    r->actions[i].len, r->actions[i].binary);
	conn_set_refused(ev->conn);
	/* the Status reason phrase, cut to what a close frame holds */
	n = strlen(response_reason(r));
	if (n == 0)
		snprintf(reason, sizeof reason, "refused (%d)", r->status);
	else {
		if (n > 123)
			n = 123;
		while (n > 0 && ((uint8_t)response_reason(r)[n] & 0xc0) == 0x80)
			n--;
		memcpy(reason, response_reason(r), n);
		reason[n] = '\0';
	}
	log_info("connection %s refused by the handler status=%d",
	    conn_id(ev->conn), r->status);
	wsconn_close(ev->conn, 4000 + r->status, reason);
}

/* The pool's completion callback: each submitted event comes back once. */
/*
 * Applies the outcome of one event: r is its answer (taken over), or NULL
 * when it failed for cause.
 */
static int
gateway_finish(struct gateway *gw, struct event *ev, struct response *r,
    const char *cause)
{
	struct object	*o = ev->obj;
	int		 ok = 0, touched = 0;

	if (r != NULL && r->status >= 200 && r->status < 300)
		ok = 1;
	else if (r != NULL && ev->type == EVENT_CONNECT &&
	    r->status >= 400 && r->status < 500) {
		metrics_error(gw->metrics, METRICS_ERR_REFUSED);
		gateway_refuse(gw, ev, r);
		ok = 2;
	} else if (r != NULL) {
		metrics_error(gw->metrics, METRICS_ERR_HANDLER_STATUS);
		cause = "handler answered with a non-2xx status";
		/* the body of an error answer usually says why: log it */
		if (r->nactions > 0 && r->actions[0].type == ACTION_SEND &&
		    !r->actions[0].binary)
			log_warn("object=%s: handler status %d: %.*s",
			    object_name(o), r->status,
			    (int)(r->actions[0].len > 300 ? 300 :
			    r->actions[0].len), r->actions[0].data);
	}
	if (ok == 1 && ev->type == EVENT_CONNECT && ev->conn != NULL)
		conn_set_accepted(ev->conn);	/* a member of the object now */
	if (ok == 1) {
		touched = deliver_answer(gw->deliver, ev->conn, o, r);
		r = NULL;
	} else if (ok == 0)
		gateway_close_failed(gw, ev, cause != NULL ? cause :
		    "bad response");
	if (ev->type == EVENT_ALARM) {
		object_set_alarm_pending(o, 0);
		if (ok == 0)
			gateway_alarm_failed(gw, ev);
		else if (!touched && object_alarm(o) == ev->alarm_ms) {
			object_set_alarm_retry(o, 0);
			object_set_alarm(o, -1);
			alarm_set(gw->alarm, object_name(o), -1);
		}
	}
	response_free(r);
	return touched;
}

/* The pool's completion callback: each submitted request comes back once. */
static void
gateway_done(void *req_arg, const struct pool_result *res, void *arg)
{
	struct gateway	*gw = arg;
	struct event	*first = req_arg, *ev, *next;
	struct object	*o = first->obj;
	struct response	*r = NULL, *entries[GATEWAY_BATCH_MAX];
	const char	*cause = res->cause;
	size_t		 k = 0, i;
	int		 rc = -1, alarms = 0;

	for (ev = first; ev != NULL; ev = ev->batch_next)
		k++;
	if (res->ok) {
		metrics_latency(gw->metrics, lws_now_usecs() - first->sent_us);
		rc = response_parse((const char *)res->body, res->len,
		    alarm_now_ms(), &gw->limits, &r, &cause);
		if (rc != 0)
			metrics_error(gw->metrics, METRICS_ERR_BAD_RESPONSE);
		else if (r->batch >= 0)
			gw->batch_max = r->batch < 1 ? 1 : r->batch >
			    GATEWAY_BATCH_MAX ? GATEWAY_BATCH_MAX : r->batch;
	} else
		metrics_error(gw->metrics, strstr(res->cause, "timeout") != NULL ?
		    METRICS_ERR_HANDLER_TIMEOUT : METRICS_ERR_HANDLER_FAILED);
	if (k == 1 && (rc != 0 || !response_is_batch(r)))
		alarms = gateway_finish(gw, first, rc == 0 ? r : NULL, cause);
	else {
		/* a batch, or one event answered in the batch form anyway */
		if (rc == 0 && r->status >= 200 && r->status < 300)
			rc = response_batch(r, k, alarm_now_ms(), &gw->limits,
			    entries, &cause);
		else if (rc == 0) {
			rc = -1;
			cause = "handler answered a batch with a non-2xx status";
		}
		if (rc != 0)
			metrics_error(gw->metrics, METRICS_ERR_BAD_RESPONSE);
		for (ev = first, i = 0; ev != NULL; ev = ev->batch_next, i++)
			alarms |= gateway_finish(gw, ev, rc == 0 ?
			    entries[i] : NULL, cause);
		response_free(r);
	}
	for (ev = first; ev != NULL; ev = next) {
		next = ev->batch_next;
		event_free(ev);
	}
	/*
	 * An alarm set by this answer reaches the gateway env before the loop
	 * writes any of its frames: a reply never announces an alarm that a
	 * crash right after it would lose. (Other changes are written before
	 * the next request, off the reply's path.)
	 */
	if (alarms)
		gateway_flush(gw);
	object_set_in_flight(o, 0);
	objects_mark_ready(gw->objects, o);
	gateway_dispatch(gw);
}

/* The pool's verdict on a reload, for the log and for --reload. */
static void
gateway_reload_done(int ok, unsigned int gen, const char *cause, void *arg)
{
	struct gateway	*gw = arg;
	char		 msg[256];

	if (ok)
		snprintf(msg, sizeof msg, "generation %u serving, %d processes",
		    gen, pool_count(gw->pool));
	else
		snprintf(msg, sizeof msg, "generation %u failed: %s; the old "
		    "generation keeps serving", gen, cause);
	if (control_status_write(gw->cfg->run_dir, ++gw->reloads, ok, gen,
	    msg) != 0)
		log_error("cannot write the reload status in %s",
		    gw->cfg->run_dir);
	/* waiting events may go to the new generation now, one at a time
	 * until it says it takes batches */
	if (ok) {
		gw->batch_max = 1;
		gateway_dispatch(gw);
	}
}

static void
gateway_reload(struct gateway *gw)
{
	int	rc;

	log_info("reload requested (SIGHUP): handler %s",
	    gw->cfg->handler_argv != NULL ? gw->cfg->handler_argv[0] :
	    gw->cfg->handler_addr);
	rc = pool_reload(gw->pool);
	if (rc == -EBUSY) {
		log_warn("reload: another reload is in progress");
		control_status_write(gw->cfg->run_dir, ++gw->reloads, 0, 0,
		    "another reload is in progress");
	} else if (rc != 0)
		gateway_reload_done(0, 0, strerror(-rc), gw);
}

static void
gateway_signals(struct gateway *gw)
{
	struct signalfd_siginfo	si;

	while (read(gw->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGHUP:
			gateway_reload(gw);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %d: stopping",
			    (int)si.ssi_signo);
			gw->stop = 1;
			break;
		default:
			break;	/* SIGCHLD: pool_tick reaps */
		}
	}
}

/* Runs every TICK_MS on the loop: signals, pool upkeep, env writes. */
static void
gateway_tick(lws_sorted_usec_list_t *sul)
{
	struct gateway	*gw = lws_container_of(sul, struct gateway, tick);
	int64_t		 now = alarm_now_ms();
	int		 dead;

	gateway_signals(gw);
	pool_tick(gw->pool, now);
	gateway_flush(gw);
	if (now >= gw->next_reader_check) {
		/* a killed handler keeps its reader slot until checked */
		mdb_reader_check(gw->genv, &dead);
		gw->next_reader_check = now + READER_CHECK_MS;
	}
	if (now >= gw->next_collect) {
		objects_collect(gw->objects);
		gw->next_collect = now + COLLECT_MS;
	}
	gateway_dispatch(gw);
	if (gw->stop)
		server_stop(gw->server);
	else
		lws_sul_schedule(server_context(gw->server), 0, &gw->tick,
		    gateway_tick, TICK_MS * LWS_US_PER_MS);
}

/* Connections open when an earlier gateway died get their close event now. */
static void
gateway_replay_one(const char *object, const char *id, const char *json,
    size_t len, void *arg)
{
	struct gateway	*gw = arg;
	struct object	*o = objects_get(gw->objects, object);
	struct conn	*c;
	struct event	*ev;

	c = registry_add(gw->registry, o, "", alarm_now_ms());
	registry_adopt_record(c, id, json, len);
	ev = event_new(EVENT_CLOSE, c);
	ev->close_code = 1006;
	ev->close_clean = 0;
	ev->text = xstrdup("gateway restarted");
	conn_detach(c);
	object_push(o, ev);
	objects_mark_ready(gw->objects, o);
	log_info("close replay object=%s connection=%s",
	    object, id);
}

static int
gateway_load_alarm(const char *object, int64_t at_ms, void *arg)
{
	struct gateway	*gw = arg;

	alarm_set(gw->alarm, object, at_ms);
	return 0;
}

static int
gateway_open_store(struct gateway *gw, const char **cause)
{
	const struct config	*cfg = gw->cfg;
	MDB_env			*senv = NULL;
	MDB_dbi			 sdbi;
	int			 rc, dead;

	xasprintf(&gw->state_dir, "%s/%s", cfg->store_dir, STORE_STATE_SUBDIR);
	xasprintf(&gw->gateway_dir, "%s/%s", cfg->store_dir,
	    STORE_GATEWAY_SUBDIR);
	/* create the state env now, so a bad --store fails here, clearly */
	rc = store_state_open(cfg->store_dir, cfg->durability, &senv, &sdbi);
	if (rc != 0) {
		log_error("cannot open the state store in %s: %s",
		    gw->state_dir, store_strerror(rc));
		*cause = "store";
		return rc;
	}
	mdb_reader_check(senv, &dead);
	if (cfg->durability == STORE_DURABILITY_GROUP)
		gw->senv = senv;	/* the sync thread's */
	else
		mdb_env_close(senv);
	rc = store_gateway_open(cfg->store_dir, 0, &gw->genv, &gw->dbs);
	if (rc != 0) {
		log_error("cannot open the gateway store in %s: %s",
		    gw->gateway_dir, store_strerror(rc));
		*cause = "store";
		return rc;
	}
	mdb_reader_check(gw->genv, &dead);
	return 0;
}

static int
gateway_mkdir(const char *dir, mode_t mode)
{
	char	*copy = xstrdup(dir), *p;
	int	 rc = 0;

	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		rc = -errno;
	else if (chmod(copy, mode) < 0)
		rc = -errno;
out:
	free(copy);
	return rc;
}

/*
 * --user: who handlers run as. The store is handed to that user (the
 * handlers write the state env and register as readers of the gateway
 * env); the run dir stays root's, 0700: a handler gets its socket as fd 0
 * and never needs the path.
 */
static int
gateway_user(struct gateway *gw, uid_t *uid, gid_t *gid)
{
	static const char *const files[] = { "", "/data.mdb", "/lock.mdb" };
	const char	*dirs[2] = { gw->state_dir, gw->gateway_dir };
	struct passwd	*pw;
	char		*path;
	size_t		 i, j;

	if (geteuid() != 0) {
		log_error("--user %s needs the gateway to start as root",
		    gw->cfg->user);
		return -EPERM;
	}
	if ((pw = getpwnam(gw->cfg->user)) == NULL) {
		log_error("--user %s: no such user", gw->cfg->user);
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (chown(gw->cfg->store_dir, *uid, *gid) < 0)
		goto fail;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++) {
			xasprintf(&path, "%s%s", dirs[i], files[j]);
			if (chown(path, *uid, *gid) < 0 && errno != ENOENT) {
				free(path);
				goto fail;
			}
			free(path);
		}
	log_info("handlers run as user %s (uid %ld, gid %ld)", gw->cfg->user,
	    (long)*uid, (long)*gid);
	return 0;
fail:
	log_error("--user %s: cannot hand the store %s over: %s",
	    gw->cfg->user, gw->cfg->store_dir, strerror(errno));
	return -errno;
}

static int
gateway_setup(struct gateway *gw)
{
	const struct config	*cfg = gw->cfg;
	struct pool_config	 pc;
	const char		*cause = NULL;
	MDB_txn			*txn = NULL;
	sigset_t		 mask;
	pid_t			 other;
	size_t			 i;
	int			 rc;

	gw->sigfd = -1;
	gw->router = router_create(cfg->max_name);
	for (i = 0; i < cfg->nroutes; i++)
		if (router_add(gw->router, cfg->routes[i]) != 0) {
			log_error("bad route '%s'", cfg->routes[i]);
			return -EINVAL;
		}
	if ((rc = gateway_mkdir(cfg->run_dir, 0700)) != 0) {
		log_error("cannot create run dir %s: %s",
		    cfg->run_dir, strerror(-rc));
		return rc;
	}
	rc = control_pidfile_create(cfg->run_dir, &other);
	if (rc == -EEXIST) {
		log_error("another gateway (pid %ld) uses run dir %s",
		    (long)other, cfg->run_dir);
		return rc;
	} else if (rc != 0) {
		log_error("cannot write the pid file in %s: %s", cfg->run_dir,
		    strerror(-rc));
		return rc;
	}
	gw->pidfile = 1;
	if ((rc = gateway_open_store(gw, &cause)) != 0)
		return rc;
	gw->limits.max_attachment = cfg->max_attachment;
	gw->limits.max_tags = cfg->max_tags;
	gw->limits.max_tag_len = cfg->max_tag_len;

	/* signals arrive on a descriptor read by the tick; threads inherit the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	gw->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (gw->sigfd < 0)
		return -errno;

	setenv("TORPOR_STORE", gw->state_dir, 1);
	setenv("TORPOR_GATEWAY_STORE", gw->gateway_dir, 1);
	setenv("TORPOR_DURABILITY", store_durability_name(cfg->durability), 1);

	gw->batch_max = 1;
	gw->metrics = metrics_create();
	gw->started_ms = alarm_now_ms();
	gw->registry = registry_create(gw->genv, &gw->dbs);
	gw->objects = objects_create(gw->genv, &gw->dbs);
	memset(&pc, 0, sizeof pc);
	pc.uid = (uid_t)-1;
	pc.gid = (gid_t)-1;
	if (cfg->user != NULL &&
	    (rc = gateway_user(gw, &pc.uid, &pc.gid)) != 0)
		return rc;
	pc.argv = cfg->handler_argv;
	pc.addr = cfg->handler_addr;
	pc.run_dir = cfg->run_dir;
	pc.min = cfg->handler_addr != NULL ? 0 : cfg->handlers_min;
	pc.max = cfg->handler_addr != NULL ? cfg->handler_conns :
	    cfg->handlers_max;
	pc.idle_timeout_ms = cfg->idle_timeout_ms;
	pc.event_timeout_ms = cfg->event_timeout_ms;
	pc.reload_timeout_ms = cfg->reload_timeout_ms;
	pc.max_response = cfg->max_response;
	pc.stderr_fails = cfg->stderr_fails;
	gw->pool = pool_create(&pc, gateway_done, gw);
	pool_set_reload_cb(gw->pool, gateway_reload_done, gw);

	gw->server = server_create(gw, cfg, gw->router, &cause);
	if (gw->server == NULL) {
		log_error("%s:%d: %s", cfg->listen_host,
		    cfg->listen_port, cause);
		return -EADDRINUSE;
	}
	pool_set_vhost(gw->pool, server_vhost(gw->server));
	if (gw->senv != NULL) {
		gw->syncer = syncer_start(server_context(gw->server), gw->senv,
		    &cause);
		if (gw->syncer == NULL) {
			log_error("%s", cause);
			return -EAGAIN;
		}
	}
	gw->alarm = alarm_start(server_context(gw->server), gw->genv, 1000,
	    &cause);
	if (gw->alarm == NULL) {
		log_error("%s", cause);
		return -EAGAIN;
	}
	gw->deliver = deliver_create(gw->registry, gw->alarm, gw->syncer);
	rc = mdb_txn_begin(gw->genv, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		rc = store_alarm_foreach(txn, &gw->dbs, gateway_load_alarm, gw);
		mdb_txn_abort(txn);
	}
	if (rc != 0)
		log_error("cannot load alarms: %s",
		    store_strerror(rc));
	rc = registry_replay(gw->registry, gateway_replay_one, gw);
	if (rc != 0)
		log_error("close replay failed: %s",
		    store_strerror(rc));
	if ((rc = pool_start(gw->pool)) != 0)
		return rc;
	return 0;
}

static void
gateway_teardown(struct gateway *gw)
{
	gw->stopping = 1;
	alarm_stop(gw->alarm);
	gw->alarm = NULL;
	syncer_stop(gw->syncer);
	gw->syncer = NULL;
	deliver_free(gw->deliver);	/* held output goes with the sockets */
	gw->deliver = NULL;
	if (gw->senv != NULL)
		mdb_env_close(gw->senv);
	pool_free(gw->pool);	/* before the context: it closes its sockets */
	gw->pool = NULL;
	/*
	 * Connection records stay: the sockets die with the context, and the
	 * next start delivers their close events (doc/PROTOCOL.md).
	 */
	if (gw->registry != NULL)
		gateway_flush(gw);
	if (gw->server != NULL)
		server_going_away(gw->server);
	server_free(gw->server);
	metrics_free(gw->metrics);
	/* events hold references on conns: free them first */
	objects_free(gw->objects);
	registry_free(gw->registry);
	router_free(gw->router);
	if (gw->genv != NULL) {
		mdb_env_sync(gw->genv, 1);
		mdb_env_close(gw->genv);
	}
	if (gw->sigfd >= 0)
		close(gw->sigfd);
	if (gw->pidfile)
		control_pidfile_remove(gw->cfg->run_dir);
	buf_free(&gw->nv);
	buf_free(&gw->body);
	buf_free(&gw->req);
	free(gw->state_dir);
	free(gw->gateway_dir);
}

/* The one line that says where the gateway listens and what it runs. */
static void
gateway_startup_line(const struct config *cfg)
{
	char	url[256], pool[64];

	if (cfg->listen_unix != NULL)
		snprintf(url, sizeof url, "unix:%s", cfg->listen_unix);
	else
		snprintf(url, sizeof url, strchr(cfg->listen_host, ':') ?
		    "http://[%s]:%d/" : "http://%s:%d/", cfg->listen_host,
		    cfg->listen_port);
	if (cfg->handler_addr != NULL)
		snprintf(pool, sizeof pool, "connections=%d",
		    cfg->handler_conns);
	else
		snprintf(pool, sizeof pool, "handlers=%d:%d", cfg->handlers_min,
		    cfg->handlers_max);
	log_info("torpor-gateway %s listening on %s handler=%s store=%s "
	    "run-dir=%s %s durability=%s", PACKAGE_VERSION, url,
	    cfg->handler_addr != NULL ? cfg->handler_addr :
	    cfg->handler_argv[0], cfg->store_dir, cfg->run_dir, pool,
	    store_durability_name(cfg->durability));
}

/* libwebsockets' own errors and warnings go through our log. */
static void
gateway_lws_log(int level, const char *line)
{
	size_t	n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_write(level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "lws",
	    "%.*s", (int)n, line);
}

int
gateway_run(const struct config *cfg)
{
	struct gateway	 gw;
	int		 rc;
	size_t		 i;

	memset(&gw, 0, sizeof gw);
	gw.cfg = cfg;
	srandom((unsigned int)(getpid() ^ alarm_now_ms()));
	lws_set_log_level(LLL_ERR | LLL_WARN, gateway_lws_log);
	rc = gateway_setup(&gw);
	if (rc != 0)
		goto out;
	for (i = 0; i < cfg->nroutes; i++)
		log_info("route %s", cfg->routes[i]);
	gateway_startup_line(cfg);
	lws_sul_schedule(server_context(gw.server), 0, &gw.tick, gateway_tick,
	    TICK_MS * LWS_US_PER_MS);
	gateway_dispatch(&gw);
	server_run(gw.server);
	log_info("stopped");
out:
	gateway_teardown(&gw);
	return rc == 0 ? 0 : 1;
}
