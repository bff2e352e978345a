/*
 * Unit tests for gateway/response.c: every header, both line-end styles,
 * every action kind and target (the actions form through response_parse,
 * as the gateway calls it), every error path, and each limit at its
 * boundary (max accepted, max + 1 refused). The .c is included to reach
 * its static types; actions.c is linked, and its UTF-8 and base64
 * helpers are tested on their own in test_actions.c.
 */
#include "response.c"

#include "tap.h"

#define NOW	1700000000000LL
#define ACT	"Content-Type: application/vnd.torpor+json\r\n\r\n"

static const struct response_limits limits = {
	.max_attachment = 16,
	.max_tags = 3,
	.max_tag_len = 8,
};

/* Parses a NUL-terminated response; NULL when it fails. */
static struct response *
parse(const char *s)
{
	struct response	*r = NULL;
	const char	*cause = NULL;

	if (response_parse(s, strlen(s), NOW, &limits, &r, &cause) != 0)
		return NULL;
	return r;
}

/* desc made printable for a one-line TAP description. */
static const char *
show(const char *desc)
{
	static char	out[600];
	size_t		i, n = 0;

	for (i = 0; desc[i] != '\0' && n + 5 < sizeof out; i++) {
		unsigned char c = (unsigned char)desc[i];

		if (c < 0x20 || c > 0x7e)
			n += (size_t)snprintf(out + n, sizeof out - n,
			    "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

/*
 * Expects s to fail with err, a cause, and *out untouched. On mismatch
 * the TAP line shows what came back.
 */
static void
fails(const char *s, int err, const char *desc)
{
	struct response	*sentinel = (struct response *)&limits, *r = sentinel;
	const char	*cause = NULL;
	int		 got;

	got = response_parse(s, strlen(s), NOW, &limits, &r, &cause);
	ok(got == err && cause != NULL && r == sentinel,
	    "%s -> %d (%s)", show(desc), got, cause ? cause : "no cause");
	if (got == 0)
		response_free(r);
}

/* Expects s to parse. */
static void
passes(const char *s, const char *desc)
{
	struct response	*r = parse(s);

	ok(r != NULL, "%s", desc);
	response_free(r);
}

/* Whether action i of r has this type, target and target name. */
static int
act_is(const struct response *r, size_t i, enum action_type type,
    enum action_target target, const char *name)
{
	const struct action *a;

	if (i >= r->nactions)
		return 0;
	a = &r->actions[i];
	if (a->type != type || a->target != target)
		return 0;
	if (name == NULL)
		return a->target_name == NULL;
	return a->target_name != NULL && strcmp(a->target_name, name) == 0;
}

/* Whether action i is a send of this payload. */
static int
send_is(const struct response *r, size_t i, const char *data, size_t len,
    int binary)
{
	const struct action *a = &r->actions[i];

	return i < r->nactions && a->type == ACTION_SEND && a->len == len &&
	    a->binary == binary && memcmp(a->data, data, len) == 0;
}

static void
test_minimal(void)
{
	struct response	*r;

	r = parse("\r\n");
	ok(r != NULL && r->status == 200 && r->batch == 0 &&
	    r->nactions == 0, "\"\\r\\n\": 200, nothing to do");
	ok(r != NULL && strcmp(response_reason(r), "") == 0, "no reason");
	response_free(r);
	r = parse("\n");
	ok(r != NULL && r->status == 200 && r->nactions == 0, "\"\\n\" alone");
	response_free(r);
	response_free(NULL);
	ok(1, "response_free(NULL)");
	fails("", RESPONSE_EHEADER, "empty response");
	fails("Status: 200\r\n", RESPONSE_EHEADER, "no empty line");
	fails("Status: 200", RESPONSE_EHEADER, "no line end at all");
}

static void
test_status(void)
{
	static const char *const bad[] = {
		"Status:\r\n\r\n", "Status: 20\r\n\r\n", "Status: abc\r\n\r\n",
		"Status: 2000\r\n\r\n", "Status: 200x\r\n\r\n",
		"Status: 099\r\n\r\n", "Status: 600\r\n\r\n",
		"Status: -20\r\n\r\n",
	};
	struct response	*r;
	size_t		 i;

	r = parse("Status: 404 Not Found\r\n\r\n");
	ok(r != NULL && r->status == 404 &&
	    strcmp(response_reason(r), "Not Found") == 0, "Status with reason");
	response_free(r);
	r = parse("status:204\n\n");
	ok(r != NULL && r->status == 204 && *response_reason(r) == '\0',
	    "lower-case name, no space, no reason, \\n line ends");
	response_free(r);
	r = parse("STATUS: 599  x y  \r\n\r\n");
	ok(r != NULL && r->status == 599 &&
	    strcmp(response_reason(r), "x y") == 0, "599, reason trimmed");
	response_free(r);
	r = parse("Status: 100\r\n\r\n");
	ok(r != NULL && r->status == 100, "100 is the lowest code");
	response_free(r);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		fails(bad[i], RESPONSE_ESTATUS, bad[i]);
	fails("Status: 200\r\nStatus: 200\r\n\r\n", RESPONSE_EHEADER,
	    "Status twice");
	r = parse("Status: 403 Forbidden\r\n"
	    "Content-Type: text/plain\r\n\r\nno");
	ok(r != NULL && r->status == 403 && send_is(r, 0, "no", 2, 0),
	    "an error status still carries its body (refused connect)");
	response_free(r);
}

static void
test_content_type(void)
{
	static const struct {
		const char	*type;
		int		 binary;
	} types[] = {
		{ "text/plain", 0 },
		{ "text/plain; charset=utf-8", 0 },
		{ "TEXT/HTML", 0 },
		{ "application/json", 0 },
		{ "Application/JSON;charset=utf-8", 0 },
		{ "application/ld+json", 0 },
		{ "application/problem+JSON", 0 },
		{ "application/octet-stream", 1 },
		{ "image/png", 1 },
		{ "application/jsonx", 1 },
		{ "application/json-seq", 1 },
	};
	char		 buf[256];
	struct response	*r;
	size_t		 i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		snprintf(buf, sizeof buf, "Content-Type: %s\r\n\r\nAB",
		    types[i].type);
		r = parse(buf);
		ok(r != NULL && r->nactions == 1 &&
		    act_is(r, 0, ACTION_SEND, TARGET_SENDER, NULL) &&
		    send_is(r, 0, "AB", 2, types[i].binary),
		    "%s -> %s frame", types[i].type,
		    types[i].binary ? "binary" : "text");
		response_free(r);
	}
	r = parse("\r\nplain body");
	ok(r != NULL && r->nactions == 1 && send_is(r, 0, "plain body", 10, 0),
	    "no Content-Type: text frame");
	response_free(r);
	r = parse("Content-Type: application/octet-stream\r\n\r\n");
	ok(r != NULL && r->nactions == 0, "empty body: no frame, even binary");
	response_free(r);
	r = parse("Content-Type: text/plain\r\n\r\n");
	ok(r != NULL && r->nactions == 0, "empty text body: no frame");
	response_free(r);
	fails("Content-Type: garbage\r\n\r\nx", RESPONSE_EHEADER, "no slash");
	fails("Content-Type: text/\r\n\r\nx", RESPONSE_EHEADER, "no subtype");
	fails("Content-Type: /plain\r\n\r\nx", RESPONSE_EHEADER, "no type");
	fails("Content-Type:\r\n\r\nx", RESPONSE_EHEADER, "empty type");
	fails("Content-Type: text/plain\r\ncontent-type: text/plain\r\n\r\n",
	    RESPONSE_EHEADER, "Content-Type twice");
}

static void
test_body(void)
{
	static const char bin[] = "Content-Type: application/octet-stream\r\n"
	    "\r\n\x00\x01\xff\r\n\r\n";
	struct response	*r = NULL;
	const char	*cause;

	ok(response_parse(bin, sizeof bin - 1, NOW, &limits, &r, &cause) == 0 &&
	    send_is(r, 0, "\x00\x01\xff\r\n\r\n", 7, 1),
	    "binary body kept byte exact, NUL and blank lines included");
	response_free(r);
	r = parse("Status: 200\r\nContent-Type: text/plain\n\r\nmixed\nends");
	ok(r != NULL && send_is(r, 0, "mixed\nends", 10, 0),
	    "mixed \\r\\n and \\n line ends");
	response_free(r);
	r = parse("\r\n\xe2\x82\xac \xf0\x9f\x98\x80");
	ok(r != NULL && send_is(r, 0, "\xe2\x82\xac \xf0\x9f\x98\x80", 8, 0),
	    "UTF-8 text body");
	response_free(r);
	fails("\r\n\xff", RESPONSE_EVALUE, "text body that is not UTF-8");
	fails("Content-Type: application/json\r\n\r\n\xc0\x80", RESPONSE_EVALUE,
	    "overlong NUL in a JSON body");
}

static void
test_header_syntax(void)
{
	struct response	*r;

	r = parse("X-Powered-By: PHP/8.2\r\nX-Powered-By: again\r\n"
	    "Set-Cookie: a=b\r\nLocation: /x\r\n\r\n");
	ok(r != NULL && r->nactions == 0,
	    "unknown headers ignored, even twice");
	response_free(r);
	r = parse("TORPOR-ATTACHMENT: x\r\ntorpor-close: 1000\r\n\r\n");
	ok(r != NULL && r->nactions == 2 &&
	    act_is(r, 0, ACTION_ATTACHMENT, TARGET_SENDER, NULL) &&
	    act_is(r, 1, ACTION_CLOSE, TARGET_SENDER, NULL),
	    "header names are case-insensitive");
	response_free(r);
	fails("NoColon\r\n\r\n", RESPONSE_EHEADER, "line without ':'");
	fails("Bad Name: x\r\n\r\n", RESPONSE_EHEADER, "space in a name");
	fails("Name : x\r\n\r\n", RESPONSE_EHEADER, "space before ':'");
	fails(": x\r\n\r\n", RESPONSE_EHEADER, "empty name");
	fails("X-A: 1\r\n continued\r\n\r\n", RESPONSE_EHEADER, "folded line");
	fails("X-A: a\x01" "b\r\n\r\n", RESPONSE_EHEADER, "control byte");
	fails("X-A: a\rb\r\n\r\n", RESPONSE_EHEADER, "bare CR in a value");
	fails("X-A: a\x7f\r\n\r\n", RESPONSE_EHEADER, "DEL in a value");
	fails("X-A\x80: a\r\n\r\n", RESPONSE_EHEADER, "8-bit name");
	fails("\r\r\n", RESPONSE_EHEADER, "CR CR LF is not an empty line");
	r = parse("X-A: \t tabbed\t \r\n\r\n");
	ok(r != NULL, "tabs around a value");
	response_free(r);
}

static void
test_attachment(void)
{
	struct response	*r;

	r = parse("Torpor-Attachment: {\"lastPing\":1}\r\n\r\n");
	ok(r != NULL && r->nactions == 1 &&
	    act_is(r, 0, ACTION_ATTACHMENT, TARGET_SENDER, NULL) &&
	    r->actions[0].len == 14 &&
	    strcmp(r->actions[0].data, "{\"lastPing\":1}") == 0,
	    "attachment value");
	response_free(r);
	r = parse("Torpor-Attachment:\r\n\r\n");
	ok(r != NULL && r->nactions == 1 && r->actions[0].data == NULL &&
	    r->actions[0].len == 0, "empty value clears");
	response_free(r);
	r = parse("Torpor-Attachment: 0123456789abcdef\r\n\r\n");
	ok(r != NULL && r->actions[0].len == 16, "16 bytes: at the limit, OK");
	response_free(r);
	fails("Torpor-Attachment: 0123456789abcdefg\r\n\r\n", RESPONSE_ELIMIT,
	    "17 bytes: over the limit");
	fails("Torpor-Attachment: a\r\nTorpor-Attachment: b\r\n\r\n",
	    RESPONSE_EHEADER, "attachment twice");
}

static void
test_tags(void)
{
	struct response	*r;
	struct action	*a;

	r = parse("Torpor-Tags: a,b,c\r\n\r\n");
	a = r != NULL ? &r->actions[0] : NULL;
	ok(a != NULL && act_is(r, 0, ACTION_TAGS, TARGET_SENDER, NULL) &&
	    a->ntags == 3 && strcmp(a->tags[0], "a") == 0 &&
	    strcmp(a->tags[1], "b") == 0 && strcmp(a->tags[2], "c") == 0,
	    "three tags (the limit)");
	response_free(r);
	r = parse("Torpor-Tags:  admin , 12345678\r\n\r\n");
	a = r != NULL ? &r->actions[0] : NULL;
	ok(a != NULL && a->ntags == 2 && strcmp(a->tags[0], "admin") == 0 &&
	    strcmp(a->tags[1], "12345678") == 0,
	    "spaces around tags trimmed; 8-byte tag at the limit");
	response_free(r);
	r = parse("Torpor-Tags:\r\n\r\n");
	ok(r != NULL && r->nactions == 1 && r->actions[0].ntags == 0,
	    "empty value clears the tags");
	response_free(r);
	fails("Torpor-Tags: a,b,c,d\r\n\r\n", RESPONSE_ELIMIT, "4 tags");
	fails("Torpor-Tags: 123456789\r\n\r\n", RESPONSE_ELIMIT, "9-byte tag");
	fails("Torpor-Tags: a,,b\r\n\r\n", RESPONSE_EVALUE, "empty tag inside");
	fails("Torpor-Tags: a,\r\n\r\n", RESPONSE_EVALUE, "trailing comma");
	fails("Torpor-Tags: ,a\r\n\r\n", RESPONSE_EVALUE, "leading comma");
	fails("Torpor-Tags: a b\r\n\r\n", RESPONSE_EVALUE, "space in a tag");
	fails("Torpor-Tags: caf\xc3\xa9\r\n\r\n", RESPONSE_EVALUE,
	    "non-ASCII tag");
}

static void
test_close(void)
{
	static const char *const bad[] = {
		"Torpor-Close: 999\r\n\r\n", "Torpor-Close: 1001\r\n\r\n",
		"Torpor-Close: 2999\r\n\r\n", "Torpor-Close: 5000\r\n\r\n",
		"Torpor-Close: abc\r\n\r\n", "Torpor-Close:\r\n\r\n",
		"Torpor-Close: 1000x bye\r\n\r\n",
		"Torpor-Close: -1000\r\n\r\n",
		"Torpor-Close: 01000000000000000000001000\r\n\r\n",
	};
	char		 buf[300];
	struct response	*r;
	size_t		 i;

	r = parse("Torpor-Close: 1000\r\n\r\n");
	ok(r != NULL && act_is(r, 0, ACTION_CLOSE, TARGET_SENDER, NULL) &&
	    r->actions[0].close_code == 1000 &&
	    strcmp(r->actions[0].reason, "") == 0, "code alone, reason \"\"");
	response_free(r);
	r = parse("Torpor-Close: 4001 Connection timeout\r\n\r\n");
	ok(r != NULL && r->actions[0].close_code == 4001 &&
	    strcmp(r->actions[0].reason, "Connection timeout") == 0,
	    "code and reason with a space");
	response_free(r);
	r = parse("Torpor-Close: 3000\tbye\r\n\r\n");
	ok(r != NULL && r->actions[0].close_code == 3000 &&
	    strcmp(r->actions[0].reason, "bye") == 0, "3000, tab separator");
	response_free(r);
	r = parse("Torpor-Close: 4999\r\n\r\n");
	ok(r != NULL && r->actions[0].close_code == 4999, "4999");
	response_free(r);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		fails(bad[i], RESPONSE_EVALUE, bad[i]);
	snprintf(buf, sizeof buf, "Torpor-Close: 1000 %0123d\r\n\r\n", 0);
	r = parse(buf);
	ok(r != NULL && strlen(r->actions[0].reason) == 123,
	    "123-byte reason accepted");
	response_free(r);
	snprintf(buf, sizeof buf, "Torpor-Close: 1000 %0124d\r\n\r\n", 0);
	fails(buf, RESPONSE_EVALUE, "124-byte reason refused");
	fails("Torpor-Close: 1000 \xff\r\n\r\n", RESPONSE_EVALUE,
	    "reason not UTF-8");
}

static void
test_alarm(void)
{
	static const char *const bad[] = {
		"Torpor-Alarm: -5\r\n\r\n", "Torpor-Alarm: abc\r\n\r\n",
		"Torpor-Alarm: +\r\n\r\n", "Torpor-Alarm:\r\n\r\n",
		"Torpor-Alarm: +x\r\n\r\n", "Torpor-Alarm: 1.5\r\n\r\n",
		"Torpor-Alarm: 99999999999999999999\r\n\r\n",
		"Torpor-Alarm: +9223372036854775807\r\n\r\n",
		"Torpor-Alarm: ++5\r\n\r\n", "Torpor-Alarm: nonE2\r\n\r\n",
	};
	struct response	*r;
	size_t		 i;

	r = parse("Torpor-Alarm: 1764355200000\r\n\r\n");
	ok(r != NULL && act_is(r, 0, ACTION_ALARM, TARGET_OBJECT, NULL) &&
	    r->actions[0].alarm_ms == 1764355200000LL, "absolute alarm");
	response_free(r);
	r = parse("Torpor-Alarm: +60000\r\n\r\n");
	ok(r != NULL && r->actions[0].alarm_ms == NOW + 60000,
	    "relative alarm");
	response_free(r);
	r = parse("Torpor-Alarm: 0\r\n\r\n");
	ok(r != NULL && r->actions[0].alarm_ms == 0, "0: fires at once");
	response_free(r);
	r = parse("Torpor-Alarm: none\r\n\r\n");
	ok(r != NULL && r->actions[0].alarm_ms == -1, "none clears");
	response_free(r);
	r = parse("Torpor-Alarm: NONE\r\n\r\n");
	ok(r != NULL && r->actions[0].alarm_ms == -1, "NONE clears too");
	response_free(r);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		fails(bad[i], RESPONSE_EVALUE, bad[i]);
}

static void
test_batch(void)
{
	struct response	*r;

	r = parse("Torpor-Batch: 64\r\n\r\n");
	ok(r != NULL && r->batch == 64 && r->nactions == 0, "Torpor-Batch: 64");
	response_free(r);
	r = parse("Torpor-Batch: 0\r\n\r\n");
	ok(r != NULL && r->batch == 0, "Torpor-Batch: 0");
	response_free(r);
	r = parse("Torpor-Batch: 2147483647\r\n\r\n");
	ok(r != NULL && r->batch == 2147483647, "INT_MAX");
	response_free(r);
	fails("Torpor-Batch: x\r\n\r\n", RESPONSE_EVALUE, "batch not a number");
	fails("Torpor-Batch: -1\r\n\r\n", RESPONSE_EVALUE, "negative batch");
	fails("Torpor-Batch: 2147483648\r\n\r\n", RESPONSE_EVALUE,
	    "batch over INT_MAX");
}

static void
test_header_order(void)
{
	struct response	*r;

	r = parse("Torpor-Batch: 8\r\nTorpor-Alarm: +5\r\n"
	    "Torpor-Close: 1000 bye\r\nTorpor-Tags: t\r\n"
	    "Torpor-Attachment: at\r\nStatus: 201 Created\r\n"
	    "Content-Type: text/plain\r\n\r\nframe");
	ok(r != NULL && r->nactions == 5 && r->status == 201 && r->batch == 8 &&
	    send_is(r, 0, "frame", 5, 0) &&
	    act_is(r, 1, ACTION_ATTACHMENT, TARGET_SENDER, NULL) &&
	    act_is(r, 2, ACTION_TAGS, TARGET_SENDER, NULL) &&
	    act_is(r, 3, ACTION_CLOSE, TARGET_SENDER, NULL) &&
	    act_is(r, 4, ACTION_ALARM, TARGET_OBJECT, NULL),
	    "header-form order: body, attachment, tags, close, alarm");
	response_free(r);
}

/* A batch answer: one result per event; a bad element fails alone. */
static void
test_batch_answer(void)
{
	static const char big[] =
	    "Content-Type: application/vnd.torpor-batch+json\r\n\r\n"
	    "[{\"status\":200,\"actions\":[{\"action\":\"send\","
	    "\"text\":\"one\"}]},"
	    "{\"status\":500,\"error\":\"boom\"},"
	    "{\"status\":200,\"actions\":[{\"action\":\"tags\","
	    "\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
	    "\"h\",\"i\",\"j\",\"k\"]}]},"
	    "{\"nostatus\":1}]";
	struct response	*r, *e[4];
	const char	*cause = NULL;

	r = parse(big);
	ok(r != NULL && response_is_batch(r) && r->nactions == 0,
	    "batch answer: parsed, no actions of its own");
	ok(r != NULL && response_batch(r, 4, NOW, &limits, e, &cause) == 0 &&
	    e[0]->status == 200 && e[0]->nactions == 1 &&
	    send_is(e[0], 0, "one", 3, 0) && e[1]->status == 500 &&
	    e[2]->status == 502 && e[3]->status == 502,
	    "batch answer: ok, failed, over the tag limit and invalid "
	    "elements each stand alone");
	if (r != NULL && e[0] != NULL) {
		response_free(e[0]);
		response_free(e[1]);
		response_free(e[2]);
		response_free(e[3]);
	}
	ok(r != NULL && response_batch(r, 3, NOW, &limits, e, &cause) != 0,
	    "batch answer with the wrong number of elements fails whole");
	response_free(r);
	r = parse("Content-Type: application/vnd.torpor-batch+json\r\n\r\n"
	    "{}");
	ok(r != NULL && response_batch(r, 1, NOW, &limits, e, &cause) != 0,
	    "batch answer that is not an array fails whole");
	response_free(r);
}

static void
test_actions_example(void)
{
	struct response	*r;
	struct action	*a;

	r = parse(ACT "[\n"
	    "{\"action\": \"send\", \"text\": \"hello\"},\n"
	    "{\"action\": \"send\", \"binary\": \"AAEC\","
	    " \"connection\": \"ID\"},\n"
	    "{\"action\": \"send\", \"text\": \"hi all\", \"object\": true,"
	    " \"except\": \"ID\"},\n"
	    "{\"action\": \"send\", \"text\": \"to admins\","
	    " \"tag\": \"admin\"},\n"
	    "{\"action\": \"close\", \"connection\": \"ID\", \"code\": 1000,"
	    " \"reason\": \"bye\"},\n"
	    "{\"action\": \"attachment\","
	    " \"value\": \"{\\\"lastPing\\\":1}\"},\n"
	    "{\"action\": \"attachment\", \"connection\": \"ID\","
	    " \"value\": null},\n"
	    "{\"action\": \"tags\", \"tags\": [\"a\", \"b\"]},\n"
	    "{\"action\": \"alarm\", \"at\": 1764355200000},\n"
	    "{\"action\": \"alarm\", \"in\": 60000},\n"
	    "{\"action\": \"alarm\", \"at\": null}\n]\n");
	ok(r != NULL && r->nactions == 11, "PROTOCOL.md example: 11 actions");
	if (r == NULL || r->nactions != 11) {
		response_free(r);
		return;
	}
	a = r->actions;
	ok(act_is(r, 0, ACTION_SEND, TARGET_SENDER, NULL) &&
	    send_is(r, 0, "hello", 5, 0) && a[0].except == NULL,
	    "text to the sender");
	ok(act_is(r, 1, ACTION_SEND, TARGET_CONNECTION, "ID") &&
	    send_is(r, 1, "\x00\x01\x02", 3, 1), "binary to a connection");
	ok(act_is(r, 2, ACTION_SEND, TARGET_OBJECT, NULL) &&
	    send_is(r, 2, "hi all", 6, 0) && strcmp(a[2].except, "ID") == 0,
	    "text to the object, except one");
	ok(act_is(r, 3, ACTION_SEND, TARGET_TAG, "admin") &&
	    send_is(r, 3, "to admins", 9, 0), "text to a tag");
	ok(act_is(r, 4, ACTION_CLOSE, TARGET_CONNECTION, "ID") &&
	    a[4].close_code == 1000 && strcmp(a[4].reason, "bye") == 0,
	    "close a connection");
	ok(act_is(r, 5, ACTION_ATTACHMENT, TARGET_SENDER, NULL) &&
	    a[5].len == 14 && strcmp(a[5].data, "{\"lastPing\":1}") == 0,
	    "attachment of the sender");
	ok(act_is(r, 6, ACTION_ATTACHMENT, TARGET_CONNECTION, "ID") &&
	    a[6].data == NULL && a[6].len == 0, "null clears an attachment");
	ok(act_is(r, 7, ACTION_TAGS, TARGET_SENDER, NULL) && a[7].ntags == 2 &&
	    strcmp(a[7].tags[0], "a") == 0 && strcmp(a[7].tags[1], "b") == 0,
	    "tags of the sender");
	ok(act_is(r, 8, ACTION_ALARM, TARGET_OBJECT, NULL) &&
	    a[8].alarm_ms == 1764355200000LL, "alarm at");
	ok(a[9].type == ACTION_ALARM && a[9].alarm_ms == NOW + 60000,
	    "alarm in");
	ok(a[10].type == ACTION_ALARM && a[10].alarm_ms == -1, "alarm cleared");
	response_free(r);
}

static void
test_actions_more(void)
{
	struct response	*r;

	r = parse(ACT "[]");
	ok(r != NULL && r->nactions == 0, "empty array");
	response_free(r);
	r = parse(ACT " [ ] \r\n\t");
	ok(r != NULL && r->nactions == 0, "whitespace around the array");
	response_free(r);
	r = parse("Torpor-Alarm: none\r\n" ACT
	    "[{\"action\":\"send\",\"text\":\"x\"}]");
	ok(r != NULL && r->nactions == 2 &&
	    act_is(r, 0, ACTION_ALARM, TARGET_OBJECT, NULL) &&
	    send_is(r, 1, "x", 1, 0), "header effects before JSON actions; "
	    "the actions body is not a frame");
	response_free(r);
	r = parse(ACT "[{\"action\":\"send\",\"text\":\"x\",\"object\":false},"
	    "{\"action\":\"send\",\"text\":\"\"},"
	    "{\"action\":\"send\",\"binary\":\"\"},"
	    "{\"action\":\"send\",\"text\":\"y\",\"tag\":\"t\","
	    "\"except\":\"c\"},"
	    "{\"action\":\"close\"},"
	    "{\"action\":\"close\",\"code\":3000},"
	    "{\"action\":\"close\",\"code\":4999,\"reason\":\"r\"},"
	    "{\"action\":\"attachment\",\"value\":\"\"},"
	    "{\"action\":\"attachment\",\"value\":\"0123456789abcdef\"},"
	    "{\"action\":\"tags\",\"tags\":[]},"
	    "{\"action\":\"tags\",\"connection\":\"c\","
	    "\"tags\":[\"a\",\"b\",\"12345678\"]},"
	    "{\"action\":\"alarm\",\"in\":0}]");
	ok(r != NULL && r->nactions == 12, "a mix of 12 actions");
	if (r == NULL || r->nactions != 12) {
		response_free(r);
		return;
	}
	ok(act_is(r, 0, ACTION_SEND, TARGET_SENDER, NULL),
	    "object:false means the sender");
	ok(send_is(r, 1, "", 0, 0) && send_is(r, 2, "", 0, 1),
	    "explicit empty text and binary frames are kept");
	ok(act_is(r, 3, ACTION_SEND, TARGET_TAG, "t") &&
	    strcmp(r->actions[3].except, "c") == 0, "tag with except");
	ok(act_is(r, 4, ACTION_CLOSE, TARGET_SENDER, NULL) &&
	    r->actions[4].close_code == 1000 &&
	    strcmp(r->actions[4].reason, "") == 0,
	    "close defaults: the sender, 1000, no reason");
	ok(r->actions[5].close_code == 3000 && r->actions[6].close_code == 4999,
	    "close codes 3000 and 4999");
	ok(r->actions[7].data == NULL && r->actions[8].len == 16,
	    "\"\" clears an attachment; 16 bytes at the limit");
	ok(act_is(r, 9, ACTION_TAGS, TARGET_SENDER, NULL) &&
	    r->actions[9].ntags == 0, "empty tag list");
	ok(act_is(r, 10, ACTION_TAGS, TARGET_CONNECTION, "c") &&
	    r->actions[10].ntags == 3, "3 tags, one of 8 bytes: at the limits");
	ok(r->actions[11].alarm_ms == NOW, "alarm in 0");
	response_free(r);
}

/* Each of these must fail with RESPONSE_EACTIONS. */
static const char *const bad_actions[] = {
	"", "nope", "{}", "[1]", "[[]]", "[] x", "[]]", "[null]", "\"[]\"",
	"[{\"text\":\"x\"}]",
	"[{\"action\":1}]",
	"[{\"action\":\"explode\"}]",
	"[{\"action\":\"SEND\",\"text\":\"x\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"conection\":\"c\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"text\":\"y\"}]",
	"[{\"action\":\"send\",\"action\":\"send\",\"text\":\"y\"}]",
	"[{\"action\":\"close\",\"text\":\"x\"}]",
	"[{\"action\":\"alarm\",\"at\":1,\"connection\":\"c\"}]",
	/* send */
	"[{\"action\":\"send\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"binary\":\"AA==\"}]",
	"[{\"action\":\"send\",\"text\":1}]",
	"[{\"action\":\"send\",\"text\":null}]",
	"[{\"action\":\"send\",\"binary\":1}]",
	"[{\"action\":\"send\",\"text\":\"\xff\"}]",
	"[{\"action\":\"send\",\"text\":\"\\ud800\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"connection\":\"c\","
	    "\"tag\":\"t\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"connection\":\"c\","
	    "\"object\":true}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"tag\":\"t\",\"object\":true}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"except\":\"c\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"connection\":\"c\","
	    "\"except\":\"d\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"object\":false,"
	    "\"except\":\"c\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"object\":1}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"object\":\"true\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"connection\":\"\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"connection\":\"a b\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"connection\":7}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"tag\":\"a,b\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"tag\":\"\"}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"tag\":1}]",
	"[{\"action\":\"send\",\"text\":\"x\",\"object\":true,"
	    "\"except\":\"\"}]",
	/* base64 */
	"[{\"action\":\"send\",\"binary\":\"AAE\"}]",
	"[{\"action\":\"send\",\"binary\":\"A\"}]",
	"[{\"action\":\"send\",\"binary\":\"AA=C\"}]",
	"[{\"action\":\"send\",\"binary\":\"A===\"}]",
	"[{\"action\":\"send\",\"binary\":\"====\"}]",
	"[{\"action\":\"send\",\"binary\":\"AB==\"}]",
	"[{\"action\":\"send\",\"binary\":\"AAB=\"}]",
	"[{\"action\":\"send\",\"binary\":\"AA==AAAA\"}]",
	"[{\"action\":\"send\",\"binary\":\" AAA\"}]",
	"[{\"action\":\"send\",\"binary\":\"AA*A\"}]",
	"[{\"action\":\"send\",\"binary\":\"AA-_\"}]",
	/* close */
	"[{\"action\":\"close\",\"code\":999}]",
	"[{\"action\":\"close\",\"code\":1001}]",
	"[{\"action\":\"close\",\"code\":2999}]",
	"[{\"action\":\"close\",\"code\":5000}]",
	"[{\"action\":\"close\",\"code\":1000.5}]",
	"[{\"action\":\"close\",\"code\":\"1000\"}]",
	"[{\"action\":\"close\",\"code\":null}]",
	"[{\"action\":\"close\",\"reason\":5}]",
	"[{\"action\":\"close\",\"reason\":\"\xff\"}]",
	"[{\"action\":\"close\",\"connection\":\"\"}]",
	/* attachment */
	"[{\"action\":\"attachment\"}]",
	"[{\"action\":\"attachment\",\"value\":1}]",
	"[{\"action\":\"attachment\",\"value\":{}}]",
	"[{\"action\":\"attachment\",\"value\":\"x\",\"connection\":true}]",
	/* tags */
	"[{\"action\":\"tags\"}]",
	"[{\"action\":\"tags\",\"tags\":\"a\"}]",
	"[{\"action\":\"tags\",\"tags\":[1]}]",
	"[{\"action\":\"tags\",\"tags\":[\"\"]}]",
	"[{\"action\":\"tags\",\"tags\":[\"a b\"]}]",
	"[{\"action\":\"tags\",\"tags\":[\"a,b\"]}]",
	/* alarm */
	"[{\"action\":\"alarm\"}]",
	"[{\"action\":\"alarm\",\"at\":1,\"in\":1}]",
	"[{\"action\":\"alarm\",\"at\":-1}]",
	"[{\"action\":\"alarm\",\"at\":1.5}]",
	"[{\"action\":\"alarm\",\"at\":\"1\"}]",
	"[{\"action\":\"alarm\",\"at\":1e300}]",
	"[{\"action\":\"alarm\",\"in\":null}]",
	"[{\"action\":\"alarm\",\"in\":-1}]",
	"[{\"action\":\"alarm\",\"in\":0.5}]",
	/* a bad action after a good one still fails the whole response */
	"[{\"action\":\"send\",\"text\":\"ok\"},{\"action\":\"nope\"}]",
};

static void
test_actions_errors(void)
{
	char	buf[512], reason[200];
	size_t	i;

	for (i = 0; i < sizeof bad_actions / sizeof bad_actions[0]; i++) {
		snprintf(buf, sizeof buf, ACT "%s", bad_actions[i]);
		fails(buf, RESPONSE_EACTIONS, bad_actions[i]);
	}
	memset(reason, 'r', 124);
	reason[124] = '\0';
	snprintf(buf, sizeof buf, ACT "[{\"action\":\"close\","
	    "\"reason\":\"%s\"}]",
	    reason);
	fails(buf, RESPONSE_EACTIONS, "124-byte close reason");
	reason[123] = '\0';
	snprintf(buf, sizeof buf, ACT "[{\"action\":\"close\","
	    "\"reason\":\"%s\"}]",
	    reason);
	passes(buf, "123-byte close reason is fine");
}

static void
test_actions_limits(void)
{
	fails(ACT "[{\"action\":\"attachment\","
	    "\"value\":\"0123456789abcdefg\"}]",
	    RESPONSE_ELIMIT, "JSON attachment of 17 bytes");
	fails(ACT "[{\"action\":\"tags\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}]",
	    RESPONSE_ELIMIT, "JSON: 4 tags");
	fails(ACT "[{\"action\":\"tags\",\"tags\":[\"123456789\"]}]",
	    RESPONSE_ELIMIT, "JSON: 9-byte tag");
	fails(ACT "[{\"action\":\"send\",\"text\":\"x\","
	    "\"tag\":\"123456789\"}]",
	    RESPONSE_ELIMIT, "send to a 9-byte tag");
	passes(ACT "[{\"action\":\"send\",\"text\":\"x\","
	    "\"tag\":\"12345678\"}]",
	    "send to an 8-byte tag");
}

/* NULL limits and zero limits both mean unlimited. */
static void
test_no_limits(void)
{
	static const struct response_limits zero;
	char			 buf[2048];
	struct response		*r = NULL;
	const char		*cause;
	int			 err;

	memset(buf, 0, sizeof buf);
	strcpy(buf, "Torpor-Tags: a,b,c,d,e,f,g,h,i,j,k,0123456789abcdef\r\n"
	    "Torpor-Attachment: ");
	memset(buf + strlen(buf), 'x', 1000);
	strcat(buf, "\r\n\r\n");
	err = response_parse(buf, strlen(buf), NOW, NULL, &r, &cause);
	ok(err == 0 && r->actions[0].len == 1000 && r->actions[1].ntags == 12,
	    "NULL limits: no limit");
	response_free(r);
	r = NULL;
	err = response_parse(buf, strlen(buf), NOW, &zero, &r, &cause);
	ok(err == 0 && r != NULL, "zero limits: no limit");
	response_free(r);
	err = response_parse("x", 1, NOW, NULL, &r, NULL);
	ok(err == RESPONSE_EHEADER, "cause may be NULL");
}

static void
test_strerror(void)
{
	static const int codes[] = {
		RESPONSE_EHEADER, RESPONSE_ESTATUS, RESPONSE_EACTIONS,
		RESPONSE_ELIMIT, RESPONSE_EVALUE,
	};
	size_t	i, j;
	int	good = 1;

	for (i = 0; i < 5; i++) {
		for (j = 0; j < 5; j++) {
			if (i != j && strcmp(response_strerror(codes[i]),
			    response_strerror(codes[j])) == 0)
				good = 0;
		}
		if (strcmp(response_strerror(codes[i]),
		    response_strerror(-1)) == 0)
			good = 0;
	}
	ok(good, "strerror names each code");
}

int
main(void)
{
	test_minimal();
	test_status();
	test_content_type();
	test_body();
	test_header_syntax();
	test_attachment();
	test_tags();
	test_close();
	test_alarm();
	test_batch();
	test_batch_answer();
	test_header_order();
	test_actions_example();
	test_actions_more();
	test_actions_errors();
	test_actions_limits();
	test_no_limits();
	test_strerror();
	return tap_done();
}
