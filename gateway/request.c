/*
 * request: one function per kind of parameter, each taking the suffix a
 * batch adds to per-event names ("" for a single event, "_3" for the
 * fourth event of a batch), so the two encodings cannot drift apart.
 */
#include <config.h>	/* autoconf's: PACKAGE_VERSION */

#include <stdio.h>
#include <string.h>

#include "fcgi.h"
#include "object.h"
#include "registry.h"
#include "request.h"

static const char *const event_names[] = {
	"connect", "message", "close", "error", "alarm",
};

/* Adds NAME+suffix = value. */
static void
request_param(struct buf *nv, const char *name, const char *suffix,
    const char *value, size_t len)
{
	char	full[64];

	snprintf(full, sizeof full, "%s%s", name, suffix);
	fcgi_param_add(nv, full, strlen(full), value, len);
}

static void
request_str(struct buf *nv, const char *name, const char *suffix,
    const char *value)
{
	request_param(nv, name, suffix, value, strlen(value));
}

static void
request_int(struct buf *nv, const char *name, const char *suffix,
    long long v)
{
	char	num[32];

	snprintf(num, sizeof num, "%lld", v);
	request_str(nv, name, suffix, num);
}

/* The params that do not depend on the event. */
static void
request_common(const struct request_env *env, struct object *o,
    struct buf *nv)
{
	const char	*eq;
	size_t		 i;

	fcgi_param_add_str(nv, "REQUEST_METHOD", "POST");
	fcgi_param_add_str(nv, "GATEWAY_INTERFACE", "CGI/1.1");
	fcgi_param_add_str(nv, "SERVER_PROTOCOL", "HTTP/1.1");
	fcgi_param_add_str(nv, "SERVER_SOFTWARE", "torpor/" PACKAGE_VERSION);
	fcgi_param_add_str(nv, "TORPOR_OBJECT", object_name(o));
	fcgi_param_add_str(nv, "TORPOR_STORE", env->state_dir);
	fcgi_param_add_str(nv, "TORPOR_GATEWAY_STORE", env->gateway_dir);
	fcgi_param_add_str(nv, "TORPOR_DURABILITY", env->durability);
	for (i = 0; i < env->nparams; i++) {
		eq = strchr(env->params[i], '=');
		fcgi_param_add(nv, env->params[i],
		    (size_t)(eq - env->params[i]), eq + 1, strlen(eq + 1));
	}
}

/* The params of one event, names ending in sfx. */
static void
request_event(struct object *o, struct event *ev, const char *sfx,
    struct buf *nv)
{
	struct conn	*c = ev->conn;
	const char	*att, *uri, *q;
	size_t		 alen;

	request_str(nv, "TORPOR_EVENT", sfx, event_names[ev->type]);
	request_int(nv, "TORPOR_EVENT_ID", sfx,
	    (long long)object_next_event_id(o));
	request_int(nv, "TORPOR_CONNECTIONS", sfx, object_conn_count(o));
	if (object_alarm(o) >= 0)
		request_int(nv, "TORPOR_ALARM", sfx,
		    (long long)object_alarm(o));
	if (c != NULL) {
		uri = conn_uri(c);
		q = strchr(uri, '?');
		request_str(nv, "REQUEST_URI", sfx, uri);
		request_str(nv, "QUERY_STRING", sfx, q != NULL ? q + 1 : "");
		request_str(nv, "REMOTE_ADDR", sfx, conn_remote(c));
		request_str(nv, "TORPOR_CONNECTION", sfx, conn_id(c));
		request_str(nv, "TORPOR_TAGS", sfx, conn_tags(c));
		att = conn_attachment(c, &alen);
		request_param(nv, "TORPOR_ATTACHMENT", sfx, att, alen);
	} else {
		request_str(nv, "REQUEST_URI", sfx, "/");
		request_str(nv, "QUERY_STRING", sfx, "");
	}
	switch (ev->type) {
	case EVENT_CONNECT:
		/* HTTP_* params, encoded when the socket opened; never batched */
		buf_append(nv, ev->payload, ev->len);
		break;
	case EVENT_MESSAGE:
		request_str(nv, "TORPOR_FRAME", sfx,
		    ev->binary ? "binary" : "text");
		break;
	case EVENT_CLOSE:
		request_int(nv, "TORPOR_CLOSE_CODE", sfx, ev->close_code);
		request_str(nv, "TORPOR_CLOSE_REASON", sfx, ev->text);
		request_str(nv, "TORPOR_CLOSE_CLEAN", sfx,
		    ev->close_clean ? "1" : "0");
		break;
	case EVENT_ERROR:
		request_str(nv, "TORPOR_ERROR", sfx, ev->text);
		break;
	case EVENT_ALARM:
		request_int(nv, "TORPOR_ALARM_RETRY", sfx,
		    object_alarm_retry(o));
		break;
	}
}

void
request_encode(const struct request_env *env, struct object *o,
    struct event *first, size_t k, struct buf *nv, struct buf *body,
    struct buf *out)
{
	struct event	*ev;
	char		 sfx[24];
	size_t		 i;

	buf_reset(nv);
	buf_reset(body);
	buf_reset(out);
	request_common(env, o, nv);
	if (k == 1) {
		request_event(o, first, "", nv);
		if (first->type == EVENT_MESSAGE)
			fcgi_param_add_str(nv, "CONTENT_TYPE", first->binary ?
			    "application/octet-stream" :
			    "text/plain; charset=utf-8");
		request_int(nv, "CONTENT_LENGTH", "", first->type ==
		    EVENT_MESSAGE ? (long long)first->len : 0);
		fcgi_encode_request(out, 1, nv, first->type == EVENT_MESSAGE ?
		    first->payload : NULL, first->type == EVENT_MESSAGE ?
		    first->len : 0);
		return;
	}
	request_int(nv, "TORPOR_BATCH", "", (long long)k);
	for (ev = first, i = 0; ev != NULL && i < k; ev = ev->batch_next, i++) {
		snprintf(sfx, sizeof sfx, "_%zu", i);
		request_event(o, ev, sfx, nv);
		if (ev->type == EVENT_MESSAGE) {
			request_int(nv, "TORPOR_LENGTH", sfx, (long long)ev->len);
			buf_append(body, ev->payload, ev->len);
		} else
			request_int(nv, "TORPOR_LENGTH", sfx, 0);
	}
	fcgi_param_add_str(nv, "CONTENT_TYPE", "application/vnd.torpor-batch");
	request_int(nv, "CONTENT_LENGTH", "", (long long)buf_size(body));
	fcgi_encode_request(out, 1, nv, buf_head(body), buf_size(body));
}
