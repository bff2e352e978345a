/*
 * sdk_event: decodes one FastCGI request into the torpor_event the
 * callbacks see (doc/PROTOCOL.md lists the parameters) and implements the
 * read-only accessors of torpor.h. Parameter strings are borrowed from
 * libfcgi's envp, which stays valid until the next accept; only the tag
 * list is copied, because it is split in place.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

#include "sdk_event.h"

struct torpor_event {
	enum torpor_event_type	 type;
	char			**envp;
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

	char			*body;		/* payload, NUL-terminated */
	size_t			 body_len;
	size_t			 body_cap;

	char			*tagbuf;	/* TORPOR_TAGS split at ',' */
	size_t			 tagbuf_cap;
	const char		**tags;
	size_t			 ntags;
	size_t			 tags_cap;

	struct sdk_actions	*actions;
	struct sdk_storage	*storage;
};

static const char *const sdk_event_names[] = {
	[TORPOR_EVENT_CONNECT] = "connect",
	[TORPOR_EVENT_MESSAGE] = "message",
	[TORPOR_EVENT_CLOSE] = "close",
	[TORPOR_EVENT_ERROR] = "error",
	[TORPOR_EVENT_ALARM] = "alarm",
};

int
sdk_event_create(torpor_event **evp, struct sdk_actions *actions,
    struct sdk_storage *storage)
{
	torpor_event *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -ENOMEM;
	ev->actions = actions;
	ev->storage = storage;
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

static void	sdk_event_clear(torpor_event *);

/* Parses a decimal parameter, or gives def when it is absent or bad. */
static long long
sdk_event_number(char **envp, const char *name, long long def)
{
	const char *s = FCGX_GetParam(name, envp);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return def;
	return v;
}

static const char *
sdk_event_string(char **envp, const char *name)
{
	const char *s = FCGX_GetParam(name, envp);

	return s != NULL ? s : "";
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

int
sdk_event_load(torpor_event *ev, char **envp, size_t body_len,
    const char **cause)
{
	const char *type;
	size_t i;
	char *buf;
	int rc;

	sdk_event_clear(ev);
	/* The payload is always NUL-terminated, so text is easy to use. */
	if ((rc = sdk_event_body_reserve(ev, body_len, &buf)) != 0)
		return rc;
	buf[body_len] = '\0';
	ev->body_len = body_len;
	ev->envp = envp;

	type = FCGX_GetParam("TORPOR_EVENT", envp);
	ev->object = FCGX_GetParam("TORPOR_OBJECT", envp);
	if (type == NULL || ev->object == NULL || *ev->object == '\0') {
		*cause = type == NULL ? "no TORPOR_EVENT parameter" :
		    "no TORPOR_OBJECT parameter";
		return -EBADMSG;
	}
	for (i = 0; i < sizeof(sdk_event_names) / sizeof(*sdk_event_names);
	    i++) {
		if (strcmp(type, sdk_event_names[i]) == 0)
			break;
	}
	if (i == sizeof(sdk_event_names) / sizeof(*sdk_event_names)) {
		*cause = "unknown TORPOR_EVENT";
		return -ENOTSUP;
	}
	ev->type = (enum torpor_event_type)i;

	ev->connection = FCGX_GetParam("TORPOR_CONNECTION", envp);
	if (ev->connection != NULL && *ev->connection == '\0')
		ev->connection = NULL;
	ev->attachment = sdk_event_string(envp, "TORPOR_ATTACHMENT");
	ev->attachment_len = strlen(ev->attachment);
	ev->close_reason = sdk_event_string(envp, "TORPOR_CLOSE_REASON");
	ev->close_code = (int)sdk_event_number(envp, "TORPOR_CLOSE_CODE",
	    1005);
	ev->close_clean = sdk_event_number(envp, "TORPOR_CLOSE_CLEAN", 0) != 0;
	ev->binary = strcmp(sdk_event_string(envp, "TORPOR_FRAME"),
	    "binary") == 0;
	ev->connections = (int)sdk_event_number(envp, "TORPOR_CONNECTIONS", 0);
	ev->alarm = sdk_event_number(envp, "TORPOR_ALARM", -1);
	ev->alarm_retry = (int)sdk_event_number(envp, "TORPOR_ALARM_RETRY",
	    0);
	ev->event_id = (uint64_t)sdk_event_number(envp, "TORPOR_EVENT_ID", 0);
	return sdk_event_split_tags(ev, sdk_event_string(envp, "TORPOR_TAGS"));
}

/* Forgets the decoded fields, keeping every buffer. */
static void
sdk_event_clear(torpor_event *ev)
{
	ev->type = TORPOR_EVENT_MESSAGE;
	ev->envp = NULL;
	ev->object = "";
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
	ev->body_len = 0;
	ev->ntags = 0;
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

const char *
torpor_param(const torpor_event *ev, const char *name)
{
	if (ev->envp == NULL || name == NULL)
		return NULL;
	return FCGX_GetParam(name, ev->envp);
}

const void *
torpor_payload(const torpor_event *ev, size_t *len)
{
	if (len != NULL)
		*len = ev->body_len;
	return ev->body != NULL ? ev->body : "";
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
