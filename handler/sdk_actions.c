/*
 * sdk_actions: queues what a callback asks the gateway to do and encodes
 * it as the response. Most events answer with at most a reply, the
 * sender's attachment, tags and close, and the alarm; those go out in the
 * CGI header form, which costs the gateway no JSON parse. Anything else
 * (several frames, other targets, an order the header form cannot
 * express) goes out as the JSON actions array of doc/PROTOCOL.md.
 *
 * Each queued action owns one allocation holding all its strings, so a
 * reset is one free per action.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sdk_actions.h"
#include "sdk_event.h"
#include "torpor.h"

#define SDK_CLOSE_REASON_MAX	123	/* RFC 6455: 125-byte control frame */
#define SDK_TAG_MAX		256	/* doc/PROTOCOL.md, 3.2 */
#define SDK_ALARM_MAX		((int64_t)1 << 53)	/* exact in JSON */
/* Every response says the SDK takes batches. */
#define SDK_OK_HEAD	"Status: 200 OK\r\n" SDK_EVENT_BATCH_HEADER
#define SDK_ERROR_HEAD	"Status: 500 Internal Server Error\r\n" \
			SDK_EVENT_BATCH_HEADER \
			"Content-Type: text/plain; charset=utf-8\r\n\r\n"

enum sdk_action_type {
	SDK_ACTION_SEND,
	SDK_ACTION_ATTACHMENT,
	SDK_ACTION_TAGS,
	SDK_ACTION_CLOSE,
	SDK_ACTION_ALARM,
};

enum sdk_target {
	SDK_TARGET_SENDER,	/* the event's connection */
	SDK_TARGET_CONNECTION,	/* name is a connection id */
	SDK_TARGET_TAG,		/* name is a tag */
	SDK_TARGET_OBJECT,	/* every connection of the object */
};

struct sdk_action {
	enum sdk_action_type	 type;
	enum sdk_target		 target;
	char			*mem;		/* the one allocation */
	const char		*name;		/* connection id or tag */
	const char		*except;	/* TAG/OBJECT sends, or NULL */
	const char		*data;		/* frame, attachment, reason */
	size_t			 len;		/* NUL-terminated as well */
	int			 binary;
	int			 code;		/* CLOSE */
	const char		**tags;		/* TAGS */
	size_t			 ntags;
	int64_t			 at;		/* ALARM: ms, -1 clears */
};

struct sdk_actions {
	struct sdk_action	*v;
	size_t			 n;
	size_t			 cap;
	char			*out;
	size_t			 out_len;
	size_t			 out_cap;
};

int
sdk_actions_create(struct sdk_actions **ap)
{
	struct sdk_actions *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	*ap = a;
	return 0;
}

void
sdk_actions_clear(struct sdk_actions *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i].mem);
	a->n = 0;
}

void
sdk_actions_reset(struct sdk_actions *a)
{
	sdk_actions_clear(a);
	a->out_len = 0;
	if (a->out_cap > SDK_ACTIONS_OUT_KEEP) {
		free(a->out);
		a->out = NULL;
		a->out_cap = 0;
	}
}

void
sdk_actions_free(struct sdk_actions *a)
{
	if (a == NULL)
		return;
	sdk_actions_reset(a);
	free(a->v);
	free(a->out);
	free(a);
}

size_t
sdk_actions_count(const struct sdk_actions *a)
{
	return a->n;
}

int
sdk_actions_next_change(const struct sdk_actions *a, size_t *pos,
    struct sdk_change *c)
{
	const struct sdk_action *act;

	for (; *pos < a->n; (*pos)++) {
		act = &a->v[*pos];
		memset(c, 0, sizeof(*c));
		c->connection = act->target == SDK_TARGET_CONNECTION ?
		    act->name : NULL;
		switch (act->type) {
		case SDK_ACTION_ATTACHMENT:
			c->type = SDK_CHANGE_ATTACHMENT;
			c->value = act->data;
			c->len = act->len;
			break;
		case SDK_ACTION_TAGS:
			c->type = SDK_CHANGE_TAGS;
			c->tags = act->tags;
			c->ntags = act->ntags;
			break;
		case SDK_ACTION_ALARM:
			c->type = SDK_CHANGE_ALARM;
			c->connection = NULL;
			c->at = act->at;
			break;
		default:
			continue;
		}
		(*pos)++;
		return 1;
	}
	return 0;
}

/* --- queueing ------------------------------------------------------- */

/* Strings of an action before they are copied into its allocation. */
struct sdk_action_src {
	const char		*name;
	const char		*except;
	const void		*data;
	size_t			 len;
	const char *const	*tags;
	size_t			 ntags;
};

/* Appends s (len bytes and a NUL) at *p and returns where it went. */
static const char *
actions_copy(char **p, const void *s, size_t len)
{
	char *dst = *p;

	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	*p += len + 1;
	return dst;
}

/* Copies src into one allocation owned by act, then queues act. */
static int
actions_push(struct sdk_actions *a, struct sdk_action *act,
    const struct sdk_action_src *src)
{
	size_t size, i, ncap;
	struct sdk_action *v;
	char *p;

	if (a->n == a->cap) {
		ncap = a->cap > 0 ? a->cap * 2 : 8;
		if ((v = realloc(a->v, ncap * sizeof(*v))) == NULL)
			return -ENOMEM;
		a->v = v;
		a->cap = ncap;
	}
	size = src->ntags * sizeof(char *) + src->len + 1;
	size += src->name != NULL ? strlen(src->name) + 1 : 0;
	size += src->except != NULL ? strlen(src->except) + 1 : 0;
	for (i = 0; i < src->ntags; i++)
		size += strlen(src->tags[i]) + 1;
	if ((act->mem = malloc(size)) == NULL)
		return -ENOMEM;
	/* The pointer array comes first so that it is aligned. */
	act->tags = (const char **)(void *)act->mem;
	act->ntags = src->ntags;
	p = act->mem + src->ntags * sizeof(char *);
	for (i = 0; i < src->ntags; i++)
		act->tags[i] = actions_copy(&p, src->tags[i],
		    strlen(src->tags[i]));
	act->data = src->data != NULL ?
	    actions_copy(&p, src->data, src->len) : NULL;
	act->len = src->data != NULL ? src->len : 0;
	act->name = src->name != NULL ?
	    actions_copy(&p, src->name, strlen(src->name)) : NULL;
	act->except = src->except != NULL ?
	    actions_copy(&p, src->except, strlen(src->except)) : NULL;
	a->v[a->n++] = *act;
	return 0;
}

/*
 * Resolves a connection argument: NULL means the event's connection
 * (there is none on alarms), and the event's own id is the sender too, so
 * that it can use the header form.
 */
static int
actions_target(const torpor_event *ev, const char *id, struct sdk_action *act,
    struct sdk_action_src *src)
{
	const char *self = torpor_connection_id(ev);

	if (id == NULL || (self != NULL && strcmp(id, self) == 0)) {
		if (self == NULL)
			return -EINVAL;
		act->target = SDK_TARGET_SENDER;
		return 0;
	}
	if (*id == '\0')
		return -EINVAL;
	act->target = SDK_TARGET_CONNECTION;
	src->name = id;
	return 0;
}

/*
 * 1 when s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF): the gateway fails a whole response
 * over one bad text frame, so the error belongs to the call that made it.
 */
static int
actions_utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		if ((c = s[i]) < 0x80) {
			i++;
			continue;
		}
		/* n continuation bytes; c keeps the lead byte's payload. */
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		c &= 0x3f >> n;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * Text frames must be UTF-8 without NUL bytes: the actions form holds
 * them in JSON strings, which cJSON handles as C strings.
 */
static int
actions_frame_ok(const void *data, size_t len, int binary)
{
	if (data == NULL && len > 0)
		return 0;
	if (binary || len == 0)
		return 1;
	return memchr(data, '\0', len) == NULL && actions_utf8_ok(data, len);
}

static int
actions_send(torpor_event *ev, const char *id, const char *tag, int object,
    const char *except, const void *data, size_t len, int binary)
{
	struct sdk_action act = { .type = SDK_ACTION_SEND };
	struct sdk_action_src src = { .data = data != NULL ? data : "",
	    .len = len };
	int rc;

	if (ev == NULL || !actions_frame_ok(data, len, binary))
		return -EINVAL;
	act.binary = binary != 0;
	if (tag != NULL) {
		if (*tag == '\0')
			return -EINVAL;
		act.target = SDK_TARGET_TAG;
		src.name = tag;
	} else if (object)
		act.target = SDK_TARGET_OBJECT;
	else if ((rc = actions_target(ev, id, &act, &src)) != 0)
		return rc;
	if (except != NULL && *except != '\0' &&
	    (act.target == SDK_TARGET_TAG || act.target == SDK_TARGET_OBJECT))
		src.except = except;
	return actions_push(sdk_event_actions(ev), &act, &src);
}

int
torpor_reply(torpor_event *ev, const void *data, size_t len, int binary)
{
	if (ev == NULL || torpor_connection_id(ev) == NULL)
		return -EINVAL;
	return actions_send(ev, NULL, NULL, 0, NULL, data, len, binary);
}

int
torpor_reply_text(torpor_event *ev, const char *text)
{
	if (text == NULL)
		return -EINVAL;
	return torpor_reply(ev, text, strlen(text), 0);
}

int
torpor_send(torpor_event *ev, const char *connection_id, const void *data,
    size_t len, int binary)
{
	if (connection_id == NULL)
		return -EINVAL;
	return actions_send(ev, connection_id, NULL, 0, NULL, data, len,
	    binary);
}

int
torpor_send_tag(torpor_event *ev, const char *tag, const void *data,
    size_t len, int binary)
{
	if (tag == NULL)
		return -EINVAL;
	return actions_send(ev, NULL, tag, 0, NULL, data, len, binary);
}

int
torpor_broadcast(torpor_event *ev, const void *data, size_t len, int binary,
    const char *except_id)
{
	return actions_send(ev, NULL, NULL, 1, except_id, data, len, binary);
}

int
torpor_close(torpor_event *ev, const char *connection_id, int code,
    const char *reason)
{
	struct sdk_action act = { .type = SDK_ACTION_CLOSE, .code = code };
	struct sdk_action_src src = { .data = reason != NULL ? reason : "" };
	int rc;

	if (ev == NULL || (code != 1000 && (code < 3000 || code > 4999)))
		return -EINVAL;
	if ((src.len = strlen(src.data)) > SDK_CLOSE_REASON_MAX ||
	    !actions_utf8_ok((const unsigned char *)src.data, src.len))
		return -EINVAL;
	if ((rc = actions_target(ev, connection_id, &act, &src)) != 0)
		return rc;
	return actions_push(sdk_event_actions(ev), &act, &src);
}

int
torpor_set_attachment(torpor_event *ev, const char *connection_id,
    const char *value, size_t len)
{
	struct sdk_action act = { .type = SDK_ACTION_ATTACHMENT };
	struct sdk_action_src src = { .data = value, .len = len };
	int rc;

	if (ev == NULL || (value == NULL && len > 0))
		return -EINVAL;
	/* Attachments are text; a NUL would not survive either form. */
	if (value != NULL && memchr(value, '\0', len) != NULL)
		return -EINVAL;
	if (value == NULL)
		src.len = 0;
	if ((rc = actions_target(ev, connection_id, &act, &src)) != 0)
		return rc;
	return actions_push(sdk_event_actions(ev), &act, &src);
}

/*
 * A tag is 1-256 bytes of visible ASCII but ',' (TORPOR_TAGS is
 * comma-separated), so it is also a valid header value.
 */
static int
actions_tag_ok(const char *tag)
{
	size_t i;

	if (tag == NULL || *tag == '\0')
		return 0;
	for (i = 0; tag[i] != '\0'; i++) {
		if (i == SDK_TAG_MAX || tag[i] < 0x21 || tag[i] > 0x7e ||
		    tag[i] == ',')
			return 0;
	}
	return 1;
}

int
torpor_set_tags(torpor_event *ev, const char *connection_id,
    const char *const *tags, size_t ntags)
{
	struct sdk_action act = { .type = SDK_ACTION_TAGS };
	struct sdk_action_src src = { .tags = tags, .ntags = ntags };
	size_t i;
	int rc;

	if (ev == NULL || (tags == NULL && ntags > 0))
		return -EINVAL;
	for (i = 0; i < ntags; i++) {
		if (!actions_tag_ok(tags[i]))
			return -EINVAL;
	}
	if ((rc = actions_target(ev, connection_id, &act, &src)) != 0)
		return rc;
	return actions_push(sdk_event_actions(ev), &act, &src);
}

int
torpor_set_alarm(torpor_event *ev, int64_t at_ms)
{
	struct sdk_action act = { .type = SDK_ACTION_ALARM, .at = at_ms };
	struct sdk_action_src src = { .data = NULL };

	if (ev == NULL || at_ms < 0 || at_ms > SDK_ALARM_MAX)
		return -EINVAL;
	return actions_push(sdk_event_actions(ev), &act, &src);
}

int
torpor_clear_alarm(torpor_event *ev)
{
	struct sdk_action act = { .type = SDK_ACTION_ALARM, .at = -1 };
	struct sdk_action_src src = { .data = NULL };

	if (ev == NULL)
		return -EINVAL;
	return actions_push(sdk_event_actions(ev), &act, &src);
}

/* --- the header form -------------------------------------------------- */

/*
 * A header value arrives byte for byte only without control characters
 * (HTAB aside) and without spaces or tabs at either end, which the
 * gateway trims (doc/PROTOCOL.md, 4.1).
 */
static int
actions_header_safe(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	if (len == 0)
		return 1;
	if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t')
		return 0;
	for (i = 0; i < len; i++) {
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			return 0;
	}
	return 1;
}

/*
 * The position of an action in the header form's fixed effect order
 * (frame, attachment, tags, close, alarm), or -1 when it has no header.
 * An empty frame has none: an empty body means no frame.
 */
static int
actions_rank(const struct sdk_action *act)
{
	if (act->type != SDK_ACTION_ALARM && act->target != SDK_TARGET_SENDER)
		return -1;
	switch (act->type) {
	case SDK_ACTION_SEND:
		return act->len > 0 ? 0 : -1;
	case SDK_ACTION_ATTACHMENT:
		return actions_header_safe(act->data, act->len) ? 1 : -1;
	case SDK_ACTION_TAGS:
		/* Valid tags (actions_tag_ok) are valid header values. */
		return 2;
	case SDK_ACTION_CLOSE:
		return actions_header_safe(act->data, act->len) ? 3 : -1;
	case SDK_ACTION_ALARM:
		return 4;
	}
	return -1;
}

int
sdk_actions_header_form(const struct sdk_actions *a)
{
	int prev = -1, rank;
	size_t i;

	/*
	 * Strictly increasing ranks: each kind at most once, and the queued
	 * order equals the order the gateway applies headers in.
	 */
	for (i = 0; i < a->n; i++) {
		if ((rank = actions_rank(&a->v[i])) <= prev)
			return 0;
		prev = rank;
	}
	return 1;
}

/* --- output ------------------------------------------------------------ */

static int
actions_out_put(struct sdk_actions *a, const void *s, size_t len)
{
	size_t cap;
	char *p;

	if (len > SIZE_MAX / 4 - a->out_len)
		return -ENOMEM;
	if (a->out_len + len > a->out_cap) {
		cap = a->out_cap > 0 ? a->out_cap : 1024;
		while (cap < a->out_len + len)
			cap *= 2;
		if ((p = realloc(a->out, cap)) == NULL)
			return -ENOMEM;
		a->out = p;
		a->out_cap = cap;
	}
	if (len > 0)
		memcpy(a->out + a->out_len, s, len);
	a->out_len += len;
	return 0;
}

static int
actions_out_str(struct sdk_actions *a, const char *s)
{
	return actions_out_put(a, s, strlen(s));
}

/* Writes "Name: value\r\n". */
static int
actions_out_header(struct sdk_actions *a, const char *name, const char *v,
    size_t len)
{
	if (actions_out_str(a, name) != 0 || actions_out_put(a, ": ", 2) != 0 ||
	    actions_out_put(a, v, len) != 0 || actions_out_put(a, "\r\n", 2))
		return -ENOMEM;
	return 0;
}

static int
actions_encode_header_one(struct sdk_actions *a, const struct sdk_action *act)
{
	char num[32];
	size_t i;
	int n;

	switch (act->type) {
	case SDK_ACTION_SEND:
		return actions_out_str(a, act->binary ?
		    "Content-Type: application/octet-stream\r\n" :
		    "Content-Type: text/plain; charset=utf-8\r\n");
	case SDK_ACTION_ATTACHMENT:
		return actions_out_header(a, "Torpor-Attachment",
		    act->data != NULL ? act->data : "", act->len);
	case SDK_ACTION_TAGS:
		if (actions_out_str(a, "Torpor-Tags: ") != 0)
			return -ENOMEM;
		for (i = 0; i < act->ntags; i++) {
			if ((i > 0 && actions_out_put(a, ",", 1) != 0) ||
			    actions_out_str(a, act->tags[i]) != 0)
				return -ENOMEM;
		}
		return actions_out_put(a, "\r\n", 2);
	case SDK_ACTION_CLOSE:
		n = snprintf(num, sizeof(num), "%d%s", act->code,
		    act->len > 0 ? " " : "");
		if (actions_out_str(a, "Torpor-Close: ") != 0 ||
		    actions_out_put(a, num, (size_t)n) != 0 ||
		    actions_out_put(a, act->data, act->len) != 0)
			return -ENOMEM;
		return actions_out_put(a, "\r\n", 2);
	case SDK_ACTION_ALARM:
		if (act->at < 0)
			return actions_out_header(a, "Torpor-Alarm", "none", 4);
		n = snprintf(num, sizeof(num), "%" PRId64, act->at);
		return actions_out_header(a, "Torpor-Alarm", num, (size_t)n);
	}
	return -EINVAL;
}

static int
actions_encode_headers(struct sdk_actions *a)
{
	size_t i;
	int rc;

	for (i = 0; i < a->n; i++) {
		if ((rc = actions_encode_header_one(a, &a->v[i])) != 0)
			return rc;
	}
	if (actions_out_put(a, "\r\n", 2) != 0)
		return -ENOMEM;
	/* Only the first action can be the frame (its rank is lowest). */
	if (a->n > 0 && a->v[0].type == SDK_ACTION_SEND)
		return actions_out_put(a, a->v[0].data, a->v[0].len);
	return 0;
}

/* --- the actions form (JSON) ------------------------------------------ */

static char *
actions_base64(const unsigned char *in, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Adds the "connection" member unless the target is the sender. */
static int
actions_json_target(cJSON *o, const struct sdk_action *act)
{
	if (act->target != SDK_TARGET_CONNECTION)
		return 0;
	return cJSON_AddStringToObject(o, "connection", act->name) != NULL ?
	    0 : -ENOMEM;
}

static int
actions_json_send(cJSON *o, const struct sdk_action *act)
{
	char *b64;
	cJSON *item;

	if (act->binary) {
		if ((b64 = actions_base64((const unsigned char *)act->data,
		    act->len)) == NULL)
			return -ENOMEM;
		item = cJSON_AddStringToObject(o, "binary", b64);
		free(b64);
	} else
		item = cJSON_AddStringToObject(o, "text", act->data);
	if (item == NULL)
		return -ENOMEM;
	switch (act->target) {
	case SDK_TARGET_SENDER:
		return 0;
	case SDK_TARGET_CONNECTION:
		return actions_json_target(o, act);
	case SDK_TARGET_TAG:
		item = cJSON_AddStringToObject(o, "tag", act->name);
		break;
	case SDK_TARGET_OBJECT:
		item = cJSON_AddTrueToObject(o, "object");
		break;
	}
	if (item == NULL || (act->except != NULL &&
	    cJSON_AddStringToObject(o, "except", act->except) == NULL))
		return -ENOMEM;
	return 0;
}

static int
actions_json_tags(cJSON *o, const struct sdk_action *act)
{
	cJSON *arr, *s;
	size_t i;

	if (actions_json_target(o, act) != 0 ||
	    (arr = cJSON_AddArrayToObject(o, "tags")) == NULL)
		return -ENOMEM;
	for (i = 0; i < act->ntags; i++) {
		if ((s = cJSON_CreateString(act->tags[i])) == NULL)
			return -ENOMEM;
		cJSON_AddItemToArray(arr, s);
	}
	return 0;
}

/* Builds one action's object into o; returns 0 or -ENOMEM. */
static int
actions_json_one(cJSON *o, const struct sdk_action *act)
{
	static const char *const names[] = {
		[SDK_ACTION_SEND] = "send",
		[SDK_ACTION_ATTACHMENT] = "attachment",
		[SDK_ACTION_TAGS] = "tags",
		[SDK_ACTION_CLOSE] = "close",
		[SDK_ACTION_ALARM] = "alarm",
	};
	char num[32];
	cJSON *item;

	if (cJSON_AddStringToObject(o, "action", names[act->type]) == NULL)
		return -ENOMEM;
	switch (act->type) {
	case SDK_ACTION_SEND:
		return actions_json_send(o, act);
	case SDK_ACTION_ATTACHMENT:
		if (actions_json_target(o, act) != 0)
			return -ENOMEM;
		item = act->data != NULL ?
		    cJSON_AddStringToObject(o, "value", act->data) :
		    cJSON_AddNullToObject(o, "value");
		return item != NULL ? 0 : -ENOMEM;
	case SDK_ACTION_TAGS:
		return actions_json_tags(o, act);
	case SDK_ACTION_CLOSE:
		if (actions_json_target(o, act) != 0 ||
		    cJSON_AddNumberToObject(o, "code", act->code) == NULL ||
		    (act->len > 0 &&
		    cJSON_AddStringToObject(o, "reason", act->data) == NULL))
			return -ENOMEM;
		return 0;
	case SDK_ACTION_ALARM:
		/* Raw keeps 64-bit times exact (cJSON numbers are doubles). */
		snprintf(num, sizeof(num), "%" PRId64, act->at);
		item = act->at >= 0 ? cJSON_AddRawToObject(o, "at", num) :
		    cJSON_AddNullToObject(o, "at");
		return item != NULL ? 0 : -ENOMEM;
	}
	return -EINVAL;
}

int
sdk_actions_json(const struct sdk_actions *a, char **text)
{
	cJSON *arr = NULL, *o;
	size_t i;
	int rc = -ENOMEM;

	if ((arr = cJSON_CreateArray()) == NULL)
		goto out;
	for (i = 0; i < a->n; i++) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, o);
		if ((rc = actions_json_one(o, &a->v[i])) != 0)
			goto out;
	}
	rc = (*text = cJSON_PrintUnformatted(arr)) != NULL ? 0 : -ENOMEM;
out:
	cJSON_Delete(arr);
	return rc;
}

static int
actions_encode_json(struct sdk_actions *a)
{
	char *text = NULL;
	int rc;

	if ((rc = sdk_actions_json(a, &text)) != 0)
		return rc;
	if (actions_out_str(a,
	    "Content-Type: application/vnd.torpor+json\r\n\r\n") != 0 ||
	    actions_out_str(a, text) != 0)
		rc = -ENOMEM;
	cJSON_free(text);
	return rc;
}

int
sdk_actions_encode(struct sdk_actions *a, const char **data, size_t *len)
{
	int rc;

	a->out_len = 0;
	if (actions_out_str(a, SDK_OK_HEAD) != 0)
		return -ENOMEM;
	if (sdk_actions_header_form(a))
		rc = actions_encode_headers(a);
	else
		rc = actions_encode_json(a);
	if (rc != 0)
		return rc;
	*data = a->out;
	*len = a->out_len;
	return 0;
}

void
sdk_actions_encode_error(struct sdk_actions *a, const char *what,
    const char *detail, const char **data, size_t *len)
{
	static const char fallback[] = SDK_ERROR_HEAD "out of memory\n";

	a->out_len = 0;
	if (actions_out_str(a, SDK_ERROR_HEAD) != 0 ||
	    actions_out_str(a, what) != 0 ||
	    (detail != NULL && (actions_out_put(a, ": ", 2) != 0 ||
	    actions_out_str(a, detail) != 0)) ||
	    actions_out_put(a, "\n", 1) != 0)
		goto fail;
	*data = a->out;
	*len = a->out_len;
	return;
fail:
	*data = fallback;
	*len = sizeof(fallback) - 1;
}
