/*
 * Unit tests for gateway/httpreq.c: one request per rule, good and bad
 * (a bad one must break that rule and no other, so its detail string is
 * compared too), the max_bytes boundary, and every good request fed cut
 * at every byte and in 1-byte pieces, as a non-blocking socket may
 * deliver it, giving the same result.
 */
#include <errno.h>

#include "httpreq.c"
#include "xmalloc.h"

#include "tap.h"

/* A string literal that may hold NUL bytes, with its length. */
#define S(lit)	lit, sizeof(lit) - 1

#define MAX	8192
#define HEAD	"GET / HTTP/1.1\r\nHost: a\r\n\r\n"

/* Feeds s[0..n) whole. @return the parser; *rc and *used as fed. */
static struct httpreq *
parse(const char *s, size_t n, size_t max, int *rc, size_t *used)
{
	struct httpreq	*r = httpreq_create(max);

	*used = (size_t)-1;
	*rc = httpreq_feed(r, (const uint8_t *)s, n, used);
	return r;
}

/*
 * Feeds s[0..n) in pieces ending at the cuts (then the rest), each from
 * its own allocation freed at once, so ASan sees any pointer the parser
 * kept into what it was fed. *used counts from s.
 */
static struct httpreq *
parse_cut(const char *s, size_t n, const size_t *cuts, size_t ncuts,
    int *rc, size_t *used)
{
	struct httpreq	*r = httpreq_create(MAX);
	uint8_t		*piece;
	size_t		 pos = 0, end, i, u = 0;

	*rc = 0;
	*used = (size_t)-1;
	for (i = 0; i <= ncuts && *rc == 0; i++) {
		end = i < ncuts ? cuts[i] : n;
		piece = xmalloc(end - pos);
		memcpy(piece, s + pos, end - pos);
		*rc = httpreq_feed(r, piece, end - pos, &u);
		free(piece);
		if (*rc == 1)
			*used = pos + u;
		pos = end;
	}
	return r;
}

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether two parsers saw the same request, or the same error. */
static int
same(const struct httpreq *a, const struct httpreq *b)
{
	const char	*an, *av, *bn, *bv;
	size_t		 i;

	if (!streq(httpreq_error_detail(a), httpreq_error_detail(b)) ||
	    !streq(httpreq_method(a), httpreq_method(b)) ||
	    !streq(httpreq_target(a), httpreq_target(b)) ||
	    !streq(httpreq_path(a), httpreq_path(b)) ||
	    !streq(httpreq_query(a), httpreq_query(b)) ||
	    httpreq_version(a) != httpreq_version(b) ||
	    httpreq_nheaders(a) != httpreq_nheaders(b))
		return 0;
	for (i = 0; i < httpreq_nheaders(a); i++) {
		httpreq_header_at(a, i, &an, &av);
		httpreq_header_at(b, i, &bn, &bv);
		if (!streq(an, bn) || !streq(av, bv) ||
		    !streq(httpreq_header(a, an), httpreq_header(b, bn)))
			return 0;
	}
	return 1;
}

/* Every 2-piece cut and 1-byte pieces give what the whole feed gave. */
static int
splits_agree(const char *s, size_t n)
{
	struct httpreq	*whole, *r;
	size_t		*cuts, used, u, k;
	int		 rc, rc2, good = 1;

	whole = parse(s, n, MAX, &rc, &used);
	for (k = 0; k <= n; k++) {
		r = parse_cut(s, n, &k, 1, &rc2, &u);
		good &= rc2 == rc && (rc != 1 || u == used) && same(whole, r);
		httpreq_free(r);
	}
	cuts = xmalloc((n + 1) * sizeof *cuts);
	for (k = 0; k < n; k++)
		cuts[k] = k + 1;
	r = parse_cut(s, n, cuts, n, &rc2, &u);
	good &= rc2 == rc && (rc != 1 || u == used) && same(whole, r);
	httpreq_free(r);
	free(cuts);
	httpreq_free(whole);
	return good;
}

struct good_case {
	const char	*name;
	const char	*req;
	const char	*method, *target, *path, *query;
	int		 version;
};

static const struct good_case good_cases[] = {
	{ "curl GET", "GET /rooms/a?x=1 HTTP/1.1\r\nHost: localhost:8080\r\n"
	    "User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
	    "GET", "/rooms/a?x=1", "/rooms/a", "x=1", 11 },
	{ "browser WebSocket upgrade", "GET /chat HTTP/1.1\r\n"
	    "Host: example.com\r\nConnection: keep-alive, Upgrade\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Origin: https://example.com\r\n\r\n",
	    "GET", "/chat", "/chat", NULL, 11 },
	{ "leading CRLF and LF lines", "\r\n\n\r\nGET / HTTP/1.1\r\n"
	    "Host: a\r\n\r\n", "GET", "/", "/", NULL, 11 },
	{ "bare LF line ends", "GET /x HTTP/1.1\nHost: a\n\n",
	    "GET", "/x", "/x", NULL, 11 },
	{ "mixed CRLF and LF", "GET /x HTTP/1.1\r\nHost: a\n\r\n",
	    "GET", "/x", "/x", NULL, 11 },
	{ "HTTP/1.0 without Host", "GET /old HTTP/1.0\r\n\r\n",
	    "GET", "/old", "/old", NULL, 10 },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	    "OPTIONS", "*", "*", NULL, 11 },
	{ "absolute-form with port, path, query",
	    "GET http://example.com:8080/p/q?a=1&b HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET", "http://example.com:8080/p/q?a=1&b", "/p/q", "a=1&b", 11 },
	{ "absolute-form without path", "GET HTTPS://example.com HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", "GET", "HTTPS://example.com", "/", NULL, 11 },
	{ "absolute-form with query, no path", "GET http://h?q=1 HTTP/1.1\r\n"
	    "Host: h\r\n\r\n", "GET", "http://h?q=1", "/", "q=1", 11 },
	{ "absolute-form IPv6 host", "GET http://[::1]:80/a HTTP/1.1\r\n"
	    "Host: [::1]:80\r\n\r\n", "GET", "http://[::1]:80/a", "/a", NULL,
	    11 },
	{ "empty query", "GET /? HTTP/1.1\r\nHost: a\r\n\r\n",
	    "GET", "/?", "/", "", 11 },
	{ "second '?' is in the query",
	    "GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n",
	    "GET", "/a?b?c", "/a", "b?c", 11 },
	{ "percent escapes kept", "GET /a%20b HTTP/1.1\r\nHost: a\r\n\r\n",
	    "GET", "/a%20b", "/a%20b", NULL, 11 },
	{ "method of every tchar", "X!#$%&'*+-.^_`|~9 / HTTP/1.1\r\n"
	    "Host: a\r\n\r\n", "X!#$%&'*+-.^_`|~9", "/", "/", NULL, 11 },
	{ "obs-text, tab, colon in values; empty value",
	    "GET / HTTP/1.1\r\nHost: a\r\nX-T: \tv\xe9\xff:\t:x \t\r\n"
	    "X-Empty:\r\nX-Blank:  \t \r\n\r\n", "GET", "/", "/", NULL, 11 },
	{ "same Content-Length twice", "POST /p HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\ncontent-length: 5\r\n\r\n",
	    "POST", "/p", "/p", NULL, 11 },
	{ "Transfer-Encoding alone", "POST /p HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    "POST", "/p", "/p", NULL, 11 },
};

static void
test_good(void)
{
	const struct good_case	*c;
	struct httpreq		*r;
	size_t			 i, used, n;
	int			 rc;

	for (i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
		c = &good_cases[i];
		n = strlen(c->req);
		r = parse(c->req, n, MAX, &rc, &used);
		ok(rc == 1 && used == n &&
		    streq(httpreq_method(r), c->method) &&
		    streq(httpreq_target(r), c->target) &&
		    streq(httpreq_path(r), c->path) &&
		    streq(httpreq_query(r), c->query) &&
		    httpreq_version(r) == c->version &&
		    httpreq_error_detail(r) == NULL, "good: %s", c->name);
		httpreq_free(r);
		ok(splits_agree(c->req, n), "good, cut anywhere: %s", c->name);
	}
}

static void
test_fields(void)
{
	static const char	req[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "X-T: \tv\xe9\xff:\t:x \t\r\nX-Empty:\r\nX-Blank:  \t \r\n\r\n";
	struct httpreq		*r;
	const char		*name, *value;
	size_t			 used;
	int			 rc;

	r = parse(S(req), MAX, &rc, &used);
	ok(rc == 1 && httpreq_nheaders(r) == 4, "4 header fields");
	httpreq_header_at(r, 1, &name, &value);
	ok(streq(name, "X-T") && streq(value, "v\xe9\xff:\t:x"),
	    "OWS trimmed, inner tab, colons and obs-text kept");
	ok(streq(httpreq_header(r, "x-empty"), "") &&
	    streq(httpreq_header(r, "X-BLANK"), ""),
	    "empty and all-whitespace values are \"\"");
	ok(httpreq_header(r, "X-Missing") == NULL, "missing header: NULL");
	httpreq_header_at(r, 4, &name, &value);
	ok(name == NULL && value == NULL, "header_at out of range: NULLs");
	httpreq_free(r);
}

struct bad_case {
	const char	*req;
	size_t		 len;
	int		 err;
	const char	*detail;
};

#define BAD(lit, detail)	{ S(lit), HTTPREQ_EBAD, detail }
#define RL(line)		line "\r\nHost: a\r\n\r\n"
#define HF(lines)		"GET / HTTP/1.1\r\n" lines "\r\n"

static const struct bad_case bad_cases[] = {
	BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", "CR not followed by LF"),
	BAD("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", "CR not followed by LF"),
	BAD("\r\r\nGET / HTTP/1.1\r\n\r\n", "CR not followed by LF"),
	BAD(RL("GET\t/ HTTP/1.1"), "request line has a tab"),
	BAD(RL("GET /\x01 HTTP/1.1"), "request line has a control byte"),
	BAD(RL("GET /\0 HTTP/1.1"), "request line has a control byte"),
	BAD(RL("GET /\x7f HTTP/1.1"), "request line has a control byte"),
	BAD(RL("GET /\xc3\xa9 HTTP/1.1"), "request line has a non-ASCII byte"),
	BAD("\x16\x03\x01\x02\x00\x01", "request line has a control byte"),
	BAD(HF("Host: a\r\nX: a\0b\r\n"), "header line has a control byte"),
	BAD(HF("Host: a\r\nX: a\x7f\r\n"), "header line has a control byte"),
	BAD(HF("Host: a\r\nX: a\x1b\r\n"), "header line has a control byte"),
	BAD(HF("Host: a\r\nX: a\r\n b\r\n"),
	    "header line starts with whitespace (obs-fold)"),
	BAD(HF("Host: a\r\nX: a\r\n\tb\r\n"),
	    "header line starts with whitespace (obs-fold)"),
	BAD(HF(" Host: a\r\n"),
	    "header line starts with whitespace (obs-fold)"),
	BAD(RL(" GET / HTTP/1.1"), "request line starts with a space"),
	BAD(RL("GET / HTTP/1.1 "), "request line ends with a space"),
	BAD(RL("GET HTTP/1.1"), "request line has no request-target"),
	BAD(RL("GET /"), "request line has no HTTP version"),
	BAD(RL("GET"), "request line has no HTTP version"),
	BAD(RL("G(T / HTTP/1.1"), "method is not a token"),
	BAD(RL("GET  / HTTP/1.1"),
	    "request line has more than one space between its parts"),
	BAD(RL("GET /  HTTP/1.1"),
	    "request line has more than one space between its parts"),
	BAD(RL("GET  HTTP/1.1"),
	    "request line has more than one space between its parts"),
	BAD(RL("GET /a b HTTP/1.1"), "request-target has a space"),
	BAD(RL("GET / HTTP/1"), "HTTP version is not HTTP/DIGIT.DIGIT"),
	BAD(RL("GET / http/1.1"), "HTTP version is not HTTP/DIGIT.DIGIT"),
	BAD(RL("GET / HTTP/1.1x"), "HTTP version is not HTTP/DIGIT.DIGIT"),
	BAD(RL("GET / HTTP/11.1"), "HTTP version is not HTTP/DIGIT.DIGIT"),
	BAD(RL("GET / HTTP/1.1 x"),
	    "request line has bytes after the HTTP version"),
	{ S(RL("GET / HTTP/2.0")), HTTPREQ_EVERSION,
	    "HTTP version is not 1.0 or 1.1" },
	{ S(RL("GET / HTTP/0.9")), HTTPREQ_EVERSION,
	    "HTTP version is not 1.0 or 1.1" },
	{ S(RL("GET / HTTP/1.2")), HTTPREQ_EVERSION,
	    "HTTP version is not 1.0 or 1.1" },
	{ S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), HTTPREQ_EVERSION,
	    "HTTP version is not 1.0 or 1.1" },
	BAD(RL("GET /a#b HTTP/1.1"), "request-target has a fragment ('#')"),
	BAD(RL("GET * HTTP/1.1"),
	    "asterisk-form target with a method other than OPTIONS"),
	BAD(RL("GET ws://h/ HTTP/1.1"),
	    "absolute-form target scheme is not http or https"),
	BAD(RL("GET httpx://h/ HTTP/1.1"),
	    "absolute-form target scheme is not http or https"),
	BAD(RL("GET http:/h HTTP/1.1"),
	    "absolute-form target has no '//' after the scheme"),
	BAD(RL("GET a/b HTTP/1.1"),
	    "request-target is not in origin, absolute or asterisk form"),
	BAD(RL("OPTIONS *x HTTP/1.1"),
	    "request-target is not in origin, absolute or asterisk form"),
	BAD(RL("GET 1http://h/ HTTP/1.1"),
	    "request-target is not in origin, absolute or asterisk form"),
	BAD(RL("GET http:///p HTTP/1.1"), "absolute-form target has no host"),
	BAD(RL("GET http://:80/p HTTP/1.1"),
	    "absolute-form target has no host"),
	BAD(RL("GET http://u:p@h/ HTTP/1.1"),
	    "absolute-form target has userinfo ('@')"),
	BAD(HF("Host: a\r\nNoColon\r\n"), "header line has no colon"),
	BAD(HF("Host: a\r\n: v\r\n"), "header name is empty"),
	BAD(HF("Host : a\r\n"), "header name has whitespace before the colon"),
	BAD(HF("Host: a\r\nX\t: a\r\n"),
	    "header name has whitespace before the colon"),
	BAD(HF("Host: a\r\nX(y): a\r\n"), "header name is not a token"),
	BAD(HF("Host: a\r\nX\xe9: a\r\n"), "header name is not a token"),
	BAD(HF("Host: a\r\nX y: a\r\n"), "header name is not a token"),
	BAD(HF("Host: a\r\nhost: a\r\n"), "more than one Host header"),
	BAD("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
	    "more than one Host header"),
	BAD(HF("Host:\r\n"), "Host header is empty"),
	BAD(HF("Host: \t \r\n"), "Host header is empty"),
	BAD(HF("Host: a b\r\n"), "Host header is not host[:port]"),
	BAD(HF("Host: a/b\r\n"), "Host header is not host[:port]"),
	BAD(HF("Host: u@a\r\n"), "Host header is not host[:port]"),
	BAD(HF("Host: a\r\nContent-Length: 5x\r\n"),
	    "Content-Length is not a number"),
	BAD(HF("Host: a\r\nContent-Length: -1\r\n"),
	    "Content-Length is not a number"),
	BAD(HF("Host: a\r\nContent-Length: \r\n"),
	    "Content-Length is not a number"),
	BAD(HF("Host: a\r\nContent-Length: 5, 5\r\n"),
	    "Content-Length is not a number"),
	BAD(HF("Host: a\r\nContent-Length: +5\r\n"),
	    "Content-Length is not a number"),
	BAD(HF("Host: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n"),
	    "Content-Length headers differ"),
	BAD(HF("Host: a\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n"),
	    "both Content-Length and Transfer-Encoding"),
	BAD(HF("Host: a\r\ntransfer-encoding: chunked\r\n"
	    "content-length: 0\r\n"),
	    "both Content-Length and Transfer-Encoding"),
	BAD(HF("X: a\r\n"), "HTTP/1.1 request has no Host header"),
	BAD("GET / HTTP/1.1\n\n", "HTTP/1.1 request has no Host header"),
};

static void
test_bad(void)
{
	const struct bad_case	*c;
	struct httpreq		*r;
	size_t			 i, used;
	int			 rc;

	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		c = &bad_cases[i];
		r = parse(c->req, c->len, MAX, &rc, &used);
		ok(rc == c->err && used == (size_t)-1 &&
		    streq(httpreq_error_detail(r), c->detail) &&
		    httpreq_method(r) == NULL, "bad (%s): case %zu", c->detail,
		    i);
		httpreq_free(r);
		ok(splits_agree(c->req, c->len), "bad, cut anywhere: case %zu",
		    i);
	}
}

static void
test_limit(void)
{
	static const char	head[] = HEAD;
	size_t			n = sizeof head - 1, used, i;
	struct httpreq		*r;
	char			*big;
	int			rc, good;

	r = parse(S(head), n, &rc, &used);
	ok(rc == 1 && used == n, "a head of exactly max_bytes is accepted");
	ok(r->cap <= n, "the buffer never grows past max_bytes");
	httpreq_free(r);
	r = parse(S(head), n - 1, &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG && httpreq_status(rc) == 431,
	    "max_bytes + 1 (the final LF): ETOOBIG, 431");
	httpreq_free(r);
	r = parse(S("\r\n\n" HEAD), n + 3, &rc, &used);
	ok(rc == 1 && used == n + 3, "leading empty lines count: fits");
	httpreq_free(r);
	r = parse(S("\r\n\n" HEAD), n + 2, &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG, "leading empty lines count: one over");
	httpreq_free(r);
	r = parse(S("\r\n\r\n\r\n"), 5, &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG, "nothing but empty lines, over the limit");
	httpreq_free(r);

	/* Passed in the middle of the request line, a byte at a time. */
	r = httpreq_create(10);
	good = 1;
	for (i = 0; i < 10; i++)
		good &= httpreq_feed(r, (const uint8_t *)"GET /abcdefgh" + i,
		    1, &used) == 0;
	ok(good, "10 bytes of a request line under a limit of 10: waits");
	ok(httpreq_feed(r, (const uint8_t *)"x", 1, &used) ==
	    HTTPREQ_ETOOBIG, "the 11th byte: ETOOBIG at once");
	ok(streq(httpreq_error_detail(r),
	    "request head is larger than the limit"), "ETOOBIG detail");
	httpreq_free(r);

	/* No line end at all, fed in one piece larger than the limit. */
	big = xmalloc(5000);
	memset(big, 'A', 5000);
	r = parse(big, 4096, 4096, &rc, &used);
	ok(rc == 0 && r->cap <= 4096, "4096 bytes, no LF, limit 4096: waits");
	ok(httpreq_feed(r, (const uint8_t *)big, 1, &used) == HTTPREQ_ETOOBIG,
	    "4097th byte without LF: ETOOBIG");
	httpreq_free(r);
	r = parse(big, 5000, 4096, &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG && r->len <= 4096 && r->cap <= 4096,
	    "5000 bytes in one read, limit 4096: ETOOBIG, <= 4096 kept");
	httpreq_free(r);
	free(big);

	/* Passed in a header line, with its bytes arriving in one read. */
	r = parse(S("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n"), 30,
	    &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG, "limit passed inside a header line");
	httpreq_free(r);
	r = parse(S(HEAD), 0, &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG, "limit 0: the first byte is too many");
	httpreq_free(r);
	/* A line over the limit is too big, whatever else is wrong later. */
	r = parse(S("GET /\x01 HTTP/1.1\r\n\r\n"), 5, &rc, &used);
	ok(rc == HTTPREQ_ETOOBIG, "the limit is met before a later bad byte");
	httpreq_free(r);
}

static void
test_used(void)
{
	/* A masked text frame "Hello" (RFC 6455 5.7) right behind the head. */
	static const char	frames[] = HEAD
	    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	static const char	lf[] = "GET / HTTP/1.1\nHost: a\n\nGET /next";
	size_t			n = sizeof HEAD - 1, used;
	struct httpreq		*r;
	int			rc;

	r = parse(S(frames), MAX, &rc, &used);
	ok(rc == 1 && used == n, "frames after the head are not consumed");
	httpreq_free(r);
	r = parse(S(lf), MAX, &rc, &used);
	ok(rc == 1 && used == 24, "bare LF head: used ends after its \\n\\n");
	httpreq_free(r);

	/* The head ends in the second read, frames behind it. */
	r = httpreq_create(MAX);
	ok(httpreq_feed(r, (const uint8_t *)frames, 20, &used) == 0,
	    "first 20 bytes: waits");
	used = 0;
	rc = httpreq_feed(r, (const uint8_t *)frames + 20,
	    sizeof frames - 1 - 20, &used);
	ok(rc == 1 && used == n - 20, "second read: used counts from it");
	ok(httpreq_feed(r, (const uint8_t *)"x", 1, &used) == 1 && used == 0,
	    "fed again after the end: 1, nothing used");
	httpreq_free(r);

	r = parse(S(RL("GET /a b HTTP/1.1")), MAX, &rc, &used);
	ok(httpreq_feed(r, (const uint8_t *)HEAD, sizeof HEAD - 1, &used) ==
	    HTTPREQ_EBAD, "fed again after an error: the same error");
	httpreq_free(r);

	r = httpreq_create(MAX);
	ok(httpreq_feed(r, (const uint8_t *)"", 0, &used) == 0 &&
	    httpreq_method(r) == NULL && httpreq_path(r) == NULL &&
	    httpreq_header(r, "Host") == NULL && httpreq_nheaders(r) == 0 &&
	    httpreq_error_detail(r) == NULL,
	    "empty feed: waits; accessors NULL before the end");
	httpreq_free(r);
	httpreq_free(NULL);
	ok(1, "httpreq_free(NULL)");
}

static void
test_join(void)
{
	static const char	req[] = "GET / HTTP/1.1\r\nAccept: a\r\n"
	    "Host: h\r\nX-E:\r\naccept: b , c\r\nX-E: y\r\nACCEPT:d\r\n\r\n";
	struct httpreq		*r;
	const char		*name, *value;
	size_t			 used;
	int			 rc;

	r = parse(S(req), MAX, &rc, &used);
	ok(rc == 1 && httpreq_nheaders(r) == 6, "6 fields, as sent");
	ok(streq(httpreq_header(r, "Accept"), "a, b , c, d"),
	    "repeated header joined with \", \" in order");
	ok(streq(httpreq_header(r, "x-e"), ", y"), "empty values joined too");
	ok(streq(httpreq_header(r, "HOST"), "h"), "single header as is");
	httpreq_header_at(r, 3, &name, &value);
	ok(streq(name, "accept") && streq(value, "b , c"),
	    "header_at gives each line, name as sent");
	httpreq_free(r);
}

static void
test_has_token(void)
{
	static const char	req[] = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
	    "X-L: ,, a ,\t\tb\t,\r\nX-L: c\r\nX-Q: \"x, y\"\r\n\r\n";
	struct httpreq		*r;
	size_t			 used;
	int			 rc;

	r = parse(S(req), MAX, &rc, &used);
	ok(rc == 1, "token request parsed");
	ok(httpreq_has_token(r, "connection", "upgrade") &&
	    httpreq_has_token(r, "Connection", "KEEP-ALIVE"),
	    "Connection: keep-alive, Upgrade has both, any case");
	ok(httpreq_has_token(r, "Upgrade", "websocket"), "a single item");
	ok(!httpreq_has_token(r, "Upgrade", "websock") &&
	    !httpreq_has_token(r, "Upgrade", "websockets"),
	    "a prefix or a longer word is not the token");
	ok(httpreq_has_token(r, "X-L", "a") && httpreq_has_token(r, "X-L",
	    "b") && httpreq_has_token(r, "X-L", "c"),
	    "empty items and OWS ignored; across repeated headers");
	ok(!httpreq_has_token(r, "X-L", "") && !httpreq_has_token(r, "X-L",
	    "a ,"), "empty token, or one with a comma: no");
	ok(!httpreq_has_token(r, "Missing", "a"), "missing header: no");
	httpreq_free(r);
}

static void
test_decode(void)
{
	char	out[16];

	ok(httpreq_decode("/a%20b%2Fc+d", out, sizeof out) == 0 &&
	    strcmp(out, "/a b/c+d") == 0, "%%20 and %%2F decoded, '+' kept");
	ok(httpreq_decode("%e2%82%AC", out, sizeof out) == 0 &&
	    strcmp(out, "\xe2\x82\xac") == 0, "hex in either case");
	ok(httpreq_decode("", out, 1) == 0 && out[0] == '\0', "empty string");
	ok(httpreq_decode("/a%", out, sizeof out) == -EINVAL && out[0] == '\0',
	    "'%%' at the end: EINVAL, out empty");
	ok(httpreq_decode("/a%4", out, sizeof out) == -EINVAL, "%%4: EINVAL");
	ok(httpreq_decode("/a%zz", out, sizeof out) == -EINVAL,
	    "%%zz: EINVAL");
	ok(httpreq_decode("/a%g0", out, sizeof out) == -EINVAL,
	    "%%g0: EINVAL");
	ok(httpreq_decode("/a%00b", out, sizeof out) == -EINVAL,
	    "%%00: EINVAL");
	ok(httpreq_decode("abc", out, 4) == 0 && strcmp(out, "abc") == 0,
	    "fits exactly with its NUL");
	ok(httpreq_decode("abc", out, 3) == -ENAMETOOLONG && out[0] == '\0',
	    "one byte short: ENAMETOOLONG, out empty");
	ok(httpreq_decode("%41%42", out, 3) == 0 && strcmp(out, "AB") == 0,
	    "escapes take one byte of out each");
	ok(httpreq_decode("", out, 0) == -ENAMETOOLONG, "size 0: ENAMETOOLONG");
}

static void
test_codes(void)
{
	ok(httpreq_status(HTTPREQ_EBAD) == 400 &&
	    httpreq_status(HTTPREQ_ETOOBIG) == 431 &&
	    httpreq_status(HTTPREQ_EVERSION) == 505 &&
	    httpreq_status(-EINVAL) == 500, "statuses 400, 431, 505; else 500");
	ok(strcmp(httpreq_strerror(HTTPREQ_EBAD),
	    httpreq_strerror(HTTPREQ_ETOOBIG)) != 0 &&
	    strcmp(httpreq_strerror(HTTPREQ_ETOOBIG),
	    httpreq_strerror(HTTPREQ_EVERSION)) != 0 &&
	    strcmp(httpreq_strerror(-1299), "unknown httpreq error") == 0 &&
	    strcmp(httpreq_strerror(-ENOMEM), strerror(ENOMEM)) == 0,
	    "strerror names each code");
}

int
main(void)
{
	test_good();
	test_fields();
	test_bad();
	test_limit();
	test_used();
	test_join();
	test_has_token();
	test_decode();
	test_codes();
	return tap_done();
}
