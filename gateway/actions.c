/*
 * actions: the action list a response turns into, and the actions form
 * of a response (Content-Type: application/vnd.torpor+json, a JSON array
 * parsed with cJSON; see doc/PROTOCOL.md). response.c parses the header
 * form and the header section; both forms append their actions here,
 * through the same checks (tags, attachment size, close code and reason,
 * UTF-8), so a value the header form refuses is refused as JSON too.
 *
 * Strict like the rest of the response parser: a handler is third-party
 * code, and an unknown key or a mangled payload is an error with a named
 * cause rather than something guessed at.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "actions.h"
#include "response.h"
#include "xmalloc.h"

#define ACTIONS_REASON_MAX	123	/* RFC 6455: 125 minus the code */
#define ACTIONS_JSON_INT_MAX	9007199254740992.0	/* 2^53: exact */

/* --- the checks both forms share -------------------------------------- */

int
actions_fail(struct actions_ctx *ctx, int err, const char *cause)
{
	if (ctx->cause == NULL)
		ctx->cause = cause;
	return err;
}

/* Whether n breaks a limit; 0 means unlimited. */
static int
actions_over(size_t limit, size_t n)
{
	return limit != 0 && n > limit;
}

/*
 * Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
 * a text frame that is not UTF-8 makes the client fail the connection
 * (RFC 6455 1007), so such a frame is the handler's error, caught here.
 */
int
actions_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	uint32_t		 cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1; cp = p[i] & 0x1f; min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2; cp = p[i] & 0x0f; min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3; cp = p[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* The value of one base64 character, or -1. */
static int
actions_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes standard padded base64. Strict: no whitespace, padding only at
 * the end, and unused bits zero, so each payload has one spelling and a
 * truncated or mangled string is an error rather than a shorter frame.
 * Returns 0 and a NUL-terminated copy in *out, or -1.
 */
static int
actions_base64_decode(const char *in, size_t len, char **out,
    size_t *out_len)
{
	unsigned char	*dst = NULL;
	size_t		 pad = 0, n, i, j, o = 0;
	uint32_t	 acc;
	int		 v, err = -1;

	if (len % 4 != 0)
		goto out;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n = len / 4 * 3 - pad;
	dst = xmalloc(n + 1);
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == len && j >= 4 - pad)
				v = 0;
			else if ((v = actions_b64_value((unsigned char)
			    in[i + j])) < 0)
				goto out;
			acc = acc << 6 | (uint32_t)v;
		}
		if (i + 4 == len && pad > 0 &&
		    (acc & (pad == 1 ? 0xffu : 0xffffu)) != 0)
			goto out;
		dst[o++] = (unsigned char)(acc >> 16);
		if (o < n)
			dst[o++] = (unsigned char)(acc >> 8);
		if (o < n)
			dst[o++] = (unsigned char)acc;
	}
	dst[n] = '\0';
	*out = (char *)dst;
	*out_len = n;
	dst = NULL;
	err = 0;
out:
	free(dst);
	return err;
}

/* A tag: visible ASCII without ',' (tags travel comma-separated). */
static int
actions_tag_check(struct actions_ctx *ctx, const char *p, size_t len,
    int bad)
{
	size_t	i;

	if (len == 0)
		return actions_fail(ctx, bad, "empty tag");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e || c == ',')
			return actions_fail(ctx, bad,
			    "tag has a byte other than visible ASCII or a ','");
	}
	if (actions_over(ctx->limits->max_tag_len, len))
		return actions_fail(ctx, RESPONSE_ELIMIT, "tag too long");
	return 0;
}

/* A connection id: non-empty visible ASCII (the gateway's are UUIDs). */
static int
actions_id_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	}
	return i > 0;
}

int
actions_close_code_valid(int64_t code)
{
	return code == 1000 || (code >= 3000 && code <= 4999);
}

/* Checks a close reason, which must fit in a close frame. */
int
actions_reason_check(struct actions_ctx *ctx, const char *p, size_t len,
    int bad)
{
	if (len > ACTIONS_REASON_MAX)
		return actions_fail(ctx, bad,
		    "close reason longer than 123 bytes");
	if (!actions_utf8_valid(p, len))
		return actions_fail(ctx, bad, "close reason is not UTF-8");
	return 0;
}

/* Appends a zeroed action and returns it; the response owns it. */
struct action *
actions_push(struct actions_ctx *ctx, enum action_type type,
    enum action_target target)
{
	struct response	*r = ctx->r;
	struct action	*a;

	if (r->nactions == ctx->cap) {
		ctx->cap = ctx->cap ? ctx->cap * 2 : 4;
		r->actions = xrealloc(r->actions,
		    ctx->cap * sizeof *r->actions);
	}
	a = &r->actions[r->nactions++];
	memset(a, 0, sizeof *a);
	a->type = type;
	a->target = target;
	return a;
}

/* Appends a tag to a TAGS action, enforcing the count limit. */
int
actions_tags_add(struct actions_ctx *ctx, struct action *a, const char *p,
    size_t len, int bad)
{
	int	err;

	if ((err = actions_tag_check(ctx, p, len, bad)) != 0)
		return err;
	if (actions_over(ctx->limits->max_tags, a->ntags + 1))
		return actions_fail(ctx, RESPONSE_ELIMIT, "too many tags");
	a->tags = xrealloc(a->tags, (a->ntags + 1) * sizeof *a->tags);
	a->tags[a->ntags++] = xstrndup(p, len);
	return 0;
}

/* Sets an ATTACHMENT action's value; empty or NULL clears it. */
int
actions_attachment_set(struct actions_ctx *ctx, struct action *a,
    const char *p, size_t len)
{
	if (actions_over(ctx->limits->max_attachment, len))
		return actions_fail(ctx, RESPONSE_ELIMIT,
		    "attachment too large");
	if (p != NULL && len > 0) {
		a->data = xstrndup(p, len);
		a->len = len;
	}
	return 0;
}

/* --- the actions form ------------------------------------------------- */

/* Every key an action may have; each kind allows a subset. */
enum actions_key {
	KEY_ACTION,
	KEY_TEXT,
	KEY_BINARY,
	KEY_CONNECTION,
	KEY_TAG,
	KEY_OBJECT,
	KEY_EXCEPT,
	KEY_CODE,
	KEY_REASON,
	KEY_VALUE,
	KEY_TAGS,
	KEY_AT,
	KEY_IN,
	KEY_COUNT
};

static const char *const actions_keys[KEY_COUNT] = {
	[KEY_ACTION] = "action", [KEY_TEXT] = "text",
	[KEY_BINARY] = "binary", [KEY_CONNECTION] = "connection",
	[KEY_TAG] = "tag", [KEY_OBJECT] = "object", [KEY_EXCEPT] = "except",
	[KEY_CODE] = "code", [KEY_REASON] = "reason", [KEY_VALUE] = "value",
	[KEY_TAGS] = "tags", [KEY_AT] = "at", [KEY_IN] = "in",
};

#define K(k)	(1u << (k))

/* A JSON number that is a whole number in [min, max]. Returns 0 or -1. */
static int
actions_json_int(const cJSON *item, double min, double max, int64_t *out)
{
	double	d;

	if (!cJSON_IsNumber(item))
		return -1;
	d = item->valuedouble;
	/* The range test also rejects NaN; then the cast is defined. */
	if (!(d >= min && d <= max) || (double)(int64_t)d != d)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/* Optional "connection": sets the target of a per-connection action. */
static int
actions_json_conn(struct actions_ctx *ctx, const cJSON *item,
    struct action *a)
{
	if (item == NULL)
		return 0;
	if (!cJSON_IsString(item) || !actions_id_valid(item->valuestring))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "\"connection\" is not a connection id");
	a->target = TARGET_CONNECTION;
	a->target_name = xstrdup(item->valuestring);
	return 0;
}

static int
actions_json_send(struct actions_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const char	*s;
	int		 object, err;

	if ((f[KEY_TEXT] == NULL) == (f[KEY_BINARY] == NULL))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "send needs exactly one of \"text\" and \"binary\"");
	if (f[KEY_OBJECT] != NULL && !cJSON_IsBool(f[KEY_OBJECT]))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "\"object\" is not a boolean");
	object = cJSON_IsTrue(f[KEY_OBJECT]);
	if ((f[KEY_CONNECTION] != NULL) + (f[KEY_TAG] != NULL) + object > 1)
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "send has more than one target");
	if (f[KEY_EXCEPT] != NULL && f[KEY_TAG] == NULL && !object)
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "\"except\" without \"tag\" or \"object\"");
	a = actions_push(ctx, ACTION_SEND, TARGET_SENDER);
	if ((err = actions_json_conn(ctx, f[KEY_CONNECTION], a)) != 0)
		return err;
	if (f[KEY_TAG] != NULL) {
		if (!cJSON_IsString(f[KEY_TAG]))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "\"tag\" is not a string");
		s = f[KEY_TAG]->valuestring;
		if ((err = actions_tag_check(ctx, s, strlen(s),
		    RESPONSE_EACTIONS)) != 0)
			return err;
		a->target = TARGET_TAG;
		a->target_name = xstrdup(s);
	} else if (object)
		a->target = TARGET_OBJECT;
	if (f[KEY_EXCEPT] != NULL) {
		if (!cJSON_IsString(f[KEY_EXCEPT]) ||
		    !actions_id_valid(f[KEY_EXCEPT]->valuestring))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "\"except\" is not a connection id");
		a->except = xstrdup(f[KEY_EXCEPT]->valuestring);
	}
	if (f[KEY_TEXT] != NULL) {
		if (!cJSON_IsString(f[KEY_TEXT]))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "\"text\" is not a string");
		s = f[KEY_TEXT]->valuestring;
		a->len = strlen(s);
		if (!actions_utf8_valid(s, a->len))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "\"text\" is not UTF-8");
		a->data = xstrdup(s);
		return 0;
	}
	a->binary = 1;
	if (!cJSON_IsString(f[KEY_BINARY]) ||
	    actions_base64_decode(f[KEY_BINARY]->valuestring,
	    strlen(f[KEY_BINARY]->valuestring), &a->data, &a->len) != 0)
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "\"binary\" is not base64");
	return 0;
}

static int
actions_json_close(struct actions_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const char	*reason = "";
	int64_t		 code = 1000;
	int		 err;

	if (f[KEY_CODE] != NULL &&
	    (actions_json_int(f[KEY_CODE], 0, 9999, &code) != 0 ||
	    !actions_close_code_valid(code)))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "close \"code\" is not 1000 or 3000-4999");
	if (f[KEY_REASON] != NULL) {
		if (!cJSON_IsString(f[KEY_REASON]))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "close \"reason\" is not a string");
		reason = f[KEY_REASON]->valuestring;
		if ((err = actions_reason_check(ctx, reason, strlen(reason),
		    RESPONSE_EACTIONS)) != 0)
			return err;
	}
	a = actions_push(ctx, ACTION_CLOSE, TARGET_SENDER);
	a->close_code = (int)code;
	a->reason = xstrdup(reason);
	return actions_json_conn(ctx, f[KEY_CONNECTION], a);
}

static int
actions_json_attachment(struct actions_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const cJSON	*v = f[KEY_VALUE];
	int		 err;

	if (v == NULL || (!cJSON_IsString(v) && !cJSON_IsNull(v)))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "attachment \"value\" is not a string or null");
	a = actions_push(ctx, ACTION_ATTACHMENT, TARGET_SENDER);
	if ((err = actions_json_conn(ctx, f[KEY_CONNECTION], a)) != 0)
		return err;
	if (cJSON_IsNull(v))
		return 0;
	return actions_attachment_set(ctx, a, v->valuestring,
	    strlen(v->valuestring));
}

static int
actions_json_tags(struct actions_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const cJSON	*t;
	int		 err;

	if (!cJSON_IsArray(f[KEY_TAGS]))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "\"tags\" is not an array");
	a = actions_push(ctx, ACTION_TAGS, TARGET_SENDER);
	if ((err = actions_json_conn(ctx, f[KEY_CONNECTION], a)) != 0)
		return err;
	cJSON_ArrayForEach(t, f[KEY_TAGS]) {
		if (!cJSON_IsString(t))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "a tag is not a string");
		err = actions_tags_add(ctx, a, t->valuestring,
		    strlen(t->valuestring), RESPONSE_EACTIONS);
		if (err != 0)
			return err;
	}
	return 0;
}

static int
actions_json_alarm(struct actions_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	int64_t		 ms;

	if ((f[KEY_AT] == NULL) == (f[KEY_IN] == NULL))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "alarm needs exactly one of \"at\" and \"in\"");
	if (f[KEY_AT] != NULL && cJSON_IsNull(f[KEY_AT]))
		ms = -1;
	else if (f[KEY_AT] != NULL) {
		if (actions_json_int(f[KEY_AT], 0, ACTIONS_JSON_INT_MAX,
		    &ms) != 0)
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "alarm \"at\" is not a time in ms or null");
	} else {
		if (actions_json_int(f[KEY_IN], 0, ACTIONS_JSON_INT_MAX,
		    &ms) != 0 ||
		    ms > INT64_MAX - (ctx->now_ms > 0 ? ctx->now_ms : 0))
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "alarm \"in\" is not a delay in ms");
		ms += ctx->now_ms;
	}
	a = actions_push(ctx, ACTION_ALARM, TARGET_OBJECT);
	a->alarm_ms = ms;
	return 0;
}

/*
 * Unknown keys are errors, not ignored: a misspelt "conection" would
 * otherwise send a private frame to the event's own connection.
 */
static const struct {
	const char		*name;
	unsigned		 keys;
	int			(*parse)(struct actions_ctx *,
				    const cJSON *const *);
} actions_kinds[] = {
	{ "send", K(KEY_TEXT) | K(KEY_BINARY) | K(KEY_CONNECTION) |
	    K(KEY_TAG) | K(KEY_OBJECT) | K(KEY_EXCEPT), actions_json_send },
	{ "close", K(KEY_CONNECTION) | K(KEY_CODE) | K(KEY_REASON),
	    actions_json_close },
	{ "attachment", K(KEY_CONNECTION) | K(KEY_VALUE),
	    actions_json_attachment },
	{ "tags", K(KEY_CONNECTION) | K(KEY_TAGS), actions_json_tags },
	{ "alarm", K(KEY_AT) | K(KEY_IN), actions_json_alarm },
};

/* One element of the actions array. */
static int
actions_json_action(struct actions_ctx *ctx, const cJSON *obj)
{
	const cJSON	*f[KEY_COUNT] = { NULL };
	const cJSON	*item;
	unsigned	 present = 0;
	size_t		 i, k;

	if (!cJSON_IsObject(obj))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "action is not an object");
	cJSON_ArrayForEach(item, obj) {
		for (k = 0; k < KEY_COUNT; k++) {
			if (strcmp(item->string, actions_keys[k]) == 0)
				break;
		}
		if (k == KEY_COUNT)
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "unknown key in action");
		if (f[k] != NULL)
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "duplicate key in action");
		f[k] = item;
		present |= K(k);
	}
	if (!cJSON_IsString(f[KEY_ACTION]))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "action has no \"action\" string");
	for (i = 0; i < sizeof actions_kinds / sizeof actions_kinds[0]; i++) {
		if (strcmp(f[KEY_ACTION]->valuestring,
		    actions_kinds[i].name) != 0)
			continue;
		if ((present & ~(actions_kinds[i].keys | K(KEY_ACTION))) != 0)
			return actions_fail(ctx, RESPONSE_EACTIONS,
			    "key not allowed for this action");
		return actions_kinds[i].parse(ctx, f);
	}
	return actions_fail(ctx, RESPONSE_EACTIONS, "unknown action");
}

int
actions_parse_array(struct actions_ctx *ctx, const cJSON *array)
{
	const cJSON	*item;
	int		 err;

	if (!cJSON_IsArray(array))
		return actions_fail(ctx, RESPONSE_EACTIONS,
		    "actions are not a JSON array");
	cJSON_ArrayForEach(item, array) {
		if ((err = actions_json_action(ctx, item)) != 0)
			return err;
	}
	return 0;
}

int
actions_parse(struct actions_ctx *ctx, const char *body, size_t len)
{
	cJSON		*root;
	const cJSON	*item;
	const char	*end = NULL;
	int		 err = 0;

	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL || !cJSON_IsArray(root)) {
		err = actions_fail(ctx, RESPONSE_EACTIONS,
		    "actions body is not a JSON array");
		goto out;
	}
	/* cJSON stops after the value; anything but whitespace is junk. */
	for (; end < body + len; end++) {
		if (!strchr(" \t\r\n", *end) || *end == '\0') {
			err = actions_fail(ctx, RESPONSE_EACTIONS,
			    "junk after the actions array");
			goto out;
		}
	}
	cJSON_ArrayForEach(item, root) {
		if ((err = actions_json_action(ctx, item)) != 0)
			goto out;
	}
out:
	cJSON_Delete(root);
	return err;
}
