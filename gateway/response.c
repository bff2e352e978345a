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
 * handler wrote them in. The actions form, and the checks both forms
 * share, are in actions.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "response.h"
#include "xmalloc.h"

/* The response and what response_reason needs, in one allocation. */
struct response_full {
	struct response	 pub;		/* first: response_free casts back */
	char		*reason;	/* Status reason phrase, or NULL */
	const char	*batch_body;	/* a batch answer's body, in data */
	size_t		 batch_len;
};

/* What one parse needs to carry between helpers. */
struct response_ctx {
	struct actions_ctx	 act;	/* the actions, limits, now, cause */
	struct response_full	*rf;
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
	BODY_BATCH,	/* per-event results of a batch request */
};

/* The first problem is the one reported; actions.c keeps it. */
static int
response_fail(struct response_ctx *ctx, int err, const char *cause)
{
	return actions_fail(&ctx->act, err, cause);
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
	else if (response_word_eq(p, tlen, "application") &&
	    response_word_eq(sub, slen, "vnd.torpor-batch+json"))
		*kind = BODY_BATCH;
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

	if (len == 0 || kind == BODY_ACTIONS || kind == BODY_BATCH)
		return 0;
	if (kind == BODY_TEXT && !actions_utf8_valid(body, len))
		return response_fail(ctx, RESPONSE_EVALUE,
		    "text body is not UTF-8");
	a = actions_push(&ctx->act, ACTION_SEND, TARGET_SENDER);
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

	a = actions_push(&ctx->act, ACTION_TAGS, TARGET_SENDER);
	while (left > 0) {
		comma = memchr(p, ',', left);
		tlen = comma != NULL ? (size_t)(comma - p) : left;
		t = response_trim(p, &tlen);
		if ((err = actions_tags_add(&ctx->act, a, t, tlen,
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
	    !actions_close_code_valid((int64_t)code))
		return response_fail(ctx, RESPONSE_EVALUE,
		    "Torpor-Close code is not 1000 or 3000-4999");
	rlen = v->len - clen;
	reason = response_trim(v->p + clen, &rlen);
	if ((err = actions_reason_check(&ctx->act, reason, rlen,
	    RESPONSE_EVALUE)) != 0)
		return err;
	a = actions_push(&ctx->act, ACTION_CLOSE, TARGET_SENDER);
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

	a = actions_push(&ctx->act, ACTION_ALARM, TARGET_OBJECT);
	a->alarm_ms = -1;
	if (response_word_eq(v->p, v->len, "none"))
		return 0;
	if (v->len > 0 && v->p[0] == '+') {
		base = ctx->act.now_ms;
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
		a = actions_push(&ctx->act, ACTION_ATTACHMENT, TARGET_SENDER);
		err = actions_attachment_set(&ctx->act, a, v->p, v->len);
		if (err != 0)
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
	memset(&ctx, 0, sizeof ctx);
	ctx.rf = xcalloc(1, sizeof *ctx.rf);
	ctx.rf->pub.status = 200;
	ctx.act.r = &ctx.rf->pub;
	ctx.act.limits = limits != NULL ? limits : &unlimited;
	ctx.act.now_ms = now_ms;

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
		err = actions_parse(&ctx.act, body, body_len);
	if (kind == BODY_BATCH) {
		/* Each event's actions are in its entry: these would be lost. */
		if (ctx.rf->pub.nactions > 0) {
			err = response_fail(&ctx, RESPONSE_EVALUE,
			    "Torpor-Attachment, -Tags, -Close or -Alarm "
			    "on a batch answer");
			goto out;
		}
		ctx.rf->batch_body = body;
		ctx.rf->batch_len = body_len;
	}
out:
	if (err != 0) {
		response_free(&ctx.rf->pub);
		if (cause != NULL)
			*cause = ctx.act.cause;
	} else
		*out = &ctx.rf->pub;
	return err;
}

/* One entry of a batch answer: {"status":N,"actions":[...]} or an error. */
static int
response_batch_entry(const cJSON *item, int64_t now_ms,
    const struct response_limits *limits, struct response **out,
    const char **cause)
{
	struct response_ctx	 ctx;
	const cJSON		*status, *actions;
	int			 err = 0;

	memset(&ctx, 0, sizeof ctx);
	ctx.rf = xcalloc(1, sizeof *ctx.rf);
	ctx.act.r = &ctx.rf->pub;
	ctx.act.limits = limits;
	ctx.act.now_ms = now_ms;
	status = cJSON_GetObjectItemCaseSensitive(item, "status");
	if (!cJSON_IsObject(item) || !cJSON_IsNumber(status) ||
	    status->valuedouble < 100 || status->valuedouble > 599) {
		err = actions_fail(&ctx.act, RESPONSE_EACTIONS,
		    "batch entry without a status from 100 to 599");
		goto out;
	}
	ctx.rf->pub.status = (int)status->valuedouble;
	actions = cJSON_GetObjectItemCaseSensitive(item, "actions");
	if (actions != NULL && ctx.rf->pub.status < 300)
		err = actions_parse_array(&ctx.act, actions);
out:
	if (err != 0) {
		/*
		 * Only this event fails, as it would have alone: the handler
		 * committed the others' writes, so their actions must apply.
		 */
		response_free(&ctx.rf->pub);
		*cause = ctx.act.cause;
		ctx.rf = xcalloc(1, sizeof *ctx.rf);
		ctx.rf->pub.status = 502;
	}
	*out = &ctx.rf->pub;
	return 0;
}

int
response_batch(const struct response *r, size_t k, int64_t now_ms,
    const struct response_limits *limits, struct response **entries,
    const char **cause)
{
	static const struct response_limits	 unlimited;
	const struct response_full		*rf =
	    (const struct response_full *)r;
	const cJSON				*item;
	cJSON					*root;
	size_t					 i = 0;
	int					 err = 0;

	*cause = "batch answer is not a JSON array of one result per event";
	if (rf->batch_body == NULL)
		return RESPONSE_EACTIONS;
	root = cJSON_ParseWithLength(rf->batch_body, rf->batch_len);
	if (!cJSON_IsArray(root) || (size_t)cJSON_GetArraySize(root) != k) {
		cJSON_Delete(root);
		return RESPONSE_EACTIONS;
	}
	cJSON_ArrayForEach(item, root) {
		err = response_batch_entry(item, now_ms, limits != NULL ?
		    limits : &unlimited, &entries[i], cause);
		if (err != 0)
			break;
		i++;
	}
	cJSON_Delete(root);
	if (err != 0)
		while (i > 0)
			response_free(entries[--i]);
	return err;
}

int
response_is_batch(const struct response *r)
{
	return ((const struct response_full *)r)->batch_body != NULL;
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
