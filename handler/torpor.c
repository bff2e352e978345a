/*
 * torpor: the SDK's entry point. torpor_run accepts FastCGI requests on
 * fd 0 (the gateway's spawn mode, or cgi-fcgi) and takes each one through
 * the same steps: decode the event, run the callback, encode the
 * response, commit the storage writes, answer, forget the event.
 *
 * The order of the last steps is the output gate: the response is built
 * before the commit, so nothing can fail after the writes are durable,
 * and it is written only after the commit succeeded, so no action of an
 * event whose writes were lost ever reaches the gateway.
 *
 * A batch (doc/PROTOCOL.md, 10) takes the same steps with the callbacks
 * run one by one in between: each event's writes behind a savepoint (a
 * failed event's are rolled back alone), each event's element of the
 * response encoded as soon as it returns, one commit for all of them.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "sdk_actions.h"
#include "sdk_batch.h"
#include "sdk_event.h"
#include "sdk_storage.h"
#include "store.h"
#include "torpor.h"

/* Read granularity when the request has no CONTENT_LENGTH. */
#define TORPOR_READ_CHUNK	4096

/* The process-wide state of torpor_run, created once. */
struct torpor_sdk {
	struct sdk_actions	*actions;
	struct sdk_storage	*storage;
	struct sdk_batch	*batch;
	torpor_event		*ev;
};

static void
torpor_sdk_free(struct torpor_sdk *sdk)
{
	sdk_event_free(sdk->ev);
	sdk_batch_free(sdk->batch);
	sdk_storage_free(sdk->storage);
	sdk_actions_free(sdk->actions);
	sdk->ev = NULL;
	sdk->batch = NULL;
	sdk->storage = NULL;
	sdk->actions = NULL;
}

static int
torpor_sdk_init(struct torpor_sdk *sdk)
{
	int rc;

	memset(sdk, 0, sizeof(*sdk));
	if ((rc = sdk_actions_create(&sdk->actions)) != 0 ||
	    (rc = sdk_storage_create(&sdk->storage)) != 0 ||
	    (rc = sdk_batch_create(&sdk->batch)) != 0 ||
	    (rc = sdk_event_create(&sdk->ev, sdk->actions, sdk->storage,
	    sdk->batch)) != 0)
		torpor_sdk_free(sdk);
	return rc;
}

typedef int (*torpor_callback_fn)(torpor_event *, void *);

static torpor_callback_fn
torpor_callback(const struct torpor_handlers *h, enum torpor_event_type t)
{
	switch (t) {
	case TORPOR_EVENT_CONNECT:
		return h->on_connect;
	case TORPOR_EVENT_MESSAGE:
		return h->on_message;
	case TORPOR_EVENT_CLOSE:
		return h->on_close;
	case TORPOR_EVENT_ERROR:
		return h->on_error;
	case TORPOR_EVENT_ALARM:
		return h->on_alarm;
	}
	return NULL;
}

static const char *const torpor_callback_failed[] = {
	[TORPOR_EVENT_CONNECT] = "on_connect failed",
	[TORPOR_EVENT_MESSAGE] = "on_message failed",
	[TORPOR_EVENT_CLOSE] = "on_close failed",
	[TORPOR_EVENT_ERROR] = "on_error failed",
	[TORPOR_EVENT_ALARM] = "on_alarm failed",
};

/*
 * Runs the single event of a loaded request and points *out at the
 * response. Storage is committed or left for sdk_storage_end.
 */
static void
torpor_process_one(struct torpor_sdk *sdk, const struct torpor_handlers *h,
    void *user, const char **out, size_t *len)
{
	torpor_callback_fn cb;
	const char *cause = NULL;
	int rc;

	rc = sdk_event_select(sdk->ev, 0, &cause);
	if (rc == -ENOTSUP) {
		/* An event type newer than this SDK: acknowledge it. */
		rc = sdk_actions_encode(sdk->actions, out, len);
	} else if (rc != 0) {
		sdk_actions_encode_error(sdk->actions, "bad request",
		    cause != NULL ? cause : torpor_strerror(rc), out, len);
		return;
	} else {
		cb = torpor_callback(h, torpor_event_type(sdk->ev));
		if (cb != NULL && (rc = cb(sdk->ev, user)) < 0) {
			sdk_actions_encode_error(sdk->actions,
			    torpor_callback_failed[torpor_event_type(sdk->ev)],
			    torpor_strerror(rc), out, len);
			return;
		}
		rc = sdk_actions_encode(sdk->actions, out, len);
	}
	if (rc != 0) {
		sdk_actions_encode_error(sdk->actions,
		    "cannot encode the response", torpor_strerror(rc), out,
		    len);
		return;
	}
	if ((rc = sdk_storage_commit(sdk->storage, sdk->ev, &cause)) != 0)
		sdk_actions_encode_error(sdk->actions, cause,
		    torpor_strerror(rc), out, len);
}

/*
 * Runs event i of a batch and appends its element to the response. A
 * failed event is an element of its own; only what stops the whole
 * batch (no memory) is returned.
 */
static int
torpor_batch_event(struct torpor_sdk *sdk, const struct torpor_handlers *h,
    void *user, size_t i)
{
	enum torpor_event_type type;
	torpor_callback_fn cb;
	const char *cause = NULL;
	int rc;

	sdk_storage_savepoint(sdk->storage);
	if ((rc = sdk_event_select(sdk->ev, i, &cause)) == 0)
		rc = sdk_batch_view(sdk->batch, sdk->ev);
	if (rc == -ENOTSUP)
		return sdk_batch_add(sdk->batch, sdk->actions);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return sdk_batch_add_error(sdk->batch, "bad request",
		    cause != NULL ? cause : torpor_strerror(rc));
	type = torpor_event_type(sdk->ev);
	cb = torpor_callback(h, type);
	if (cb != NULL && (rc = cb(sdk->ev, user)) < 0) {
		sdk_storage_rollback(sdk->storage);
		return sdk_batch_add_error(sdk->batch,
		    torpor_callback_failed[type], torpor_strerror(rc));
	}
	if ((rc = sdk_batch_apply(sdk->batch, sdk->ev, sdk->actions)) != 0)
		return rc;
	return sdk_batch_add(sdk->batch, sdk->actions);
}

/* Runs every event of a loaded batch, then commits once. */
static void
torpor_process_batch(struct torpor_sdk *sdk, const struct torpor_handlers *h,
    void *user, const char **out, size_t *len)
{
	const char *cause = NULL;
	size_t i, n = sdk_event_count(sdk->ev);
	int rc;

	if ((rc = sdk_batch_begin(sdk->batch)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		rc = torpor_batch_event(sdk, h, user, i);
		/* The event's actions are in its element, or dropped. */
		sdk_actions_clear(sdk->actions);
		if (rc != 0)
			goto fail;
	}
	if ((rc = sdk_batch_end(sdk->batch, out, len)) != 0)
		goto fail;
	/* A failed commit fails every event: a whole-response 500. */
	if ((rc = sdk_storage_commit(sdk->storage, sdk->ev, &cause)) != 0)
		sdk_actions_encode_error(sdk->actions, cause,
		    torpor_strerror(rc), out, len);
	return;
fail:
	sdk_actions_encode_error(sdk->actions, "cannot encode the response",
	    torpor_strerror(rc), out, len);
}

/*
 * Runs one request (params envp, body_len payload bytes already in the
 * event's buffer) and points *out at the response to write, valid until
 * torpor_forget. Storage is committed or discarded on return.
 */
static void
torpor_process(struct torpor_sdk *sdk, const struct torpor_handlers *h,
    void *user, char **envp, size_t body_len, const char **out, size_t *len)
{
	const char *cause = NULL;
	int rc;

	sdk_batch_reset(sdk->batch);
	if ((rc = sdk_event_load(sdk->ev, envp, body_len, &cause)) != 0)
		sdk_actions_encode_error(sdk->actions, "bad request",
		    cause != NULL ? cause : torpor_strerror(rc), out, len);
	else if (sdk_event_batched(sdk->ev))
		torpor_process_batch(sdk, h, user, out, len);
	else
		torpor_process_one(sdk, h, user, out, len);
	/* Discards uncommitted writes and releases the snapshot now. */
	sdk_storage_end(sdk->storage);
}

/* Drops everything the request left, once its response is written. */
static void
torpor_forget(struct torpor_sdk *sdk)
{
	sdk_actions_reset(sdk->actions);
	sdk_batch_reset(sdk->batch);
	sdk_event_reset(sdk->ev);
}

/* Reads the request body into the event's buffer (binary-safe). */
static int
torpor_read_body(struct torpor_sdk *sdk, FCGX_Request *req, size_t *lenp)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	size_t want = 0, len = 0, chunk;
	unsigned long long v;
	char *buf, *end;
	int n, rc;

	if (cl != NULL && *cl != '\0') {
		errno = 0;
		v = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || v > INT_MAX)
			return -EBADMSG;
		want = (size_t)v;
	}
	for (;;) {
		if (cl != NULL && len == want)
			break;
		chunk = want > len ? want - len : TORPOR_READ_CHUNK;
		if ((rc = sdk_event_body_reserve(sdk->ev, len + chunk,
		    &buf)) != 0)
			return rc;
		n = FCGX_GetStr(buf + len, (int)chunk, req->in);
		if (n <= 0)
			break;
		len += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	if (cl != NULL && len != want)
		return -EBADMSG;
	*lenp = len;
	return 0;
}

static void
torpor_write(FCGX_Request *req, const char *data, size_t len)
{
	int n;

	while (len > 0) {
		n = len > INT_MAX ? INT_MAX : (int)len;
		if (FCGX_PutStr(data, n, req->out) != n)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void
torpor_serve(struct torpor_sdk *sdk, const struct torpor_handlers *h,
    void *user, FCGX_Request *req)
{
	const char *out;
	size_t len = 0, body_len;
	int rc;

	if ((rc = torpor_read_body(sdk, req, &body_len)) != 0)
		sdk_actions_encode_error(sdk->actions,
		    "cannot read the request body", torpor_strerror(rc), &out,
		    &len);
	else
		torpor_process(sdk, h, user, req->envp, body_len, &out, &len);
	torpor_write(req, out, len);
	torpor_forget(sdk);
}

static void
torpor_on_sigterm(int sig)
{
	(void)sig;
	FCGX_ShutdownPending();
}

int
torpor_run(const struct torpor_handlers *handlers, void *user)
{
	static const struct torpor_handlers none;
	struct torpor_sdk sdk;
	struct sigaction sa;
	FCGX_Request req;
	int rc, have_req = 0;

	memset(&sdk, 0, sizeof(sdk));
	if (FCGX_Init() != 0) {
		rc = -EIO;
		goto out;
	}
	/*
	 * The gateway retires idle handlers with SIGTERM: finish the request
	 * in hand, then leave the accept loop (no SA_RESTART, so a blocked
	 * accept returns and libfcgi sees the shutdown). A gateway that went
	 * away must show up as a write error, not kill us.
	 */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = torpor_on_sigterm;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if ((rc = torpor_sdk_init(&sdk)) != 0)
		goto out;
	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		rc = -EIO;
		goto out;
	}
	have_req = 1;
	while (FCGX_Accept_r(&req) >= 0)
		torpor_serve(&sdk, handlers != NULL ? handlers : &none, user,
		    &req);
	rc = 0;
out:
	if (have_req)
		FCGX_Free(&req, 1);
	torpor_sdk_free(&sdk);
	return rc;
}

const char *
torpor_strerror(int err)
{
	return store_strerror(err);
}
