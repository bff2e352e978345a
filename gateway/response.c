/*
 * response: a handler's CGI response -> the ordered list of actions the
 * gateway applies. Two forms, both in doc/PROTOCOL.md: the header form
 * (Status, Content-Type, body frame, Torpor-* headers) for the common
 * case, and the actions form (a JSON array) for everything else. The
 * parser is strict on purpose: a handler is third-party code, and a typo
 * that silently sent a frame to the wrong socket would be worse than an
 * error the gateway logs (with the cause named here) and closes on.
 *
 * Parsing happens in two steps for the header form: the header lines are
 * collected first, then turned into actions in the documented order
 * (body frame, attachment, tags, close, alarm), whatever order the
 * handler wrote them in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "response.h"
#include "xmalloc.h"

/* The response and what response_reason needs, in one allocation. */
struct response_full {
	struct response	 pub;		/* first: response_free casts back */
	char		*reason;	/* Status reason phrase, or NULL */
	size_t		 cap;		/* allocated actions */
};

/* What one parse needs to carry between helpers. */
struct response_ctx {
	const struct response_limits	*limits;
	int64_t				 now_ms;
	struct response_full		*rf;
	const char			*cause;
};

/* The headers the gateway understands; everything else is ignored. */
enum response_hdr {
	HDR_STATUS,
	HDR_CONTENT_TYPE,
	HDR_ATTACHMENT,
	HDR_TAGS,
	HDR_CLOSE,
	HDR_ALARM,
	HDR_BATCH,
	HDR_COUNT
};

static const struct {
	const char	*name;
	const char	*dup;	/* cause when the header appears twice */
} response_hdrs[HDR_COUNT] = {
	[HDR_STATUS] = { "Status", "Status twice" },
	[HDR_CONTENT_TYPE] = { "Content-Type", "Content-Type twice" },
	[HDR_ATTACHMENT] = { "Torpor-Attachment", "Torpor-Attachment twice" },
	[HDR_TAGS] = { "Torpor-Tags", "Torpor-Tags twice" },
	[HDR_CLOSE] = { "Torpor-Close", "Torpor-Close twice" },
	[HDR_ALARM] = { "Torpor-Alarm", "Torpor-Alarm twice" },
	[HDR_BATCH] = { "Torpor-Batch", "Torpor-Batch twice" },
};

/* A header value: points into the caller's data, trimmed, not NUL-ended. */
struct response_value {
	const char	*p;
	size_t		 len;
	int		 set;
};

/* What the body of the response is, from Content-Type. */
enum response_body {
	BODY_TEXT,
	BODY_BINARY,
	BODY_ACTIONS,
};

#define RESPONSE_REASON_MAX	123	/* RFC 6455: 125 minus the code */
#define RESPONSE_JSON_INT_MAX	9007199254740992.0	/* 2^53: exact */

static int
response_fail(struct response_ctx *ctx, int err, const char *cause)
{
	if (ctx->cause == NULL)
		ctx->cause = cause;
	return err;
}

/* Whether n breaks a limit; 0 means unlimited. */
static int
response_over(size_t limit, size_t n)
{
	return limit != 0 && n > limit;
}

static int
response_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* An RFC 7230 token: what header names and media types are made of. */
static int
response_is_token(const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') &&
		    (c == '\0' || strchr("!#$%&'*+-.^_`|~", c) == NULL))
			return 0;
	}
	return len > 0;
}

/* Case-insensitive comparison of p[0..len) with a NUL-terminated word. */
static int
response_word_eq(const char *p, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

/* Strips spaces and tabs from both ends of p[0..*len). */
static const char *
response_trim(const char *p, size_t *len)
{
	while (*len > 0 && response_is_ows(p[0])) {
		p++;
		(*len)--;
	}
	while (*len > 0 && response_is_ows(p[*len - 1]))
		(*len)--;
	return p;
}

/* Decimal digits only, no sign, at most max. Returns 0 or -1. */
static int
response_parse_uint(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
 * a text frame that is not UTF-8 makes the client fail the connection
 * (RFC 6455 1007), so such a frame is the handler's error, caught here.
 */
static int
response_utf8_valid(const char *s, size_t len)
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
response_b64_value(unsigned char c)
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
response_base64_decode(const char *in, size_t len, char **out,
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
			else if ((v = response_b64_value((unsigned char)
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
response_tag_check(struct response_ctx *ctx, const char *p, size_t len,
    int bad)
{
	size_t	i;

	if (len == 0)
		return response_fail(ctx, bad, "empty tag");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e || c == ',')
			return response_fail(ctx, bad,
			    "tag has a byte other than visible ASCII or a ','");
	}
	if (response_over(ctx->limits->max_tag_len, len))
		return response_fail(ctx, RESPONSE_ELIMIT, "tag too long");
	return 0;
}

/* A connection id: non-empty visible ASCII (the gateway's are UUIDs). */
static int
response_id_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	}
	return i > 0;
}

static int
response_close_code_valid(int64_t code)
{
	return code == 1000 || (code >= 3000 && code <= 4999);
}

/* Checks a close reason, which must fit in a close frame. */
static int
response_reason_check(struct response_ctx *ctx, const char *p, size_t len,
    int bad)
{
	if (len > RESPONSE_REASON_MAX)
		return response_fail(ctx, bad,
		    "close reason longer than 123 bytes");
	if (!response_utf8_valid(p, len))
		return response_fail(ctx, bad, "close reason is not UTF-8");
	return 0;
}

/* Appends a zeroed action and returns it; the response owns it. */
static struct action *
response_push(struct response_ctx *ctx, enum action_type type,
    enum action_target target)
{
	struct response_full	*rf = ctx->rf;
	struct action		*a;

	if (rf->pub.nactions == rf->cap) {
		rf->cap = rf->cap ? rf->cap * 2 : 4;
		rf->pub.actions = xrealloc(rf->pub.actions,
		    rf->cap * sizeof *rf->pub.actions);
	}
	a = &rf->pub.actions[rf->pub.nactions++];
	memset(a, 0, sizeof *a);
	a->type = type;
	a->target = target;
	return a;
}

/* Appends a tag to a TAGS action, enforcing the count limit. */
static int
response_tags_add(struct response_ctx *ctx, struct action *a, const char *p,
    size_t len, int bad)
{
	int	err;

	if ((err = response_tag_check(ctx, p, len, bad)) != 0)
		return err;
	if (response_over(ctx->limits->max_tags, a->ntags + 1))
		return response_fail(ctx, RESPONSE_ELIMIT, "too many tags");
	a->tags = xrealloc(a->tags, (a->ntags + 1) * sizeof *a->tags);
	a->tags[a->ntags++] = xstrndup(p, len);
	return 0;
}

/* Sets an ATTACHMENT action's value; empty or NULL clears it. */
static int
response_attachment_set(struct response_ctx *ctx, struct action *a,
    const char *p, size_t len)
{
	if (response_over(ctx->limits->max_attachment, len))
		return response_fail(ctx, RESPONSE_ELIMIT,
		    "attachment too large");
	if (p != NULL && len > 0) {
		a->data = xstrndup(p, len);
		a->len = len;
	}
	return 0;
}

/* --- header form ------------------------------------------------------- */

/* Parses one "Name: value" line into vals, if the name is ours. */
static int
response_header_line(struct response_ctx *ctx, const char *p, size_t len,
    struct response_value *vals)
{
	const char	*colon, *v;
	size_t		 nlen, vlen, i;

	colon = memchr(p, ':', len);
	if (colon == NULL)
		return response_fail(ctx, RESPONSE_EHEADER,
		    "header line without ':'");
	nlen = (size_t)(colon - p);
	if (!response_is_token(p, nlen))
		return response_fail(ctx, RESPONSE_EHEADER,
		    "malformed header name");
	vlen = len - nlen - 1;
	v = response_trim(colon + 1, &vlen);
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return response_fail(ctx, RESPONSE_EHEADER,
			    "control character in header value");
	}
	for (i = 0; i < HDR_COUNT; i++) {
		if (!response_word_eq(p, nlen, response_hdrs[i].name))
			continue;
		if (vals[i].set)
			return response_fail(ctx, RESPONSE_EHEADER,
			    response_hdrs[i].dup);
		vals[i].p = v;
		vals[i].len = vlen;
		vals[i].set = 1;
		break;
	}
	return 0;
}

/*
 * Splits the header section from the body. Each line ends with "\n" or
 * "\r\n"; the first empty line ends the headers.
 */
static int
response_headers(struct response_ctx *ctx, const char *data, size_t len,
    struct response_value *vals, const char **body, size_t *body_len)
{
	const char	*nl;
	size_t		 pos = 0, end, line_len;
	int		 err;

	for (;;) {
		nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL)
			return response_fail(ctx, RESPONSE_EHEADER,
			    "header section not ended by an empty line");
		end = (size_t)(nl - data);
		line_len = end - pos;
		if (line_len > 0 && data[end - 1] == '\r')
			line_len--;
		if (line_len == 0)
			break;
		if (response_is_ows(data[pos]))
			return response_fail(ctx, RESPONSE_EHEADER,
			    "folded header line");
		err = response_header_line(ctx, data + pos, line_len, vals);
		if (err != 0)
			return err;
		pos = end + 1;
	}
	*body = data + end + 1;
	*body_len = len - end - 1;
	return 0;
}

/* "NNN" or "NNN reason". */
static int
response_status(struct response_ctx *ctx, const struct response_value *v)
{
	uint64_t	 code;
	const char	*reason;
	size_t		 rlen;

	if (!v->set)
		return 0;
	if (v->len < 3 || response_parse_uint(v->p, 3, 999, &code) != 0 ||
	    (v->len > 3 && !response_is_ows(v->p[3])))
		return response_fail(ctx, RESPONSE_ESTATUS,
		    "Status does not start with a 3-digit code");
	if (code < 100 || code > 599)
		return response_fail(ctx, RESPONSE_ESTATUS,
		    "Status code out of range 100-599");
	ctx->rf->pub.status = (int)code;
	rlen = v->len - 3;
	reason = response_trim(v->p + 3, &rlen);
	if (rlen > 0)
		ctx->rf->reason = xstrndup(reason, rlen);
	return 0;
}

/* Classifies the body by media type; parameters (charset...) are ignored. */
static int
response_content_type(struct response_ctx *ctx,
    const struct response_value *v, enum response_body *kind)
{
	const char	*p = v->p, *semi, *slash, *sub;
	size_t		 len = v->len, tlen, slen;

	*kind = BODY_TEXT;
	if (!v->set)
		return 0;
	semi = memchr(p, ';', len);
	if (semi != NULL)
		len = (size_t)(semi - p);
	p = response_trim(p, &len);
	slash = memchr(p, '/', len);
	if (slash == NULL)
		return response_fail(ctx, RESPONSE_EHEADER,
		    "Content-Type is not type/subtype");
	tlen = (size_t)(slash - p);
	sub = slash + 1;
	slen = len - tlen - 1;
	if (!response_is_token(p, tlen) || !response_is_token(sub, slen))
		return response_fail(ctx, RESPONSE_EHEADER,
		    "Content-Type is not type/subtype");
	if (response_word_eq(p, tlen, "application") &&
	    response_word_eq(sub, slen, "vnd.torpor+json"))
		*kind = BODY_ACTIONS;
	else if (response_word_eq(p, tlen, "text") ||
	    (response_word_eq(p, tlen, "application") &&
	    response_word_eq(sub, slen, "json")) ||
	    (slen >= 5 && response_word_eq(sub + slen - 5, 5, "+json")))
		*kind = BODY_TEXT;
	else
		*kind = BODY_BINARY;
	return 0;
}

/* The body, when it is a frame to the sender. */
static int
response_body_frame(struct response_ctx *ctx, const char *body, size_t len,
    enum response_body kind)
{
	struct action	*a;

	if (len == 0 || kind == BODY_ACTIONS)
		return 0;
	if (kind == BODY_TEXT && !response_utf8_valid(body, len))
		return response_fail(ctx, RESPONSE_EVALUE,
		    "text body is not UTF-8");
	a = response_push(ctx, ACTION_SEND, TARGET_SENDER);
	a->data = xmalloc(len + 1);
	memcpy(a->data, body, len);
	a->data[len] = '\0';
	a->len = len;
	a->binary = kind == BODY_BINARY;
	return 0;
}

/* "a,b,c": optional whitespace around each tag; "" clears the tags. */
static int
response_hdr_tags(struct response_ctx *ctx, const struct response_value *v)
{
	struct action	*a;
	const char	*p = v->p, *comma, *t;
	size_t		 left = v->len, tlen;
	int		 err;

	a = response_push(ctx, ACTION_TAGS, TARGET_SENDER);
	while (left > 0) {
		comma = memchr(p, ',', left);
		tlen = comma != NULL ? (size_t)(comma - p) : left;
		t = response_trim(p, &tlen);
		if ((err = response_tags_add(ctx, a, t, tlen,
		    RESPONSE_EVALUE)) != 0)
			return err;
		if (comma == NULL)
			break;
		left -= (size_t)(comma - p) + 1;
		p = comma + 1;
		/* "a," ends with an empty tag, which is refused too. */
		if (left == 0)
			return response_fail(ctx, RESPONSE_EVALUE, "empty tag");
	}
	return 0;
}

/* "CODE" or "CODE REASON". */
static int
response_hdr_close(struct response_ctx *ctx, const struct response_value *v)
{
	struct action	*a;
	const char	*reason;
	uint64_t	 code;
	size_t		 clen = 0, rlen;
	int		 err;

	while (clen < v->len && !response_is_ows(v->p[clen]))
		clen++;
	if (response_parse_uint(v->p, clen, 9999, &code) != 0 ||
	    !response_close_code_valid((int64_t)code))
		return response_fail(ctx, RESPONSE_EVALUE,
		    "Torpor-Close code is not 1000 or 3000-4999");
	rlen = v->len - clen;
	reason = response_trim(v->p + clen, &rlen);
	if ((err = response_reason_check(ctx, reason, rlen,
	    RESPONSE_EVALUE)) != 0)
		return err;
	a = response_push(ctx, ACTION_CLOSE, TARGET_SENDER);
	a->close_code = (int)code;
	a->reason = xstrndup(reason, rlen);
	return 0;
}

/* "MS", "+MS" or "none". */
static int
response_hdr_alarm(struct response_ctx *ctx, const struct response_value *v)
{
	struct action	*a;
	uint64_t	 ms;
	int64_t		 base = 0;
	size_t		 skip = 0;

	a = response_push(ctx, ACTION_ALARM, TARGET_OBJECT);
	a->alarm_ms = -1;
	if (response_word_eq(v->p, v->len, "none"))
		return 0;
	if (v->len > 0 && v->p[0] == '+') {
		base = ctx->now_ms;
		skip = 1;
	}
	/* The bound keeps base + ms from overflowing. */
	if (response_parse_uint(v->p + skip, v->len - skip,
	    (uint64_t)(INT64_MAX - (base > 0 ? base : 0)), &ms) != 0)
		return response_fail(ctx, RESPONSE_EVALUE,
		    "Torpor-Alarm is not MS, +MS or none");
	a->alarm_ms = base + (int64_t)ms;
	return 0;
}

/* Turns the collected headers into actions, in the documented order. */
static int
response_header_actions(struct response_ctx *ctx,
    const struct response_value *vals, const char *body, size_t body_len,
    enum response_body kind)
{
	const struct response_value	*v;
	struct action			*a;
	uint64_t			 n;
	int				 err;

	if ((err = response_body_frame(ctx, body, body_len, kind)) != 0)
		return err;
	v = &vals[HDR_ATTACHMENT];
	if (v->set) {
		a = response_push(ctx, ACTION_ATTACHMENT, TARGET_SENDER);
		if ((err = response_attachment_set(ctx, a, v->p, v->len)) != 0)
			return err;
	}
	if (vals[HDR_TAGS].set &&
	    (err = response_hdr_tags(ctx, &vals[HDR_TAGS])) != 0)
		return err;
	if (vals[HDR_CLOSE].set &&
	    (err = response_hdr_close(ctx, &vals[HDR_CLOSE])) != 0)
		return err;
	if (vals[HDR_ALARM].set &&
	    (err = response_hdr_alarm(ctx, &vals[HDR_ALARM])) != 0)
		return err;
	v = &vals[HDR_BATCH];
	if (v->set) {
		if (response_parse_uint(v->p, v->len, INT32_MAX, &n) != 0)
			return response_fail(ctx, RESPONSE_EVALUE,
			    "Torpor-Batch is not a count");
		ctx->rf->pub.batch = (int)n;
	}
	return 0;
}

/* --- actions form ---------------------------------------------------- */

/* Every key an action may have; each kind allows a subset. */
enum response_key {
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

static const char *const response_keys[KEY_COUNT] = {
	[KEY_ACTION] = "action", [KEY_TEXT] = "text",
	[KEY_BINARY] = "binary", [KEY_CONNECTION] = "connection",
	[KEY_TAG] = "tag", [KEY_OBJECT] = "object", [KEY_EXCEPT] = "except",
	[KEY_CODE] = "code", [KEY_REASON] = "reason", [KEY_VALUE] = "value",
	[KEY_TAGS] = "tags", [KEY_AT] = "at", [KEY_IN] = "in",
};

#define K(k)	(1u << (k))

/* A JSON number that is a whole number in [min, max]. Returns 0 or -1. */
static int
response_json_int(const cJSON *item, double min, double max, int64_t *out)
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
response_json_conn(struct response_ctx *ctx, const cJSON *item,
    struct action *a)
{
	if (item == NULL)
		return 0;
	if (!cJSON_IsString(item) || !response_id_valid(item->valuestring))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "\"connection\" is not a connection id");
	a->target = TARGET_CONNECTION;
	a->target_name = xstrdup(item->valuestring);
	return 0;
}

static int
response_json_send(struct response_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const char	*s;
	int		 object, err;

	if ((f[KEY_TEXT] == NULL) == (f[KEY_BINARY] == NULL))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "send needs exactly one of \"text\" and \"binary\"");
	if (f[KEY_OBJECT] != NULL && !cJSON_IsBool(f[KEY_OBJECT]))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "\"object\" is not a boolean");
	object = cJSON_IsTrue(f[KEY_OBJECT]);
	if ((f[KEY_CONNECTION] != NULL) + (f[KEY_TAG] != NULL) + object > 1)
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "send has more than one target");
	if (f[KEY_EXCEPT] != NULL && f[KEY_TAG] == NULL && !object)
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "\"except\" without \"tag\" or \"object\"");
	a = response_push(ctx, ACTION_SEND, TARGET_SENDER);
	if ((err = response_json_conn(ctx, f[KEY_CONNECTION], a)) != 0)
		return err;
	if (f[KEY_TAG] != NULL) {
		if (!cJSON_IsString(f[KEY_TAG]))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "\"tag\" is not a string");
		s = f[KEY_TAG]->valuestring;
		if ((err = response_tag_check(ctx, s, strlen(s),
		    RESPONSE_EACTIONS)) != 0)
			return err;
		a->target = TARGET_TAG;
		a->target_name = xstrdup(s);
	} else if (object)
		a->target = TARGET_OBJECT;
	if (f[KEY_EXCEPT] != NULL) {
		if (!cJSON_IsString(f[KEY_EXCEPT]) ||
		    !response_id_valid(f[KEY_EXCEPT]->valuestring))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "\"except\" is not a connection id");
		a->except = xstrdup(f[KEY_EXCEPT]->valuestring);
	}
	if (f[KEY_TEXT] != NULL) {
		if (!cJSON_IsString(f[KEY_TEXT]))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "\"text\" is not a string");
		s = f[KEY_TEXT]->valuestring;
		a->len = strlen(s);
		if (!response_utf8_valid(s, a->len))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "\"text\" is not UTF-8");
		a->data = xstrdup(s);
		return 0;
	}
	a->binary = 1;
	if (!cJSON_IsString(f[KEY_BINARY]) ||
	    response_base64_decode(f[KEY_BINARY]->valuestring,
	    strlen(f[KEY_BINARY]->valuestring), &a->data, &a->len) != 0)
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "\"binary\" is not base64");
	return 0;
}

static int
response_json_close(struct response_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const char	*reason = "";
	int64_t		 code = 1000;
	int		 err;

	if (f[KEY_CODE] != NULL &&
	    (response_json_int(f[KEY_CODE], 0, 9999, &code) != 0 ||
	    !response_close_code_valid(code)))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "close \"code\" is not 1000 or 3000-4999");
	if (f[KEY_REASON] != NULL) {
		if (!cJSON_IsString(f[KEY_REASON]))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "close \"reason\" is not a string");
		reason = f[KEY_REASON]->valuestring;
		if ((err = response_reason_check(ctx, reason, strlen(reason),
		    RESPONSE_EACTIONS)) != 0)
			return err;
	}
	a = response_push(ctx, ACTION_CLOSE, TARGET_SENDER);
	a->close_code = (int)code;
	a->reason = xstrdup(reason);
	return response_json_conn(ctx, f[KEY_CONNECTION], a);
}

static int
response_json_attachment(struct response_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const cJSON	*v = f[KEY_VALUE];
	int		 err;

	if (v == NULL || (!cJSON_IsString(v) && !cJSON_IsNull(v)))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "attachment \"value\" is not a string or null");
	a = response_push(ctx, ACTION_ATTACHMENT, TARGET_SENDER);
	if ((err = response_json_conn(ctx, f[KEY_CONNECTION], a)) != 0)
		return err;
	if (cJSON_IsNull(v))
		return 0;
	return response_attachment_set(ctx, a, v->valuestring,
	    strlen(v->valuestring));
}

static int
response_json_tags(struct response_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	const cJSON	*t;
	int		 err;

	if (!cJSON_IsArray(f[KEY_TAGS]))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "\"tags\" is not an array");
	a = response_push(ctx, ACTION_TAGS, TARGET_SENDER);
	if ((err = response_json_conn(ctx, f[KEY_CONNECTION], a)) != 0)
		return err;
	cJSON_ArrayForEach(t, f[KEY_TAGS]) {
		if (!cJSON_IsString(t))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "a tag is not a string");
		err = response_tags_add(ctx, a, t->valuestring,
		    strlen(t->valuestring), RESPONSE_EACTIONS);
		if (err != 0)
			return err;
	}
	return 0;
}

static int
response_json_alarm(struct response_ctx *ctx, const cJSON *const *f)
{
	struct action	*a;
	int64_t		 ms;

	if ((f[KEY_AT] == NULL) == (f[KEY_IN] == NULL))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "alarm needs exactly one of \"at\" and \"in\"");
	if (f[KEY_AT] != NULL && cJSON_IsNull(f[KEY_AT]))
		ms = -1;
	else if (f[KEY_AT] != NULL) {
		if (response_json_int(f[KEY_AT], 0, RESPONSE_JSON_INT_MAX,
		    &ms) != 0)
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "alarm \"at\" is not a time in ms or null");
	} else {
		if (response_json_int(f[KEY_IN], 0, RESPONSE_JSON_INT_MAX,
		    &ms) != 0 ||
		    ms > INT64_MAX - (ctx->now_ms > 0 ? ctx->now_ms : 0))
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "alarm \"in\" is not a delay in ms");
		ms += ctx->now_ms;
	}
	a = response_push(ctx, ACTION_ALARM, TARGET_OBJECT);
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
	int			(*parse)(struct response_ctx *,
				    const cJSON *const *);
} response_kinds[] = {
	{ "send", K(KEY_TEXT) | K(KEY_BINARY) | K(KEY_CONNECTION) |
	    K(KEY_TAG) | K(KEY_OBJECT) | K(KEY_EXCEPT), response_json_send },
	{ "close", K(KEY_CONNECTION) | K(KEY_CODE) | K(KEY_REASON),
	    response_json_close },
	{ "attachment", K(KEY_CONNECTION) | K(KEY_VALUE),
	    response_json_attachment },
	{ "tags", K(KEY_CONNECTION) | K(KEY_TAGS), response_json_tags },
	{ "alarm", K(KEY_AT) | K(KEY_IN), response_json_alarm },
};

/* One element of the actions array. */
static int
response_json_action(struct response_ctx *ctx, const cJSON *obj)
{
	const cJSON	*f[KEY_COUNT] = { NULL };
	const cJSON	*item;
	unsigned	 present = 0;
	size_t		 i, k;

	if (!cJSON_IsObject(obj))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "action is not an object");
	cJSON_ArrayForEach(item, obj) {
		for (k = 0; k < KEY_COUNT; k++) {
			if (strcmp(item->string, response_keys[k]) == 0)
				break;
		}
		if (k == KEY_COUNT)
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "unknown key in action");
		if (f[k] != NULL)
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "duplicate key in action");
		f[k] = item;
		present |= K(k);
	}
	if (!cJSON_IsString(f[KEY_ACTION]))
		return response_fail(ctx, RESPONSE_EACTIONS,
		    "action has no \"action\" string");
	for (i = 0; i < sizeof response_kinds / sizeof response_kinds[0]; i++) {
		if (strcmp(f[KEY_ACTION]->valuestring,
		    response_kinds[i].name) != 0)
			continue;
		if ((present & ~(response_kinds[i].keys | K(KEY_ACTION))) != 0)
			return response_fail(ctx, RESPONSE_EACTIONS,
			    "key not allowed for this action");
		return response_kinds[i].parse(ctx, f);
	}
	return response_fail(ctx, RESPONSE_EACTIONS, "unknown action");
}

static int
response_json(struct response_ctx *ctx, const char *body, size_t len)
{
	cJSON		*root;
	const cJSON	*item;
	const char	*end = NULL;
	int		 err = 0;

	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL || !cJSON_IsArray(root)) {
		err = response_fail(ctx, RESPONSE_EACTIONS,
		    "actions body is not a JSON array");
		goto out;
	}
	/* cJSON stops after the value; anything but whitespace is junk. */
	for (; end < body + len; end++) {
		if (!strchr(" \t\r\n", *end) || *end == '\0') {
			err = response_fail(ctx, RESPONSE_EACTIONS,
			    "junk after the actions array");
			goto out;
		}
	}
	cJSON_ArrayForEach(item, root) {
		if ((err = response_json_action(ctx, item)) != 0)
			goto out;
	}
out:
	cJSON_Delete(root);
	return err;
}

/* --- public ---------------------------------------------------------- */

int
response_parse(const char *data, size_t len, int64_t now_ms,
    const struct response_limits *limits, struct response **out,
    const char **cause)
{
	static const struct response_limits	 unlimited;
	struct response_value			 vals[HDR_COUNT];
	struct response_ctx			 ctx;
	enum response_body			 kind;
	const char				*body = NULL;
	size_t					 body_len = 0;
	int					 err;

	memset(vals, 0, sizeof vals);
	ctx.limits = limits != NULL ? limits : &unlimited;
	ctx.now_ms = now_ms;
	ctx.cause = NULL;
	ctx.rf = xcalloc(1, sizeof *ctx.rf);
	ctx.rf->pub.status = 200;

	if ((err = response_headers(&ctx, data, len, vals, &body,
	    &body_len)) != 0)
		goto out;
	if ((err = response_status(&ctx, &vals[HDR_STATUS])) != 0)
		goto out;
	if ((err = response_content_type(&ctx, &vals[HDR_CONTENT_TYPE],
	    &kind)) != 0)
		goto out;
	if ((err = response_header_actions(&ctx, vals, body, body_len,
	    kind)) != 0)
		goto out;
	if (kind == BODY_ACTIONS)
		err = response_json(&ctx, body, body_len);
out:
	if (err != 0) {
		response_free(&ctx.rf->pub);
		if (cause != NULL)
			*cause = ctx.cause;
	} else
		*out = &ctx.rf->pub;
	return err;
}

void
response_free(struct response *r)
{
	struct response_full	*rf = (struct response_full *)r;
	struct action		*a;
	size_t			 i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->nactions; i++) {
		a = &r->actions[i];
		free(a->target_name);
		free(a->except);
		free(a->data);
		free(a->reason);
		for (j = 0; j < a->ntags; j++)
			free(a->tags[j]);
		free(a->tags);
	}
	free(r->actions);
	free(rf->reason);
	free(rf);
}

const char *
response_reason(const struct response *r)
{
	const struct response_full	*rf = (const struct response_full *)r;

	return rf->reason != NULL ? rf->reason : "";
}

const char *
response_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case RESPONSE_EHEADER:
		return "malformed response header section";
	case RESPONSE_ESTATUS:
		return "malformed Status header";
	case RESPONSE_EACTIONS:
		return "invalid actions JSON";
	case RESPONSE_ELIMIT:
		return "attachment or tags over a limit";
	case RESPONSE_EVALUE:
		return "bad value in a Torpor header";
	default:
		return "unknown response error";
	}
}
