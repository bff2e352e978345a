/*
 * sdk_event: decodes one FastCGI request into the torpor_event the
 * callbacks see (doc/PROTOCOL.md lists the parameters) and implements the
 * read-only accessors of torpor.h. Parameter strings are borrowed from
 * libfcgi's envp, which stays valid until the next accept; only the tag
 * list is copied, because it is split in place.
 *
 * A batch carries each event's parameters as NAME_i. One pass over envp
 * sorts the known ones into a table of slots, one row per event, so that
 * selecting an event and most torpor_param calls cost no search; the
 * payloads are slices of the one body, each NUL-terminated while its
 * event is current by borrowing the byte after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

#include "sdk_event.h"

/* Parameters of one event: NAME, or NAME_i for event i of a batch. */
enum sdk_field {
	F_EVENT,
	F_EVENT_ID,
	F_CONNECTIONS,
	F_ALARM,
	F_ALARM_RETRY,
	F_CONNECTION,
	F_TAGS,
	F_ATTACHMENT,
	F_FRAME,
	F_CLOSE_CODE,
	F_CLOSE_REASON,
	F_CLOSE_CLEAN,
	F_ERROR,
	F_REQUEST_URI,
	F_QUERY_STRING,
	F_REMOTE_ADDR,
	F_LENGTH,
	F_COUNT
};

/* Parameters of the whole request, never suffixed. */
enum sdk_rfield {
	R_OBJECT,
	R_STORE,
	R_GATEWAY_STORE,
	R_DURABILITY,
	R_BATCH,
	R_CONTENT_LENGTH,
	R_CONTENT_TYPE,
	R_COUNT
};

struct sdk_name {
	const char	*name;
	size_t		 len;
};

#define SDK_NAME(s)	{ s, sizeof(s) - 1 }

static const struct sdk_name sdk_fields[F_COUNT] = {
	[F_EVENT] = SDK_NAME("TORPOR_EVENT"),
	[F_EVENT_ID] = SDK_NAME("TORPOR_EVENT_ID"),
	[F_CONNECTIONS] = SDK_NAME("TORPOR_CONNECTIONS"),
	[F_ALARM] = SDK_NAME("TORPOR_ALARM"),
	[F_ALARM_RETRY] = SDK_NAME("TORPOR_ALARM_RETRY"),
	[F_CONNECTION] = SDK_NAME("TORPOR_CONNECTION"),
	[F_TAGS] = SDK_NAME("TORPOR_TAGS"),
	[F_ATTACHMENT] = SDK_NAME("TORPOR_ATTACHMENT"),
	[F_FRAME] = SDK_NAME("TORPOR_FRAME"),
	[F_CLOSE_CODE] = SDK_NAME("TORPOR_CLOSE_CODE"),
	[F_CLOSE_REASON] = SDK_NAME("TORPOR_CLOSE_REASON"),
	[F_CLOSE_CLEAN] = SDK_NAME("TORPOR_CLOSE_CLEAN"),
	[F_ERROR] = SDK_NAME("TORPOR_ERROR"),
	[F_REQUEST_URI] = SDK_NAME("REQUEST_URI"),
	[F_QUERY_STRING] = SDK_NAME("QUERY_STRING"),
	[F_REMOTE_ADDR] = SDK_NAME("REMOTE_ADDR"),
	[F_LENGTH] = SDK_NAME("TORPOR_LENGTH"),
};

static const struct sdk_name sdk_rfields[R_COUNT] = {
	[R_OBJECT] = SDK_NAME("TORPOR_OBJECT"),
	[R_STORE] = SDK_NAME("TORPOR_STORE"),
	[R_GATEWAY_STORE] = SDK_NAME("TORPOR_GATEWAY_STORE"),
	[R_DURABILITY] = SDK_NAME("TORPOR_DURABILITY"),
	[R_BATCH] = SDK_NAME("TORPOR_BATCH"),
	[R_CONTENT_LENGTH] = SDK_NAME("CONTENT_LENGTH"),
	[R_CONTENT_TYPE] = SDK_NAME("CONTENT_TYPE"),
};

struct torpor_event {
	/* The request. */
	char			**envp;
	const char		*req[R_COUNT];
	const char		*slots[SDK_EVENT_BATCH_MAX][F_COUNT];
	size_t			 offs[SDK_EVENT_BATCH_MAX + 1];
	size_t			 n;		/* events */
	int			 batched;

	char			*body;		/* payloads, NUL-terminated */
	size_t			 body_len;
	size_t			 body_cap;

	/* The current event: row index of slots, decoded. */
	const char		**cur;
	size_t			 index;
	const char		*payload;
	size_t			 payload_len;
	size_t			 nul_pos;	/* byte lent to the NUL */
	char			 nul_saved;
	int			 nul_live;

	enum torpor_event_type	 type;
	const char		*object;
	const char		*connection;
	const char		*attachment;
	size_t			 attachment_len;
	const char		*close_reason;
	int			 close_code;
	int			 close_clean;
	int			 binary;
	int			 connections;
	int			 alarm_retry;
	int64_t			 alarm;
	uint64_t		 event_id;
	char			 alarm_text[24];

	char			*tagbuf;	/* TORPOR_TAGS split at ',' */
	size_t			 tagbuf_cap;
	const char		**tags;
	size_t			 ntags;
	size_t			 tags_cap;

	struct sdk_actions	*actions;
	struct sdk_storage	*storage;
	struct sdk_batch	*batch;
};

static const char *const sdk_event_names[] = {
	[TORPOR_EVENT_CONNECT] = "connect",
	[TORPOR_EVENT_MESSAGE] = "message",
	[TORPOR_EVENT_CLOSE] = "close",
	[TORPOR_EVENT_ERROR] = "error",
	[TORPOR_EVENT_ALARM] = "alarm",
};

static void	sdk_event_clear(torpor_event *);

int
sdk_event_create(torpor_event **evp, struct sdk_actions *actions,
    struct sdk_storage *storage, struct sdk_batch *batch)
{
	torpor_event *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -ENOMEM;
	ev->actions = actions;
	ev->storage = storage;
	ev->batch = batch;
	sdk_event_reset(ev);
	*evp = ev;
	return 0;
}

void
sdk_event_free(torpor_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->body);
	free(ev->tagbuf);
	free(ev->tags);
	free(ev);
}

int
sdk_event_body_reserve(torpor_event *ev, size_t need, char **buf)
{
	size_t cap;
	char *p;

	if (need >= SIZE_MAX / 2)
		return -ENOMEM;
	if (ev->body == NULL || need + 1 > ev->body_cap) {
		cap = ev->body_cap > 0 ? ev->body_cap : 4096;
		while (cap < need + 1)
			cap *= 2;
		if ((p = realloc(ev->body, cap)) == NULL)
			return -ENOMEM;
		ev->body = p;
		ev->body_cap = cap;
	}
	*buf = ev->body;
	return 0;
}

/* Parses a whole decimal string; -1 when s is absent, empty or bad. */
static int
sdk_event_parse(const char *s, long long *v)
{
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* A decimal parameter, or def when it is absent or bad. */
static long long
sdk_event_number(const char *s, long long def)
{
	long long v;

	return sdk_event_parse(s, &v) == 0 ? v : def;
}

static const char *
sdk_event_string(const char *s)
{
	return s != NULL ? s : "";
}

/* The index of name[0..len) in table t of n names, or -1. */
static int
sdk_event_lookup(const struct sdk_name *t, size_t n, const char *name,
    size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].len == len && memcmp(t[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Splits "NAME_i" into the length of NAME and i; 0 when the name has no
 * such suffix (i is 1 to 3 digits without a leading zero).
 */
static int
sdk_event_suffix(const char *name, size_t len, size_t *base, size_t *index)
{
	size_t d = len, i, v = 0;

	while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
		d--;
	if (d == len || len - d > 3 || d < 2 || name[d - 1] != '_' ||
	    (name[d] == '0' && len - d > 1))
		return 0;
	for (i = d; i < len; i++)
		v = v * 10 + (size_t)(name[i] - '0');
	*base = d - 1;
	*index = v;
	return 1;
}

/*
 * Sorts envp into the request fields and the events' slots in one pass;
 * the first occurrence of a name wins, as with FCGX_GetParam.
 */
static void
sdk_event_scan(torpor_event *ev, char **envp)
{
	const char *eq, **slot;
	size_t len, base, index;
	char **p;
	int f;

	for (p = envp; *p != NULL; p++) {
		if ((eq = strchr(*p, '=')) == NULL)
			continue;
		len = (size_t)(eq - *p);
		slot = NULL;
		if ((f = sdk_event_lookup(sdk_rfields, R_COUNT, *p,
		    len)) >= 0)
			slot = &ev->req[f];
		else if (!ev->batched) {
			if ((f = sdk_event_lookup(sdk_fields, F_COUNT, *p,
			    len)) >= 0)
				slot = &ev->slots[0][f];
		} else if (sdk_event_suffix(*p, len, &base, &index) &&
		    index < ev->n && (f = sdk_event_lookup(sdk_fields,
		    F_COUNT, *p, base)) >= 0)
			slot = &ev->slots[index][f];
		if (slot != NULL && *slot == NULL)
			*slot = eq + 1;
	}
}

/* Cuts the body into the events' payloads (TORPOR_LENGTH_i). */
static int
sdk_event_offsets(torpor_event *ev, const char **cause)
{
	size_t i, off = 0;
	long long v;

	ev->offs[0] = 0;
	if (!ev->batched) {
		ev->offs[1] = ev->body_len;
		return 0;
	}
	for (i = 0; i < ev->n; i++) {
		if (sdk_event_parse(ev->slots[i][F_LENGTH], &v) != 0 ||
		    v < 0 || (unsigned long long)v > ev->body_len - off) {
			*cause = "bad or missing TORPOR_LENGTH_i";
			return -EBADMSG;
		}
		off += (size_t)v;
		ev->offs[i + 1] = off;
	}
	if (off != ev->body_len) {
		*cause = "TORPOR_LENGTH_i do not add up to CONTENT_LENGTH";
		return -EBADMSG;
	}
	return 0;
}

int
sdk_event_load(torpor_event *ev, char **envp, size_t body_len,
    const char **cause)
{
	const char *batch;
	long long v;
	char *buf;
	int rc;

	sdk_event_clear(ev);
	/* Payloads are always NUL-terminated, so text is easy to use. */
	if ((rc = sdk_event_body_reserve(ev, body_len, &buf)) != 0)
		return rc;
	buf[body_len] = '\0';
	ev->body_len = body_len;
	ev->envp = envp;
	ev->n = 1;
	if ((batch = FCGX_GetParam("TORPOR_BATCH", envp)) != NULL) {
		if (sdk_event_parse(batch, &v) != 0 || v < 1 ||
		    v > SDK_EVENT_BATCH_MAX) {
			*cause = "bad TORPOR_BATCH";
			return -EBADMSG;
		}
		ev->n = (size_t)v;
		ev->batched = 1;
	}
	memset(ev->slots, 0, ev->n * sizeof(ev->slots[0]));
	sdk_event_scan(ev, envp);
	ev->object = ev->req[R_OBJECT];
	if (ev->object == NULL || *ev->object == '\0') {
		ev->object = "";
		*cause = "no TORPOR_OBJECT parameter";
		return -EBADMSG;
	}
	return sdk_event_offsets(ev, cause);
}

size_t
sdk_event_count(const torpor_event *ev)
{
	return ev->n;
}

int
sdk_event_batched(const torpor_event *ev)
{
	return ev->batched;
}

/* Splits TORPOR_TAGS ("a,b,c"; empty items skipped) into ev->tags. */
static int
sdk_event_split_tags(torpor_event *ev, const char *s)
{
	size_t len = strlen(s), n = 1, i;
	const char **tags;
	char *p, *item;

	ev->ntags = 0;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		n += s[i] == ',';
	if (len + 1 > ev->tagbuf_cap) {
		if ((p = realloc(ev->tagbuf, len + 1)) == NULL)
			return -ENOMEM;
		ev->tagbuf = p;
		ev->tagbuf_cap = len + 1;
	}
	if (n > ev->tags_cap) {
		if ((tags = realloc(ev->tags, n * sizeof(*tags))) == NULL)
			return -ENOMEM;
		ev->tags = tags;
		ev->tags_cap = n;
	}
	memcpy(ev->tagbuf, s, len + 1);
	for (p = ev->tagbuf; (item = strsep(&p, ",")) != NULL;) {
		if (*item != '\0')
			ev->tags[ev->ntags++] = item;
	}
	return 0;
}

/* Forgets the current event's decoded fields; the request stays. */
static void
sdk_event_unselect(torpor_event *ev)
{
	if (ev->nul_live)
		ev->body[ev->nul_pos] = ev->nul_saved;
	ev->nul_live = 0;
	ev->cur = NULL;
	ev->index = 0;
	ev->payload = "";
	ev->payload_len = 0;
	ev->type = TORPOR_EVENT_MESSAGE;
	ev->connection = NULL;
	ev->attachment = "";
	ev->attachment_len = 0;
	ev->close_reason = "";
	ev->close_code = 1005;
	ev->close_clean = 0;
	ev->binary = 0;
	ev->connections = 0;
	ev->alarm = -1;
	ev->alarm_retry = 0;
	ev->event_id = 0;
	ev->ntags = 0;
}

int
sdk_event_select(torpor_event *ev, size_t i, const char **cause)
{
	const char *type, **cur;
	size_t t;

	sdk_event_unselect(ev);
	if (i >= ev->n)
		return -EINVAL;
	cur = ev->cur = ev->slots[i];
	ev->index = i;
	ev->payload = ev->body + ev->offs[i];
	ev->payload_len = ev->offs[i + 1] - ev->offs[i];
	ev->nul_pos = ev->offs[i + 1];
	ev->nul_saved = ev->body[ev->nul_pos];
	ev->body[ev->nul_pos] = '\0';
	ev->nul_live = 1;

	if ((type = cur[F_EVENT]) == NULL) {
		*cause = "no TORPOR_EVENT parameter";
		return -EBADMSG;
	}
	for (t = 0; t < sizeof(sdk_event_names) / sizeof(*sdk_event_names);
	    t++) {
		if (strcmp(type, sdk_event_names[t]) == 0)
			break;
	}
	if (t == sizeof(sdk_event_names) / sizeof(*sdk_event_names)) {
		*cause = "unknown TORPOR_EVENT";
		return -ENOTSUP;
	}
	ev->type = (enum torpor_event_type)t;

	ev->connection = cur[F_CONNECTION];
	if (ev->connection != NULL && *ev->connection == '\0')
		ev->connection = NULL;
	ev->attachment = sdk_event_string(cur[F_ATTACHMENT]);
	ev->attachment_len = strlen(ev->attachment);
	ev->close_reason = sdk_event_string(cur[F_CLOSE_REASON]);
	ev->close_code = (int)sdk_event_number(cur[F_CLOSE_CODE], 1005);
	ev->close_clean = sdk_event_number(cur[F_CLOSE_CLEAN], 0) != 0;
	ev->binary = strcmp(sdk_event_string(cur[F_FRAME]), "binary") == 0;
	ev->connections = (int)sdk_event_number(cur[F_CONNECTIONS], 0);
	ev->alarm = sdk_event_number(cur[F_ALARM], -1);
	ev->alarm_retry = (int)sdk_event_number(cur[F_ALARM_RETRY], 0);
	ev->event_id = (uint64_t)sdk_event_number(cur[F_EVENT_ID], 0);
	return sdk_event_split_tags(ev, sdk_event_string(cur[F_TAGS]));
}

void
sdk_event_set_attachment(torpor_event *ev, const char *value)
{
	if (ev->cur == NULL)
		return;
	ev->cur[F_ATTACHMENT] = value;
	ev->attachment = sdk_event_string(value);
	ev->attachment_len = strlen(ev->attachment);
}

int
sdk_event_set_tags(torpor_event *ev, const char *tags)
{
	if (ev->cur == NULL)
		return 0;
	ev->cur[F_TAGS] = tags;
	return sdk_event_split_tags(ev, sdk_event_string(tags));
}

void
sdk_event_set_alarm(torpor_event *ev, int64_t at_ms)
{
	if (ev->cur == NULL)
		return;
	ev->alarm = at_ms < 0 ? -1 : at_ms;
	ev->cur[F_ALARM] = NULL;
	if (at_ms >= 0) {
		snprintf(ev->alarm_text, sizeof(ev->alarm_text), "%" PRId64,
		    at_ms);
		ev->cur[F_ALARM] = ev->alarm_text;
	}
}

/* Forgets the request, keeping every buffer. */
static void
sdk_event_clear(torpor_event *ev)
{
	/* The body is the next request's already: nothing to give back. */
	ev->nul_live = 0;
	sdk_event_unselect(ev);
	ev->envp = NULL;
	memset(ev->req, 0, sizeof(ev->req));
	ev->n = 0;
	ev->batched = 0;
	ev->object = "";
	ev->body_len = 0;
}

void
sdk_event_reset(torpor_event *ev)
{
	sdk_event_clear(ev);
	/* One huge message must not pin its buffer for the process' life. */
	if (ev->body_cap > SDK_EVENT_BODY_KEEP) {
		free(ev->body);
		ev->body = NULL;
		ev->body_cap = 0;
	}
}

struct sdk_actions *
sdk_event_actions(const torpor_event *ev)
{
	return ev->actions;
}

struct sdk_storage *
sdk_event_storage(const torpor_event *ev)
{
	return ev->storage;
}

struct sdk_batch *
sdk_event_batch(const torpor_event *ev)
{
	return ev->batch;
}

enum torpor_event_type
torpor_event_type(const torpor_event *ev)
{
	return ev->type;
}

const char *
torpor_object(const torpor_event *ev)
{
	return ev->object;
}

const char *
torpor_connection_id(const torpor_event *ev)
{
	return ev->type == TORPOR_EVENT_ALARM ? NULL : ev->connection;
}

const char *
torpor_attachment(const torpor_event *ev, size_t *len)
{
	if (len != NULL)
		*len = ev->attachment_len;
	return ev->attachment;
}

size_t
torpor_tag_count(const torpor_event *ev)
{
	return ev->ntags;
}

const char *
torpor_tag(const torpor_event *ev, size_t i)
{
	return i < ev->ntags ? ev->tags[i] : NULL;
}

/* What CONTENT_TYPE was for a single request: batches do not send it. */
static const char *
sdk_event_content_type(const torpor_event *ev)
{
	if (ev->cur == NULL || ev->type != TORPOR_EVENT_MESSAGE)
		return NULL;
	return ev->binary ? "application/octet-stream" :
	    "text/plain; charset=utf-8";
}

/*
 * Known names come from the tables; in a batch, other names are looked
 * up as NAME_i first (a parameter newer than this SDK), then as NAME.
 */
const char *
torpor_param(const torpor_event *ev, const char *name)
{
	char suffixed[256];
	const char *v;
	size_t len;
	int f, n;

	if (ev->envp == NULL || name == NULL)
		return NULL;
	len = strlen(name);
	if ((f = sdk_event_lookup(sdk_fields, F_COUNT, name, len)) >= 0)
		return ev->cur != NULL ? ev->cur[f] : NULL;
	if ((f = sdk_event_lookup(sdk_rfields, R_COUNT, name, len)) >= 0) {
		if (ev->batched && f == R_CONTENT_LENGTH)
			return ev->cur != NULL ? ev->cur[F_LENGTH] : NULL;
		if (ev->batched && f == R_CONTENT_TYPE)
			return sdk_event_content_type(ev);
		return ev->req[f];
	}
	if (ev->batched) {
		n = snprintf(suffixed, sizeof(suffixed), "%s_%zu", name,
		    ev->index);
		if (n > 0 && (size_t)n < sizeof(suffixed) &&
		    (v = FCGX_GetParam(suffixed, ev->envp)) != NULL)
			return v;
	}
	return FCGX_GetParam(name, ev->envp);
}

const void *
torpor_payload(const torpor_event *ev, size_t *len)
{
	if (len != NULL)
		*len = ev->payload_len;
	return ev->payload;
}

int
torpor_is_binary(const torpor_event *ev)
{
	return ev->binary;
}

int
torpor_connection_count(const torpor_event *ev)
{
	return ev->connections;
}

int64_t
torpor_alarm(const torpor_event *ev)
{
	return ev->alarm;
}

int
torpor_alarm_retry(const torpor_event *ev)
{
	return ev->alarm_retry;
}

int
torpor_close_code(const torpor_event *ev)
{
	return ev->close_code;
}

const char *
torpor_close_reason(const torpor_event *ev)
{
	return ev->close_reason;
}

int
torpor_close_clean(const torpor_event *ev)
{
	return ev->close_clean;
}

uint64_t
torpor_event_id(const torpor_event *ev)
{
	return ev->event_id;
}

int64_t
torpor_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
