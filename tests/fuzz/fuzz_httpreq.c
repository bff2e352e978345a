/*
 * fuzz_httpreq: the request head parser (gateway/httpreq.c) on whatever a
 * client may send before a WebSocket upgrade. Each input is parsed whole,
 * then again in pieces of 1 to 13 bytes, each piece from its own
 * allocation freed after the call (ASan then sees a pointer the parser
 * kept into what it was fed); both ways must agree on the result, the
 * bytes used and every field, whatever the cut. A parsed head is checked
 * against httpreq.h, and the limit is checked at its exact edge: the same
 * bytes pass with max_bytes set to what was taken, and fail with ETOOBIG
 * one byte below.
 */
#include <errno.h>
#include <string.h>

#include "driver.h"
#include "httpreq.h"
#include "xmalloc.h"

#define FUZZ_MAX	2048	/* below libFuzzer's default -max_len */
#define FUZZ_PIECES	13	/* pieces of 1..13 bytes, in turn */

static int
fuzz_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* RFC 9110 token, written apart from the parser's. */
static int
fuzz_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z') || strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	}
	return 1;
}

/* Feeds data whole. @return the parser; *rc, *used as returned. */
static struct httpreq *
fuzz_whole(const uint8_t *data, size_t size, size_t max, int *rc,
    size_t *used)
{
	struct httpreq	*r = httpreq_create(max);

	*used = (size_t)-1;
	*rc = httpreq_feed(r, data, size, used);
	if (*rc != 1)
		FUZZ_EXPECT(*used == (size_t)-1);
	return r;
}

/* Feeds data in pieces, each its own allocation; *used counts from data. */
static struct httpreq *
fuzz_pieces(const uint8_t *data, size_t size, int *rc, size_t *used)
{
	struct httpreq	*r = httpreq_create(FUZZ_MAX);
	uint8_t		*piece;
	size_t		 pos = 0, n, k = 0, u;

	*rc = 0;
	*used = (size_t)-1;
	while (pos < size && *rc == 0) {
		n = 1 + k++ % FUZZ_PIECES;
		if (n > size - pos)
			n = size - pos;
		piece = xmemdup(data + pos, n);
		*rc = httpreq_feed(r, piece, n, &u);
		free(piece);
		if (*rc == 1) {
			FUZZ_EXPECT(u >= 1 && u <= n);
			*used = pos + u;
		}
		pos += n;
	}
	return r;
}

/* Both parsers saw the same request, or broke the same rule. */
static void
fuzz_same(const struct httpreq *a, const struct httpreq *b)
{
	const char	*an, *av, *bn, *bv;
	size_t		 i;

	FUZZ_EXPECT(fuzz_streq(httpreq_error_detail(a),
	    httpreq_error_detail(b)));
	FUZZ_EXPECT(fuzz_streq(httpreq_method(a), httpreq_method(b)));
	FUZZ_EXPECT(fuzz_streq(httpreq_target(a), httpreq_target(b)));
	FUZZ_EXPECT(fuzz_streq(httpreq_path(a), httpreq_path(b)));
	FUZZ_EXPECT(fuzz_streq(httpreq_query(a), httpreq_query(b)));
	FUZZ_EXPECT(httpreq_version(a) == httpreq_version(b));
	FUZZ_EXPECT(httpreq_nheaders(a) == httpreq_nheaders(b));
	for (i = 0; i < httpreq_nheaders(a); i++) {
		httpreq_header_at(a, i, &an, &av);
		httpreq_header_at(b, i, &bn, &bv);
		FUZZ_EXPECT(fuzz_streq(an, bn) && fuzz_streq(av, bv));
		FUZZ_EXPECT(fuzz_streq(httpreq_header(a, an),
		    httpreq_header(b, bn)));
	}
}

/* What httpreq.h promises of a request line. */
static void
fuzz_check_line(const struct httpreq *r)
{
	const char	*t = httpreq_target(r), *path = httpreq_path(r);
	const char	*q = httpreq_query(r);
	char		 out[64];
	int		 err;

	FUZZ_EXPECT(fuzz_token(httpreq_method(r)));
	FUZZ_EXPECT(*t != '\0' && strchr(t, '#') == NULL);
	for (; *t != '\0'; t++)
		FUZZ_EXPECT(*t >= 0x21 && *t <= 0x7e);
	FUZZ_EXPECT(path[0] == '/' || (strcmp(path, "*") == 0 &&
	    strcmp(httpreq_method(r), "OPTIONS") == 0 && q == NULL));
	FUZZ_EXPECT(strchr(path, '?') == NULL);
	if (q != NULL)
		FUZZ_EXPECT(strstr(httpreq_target(r), q) != NULL);
	FUZZ_EXPECT(httpreq_version(r) == 10 || httpreq_version(r) == 11);
	err = httpreq_decode(path, out, sizeof out);
	FUZZ_EXPECT(err == 0 || err == -EINVAL || err == -ENAMETOOLONG);
	FUZZ_EXPECT(err == 0 ? strlen(out) <= strlen(path) : out[0] == '\0');
}

/* What httpreq.h promises of a parsed head of used bytes of data. */
static void
fuzz_check_head(const struct httpreq *r, const uint8_t *data, size_t used)
{
	const char		*name, *value, *joined, *v;
	size_t			 i, n;

	FUZZ_EXPECT(used >= 1 && data[used - 1] == '\n');
	fuzz_check_line(r);
	n = httpreq_nheaders(r);
	for (i = 0; i < n; i++) {
		httpreq_header_at(r, i, &name, &value);
		FUZZ_EXPECT(name != NULL && value != NULL && fuzz_token(name));
		for (v = value; *v != '\0'; v++)
			FUZZ_EXPECT((*v == '\t' ||
			    (unsigned char)*v >= 0x20) && *v != 0x7f);
		FUZZ_EXPECT(value[0] != ' ' && value[0] != '\t');
		FUZZ_EXPECT(v == value || (v[-1] != ' ' && v[-1] != '\t'));
		joined = httpreq_header(r, name);
		FUZZ_EXPECT(joined != NULL && strstr(joined, value) != NULL);
		(void)httpreq_has_token(r, name, value);
	}
	httpreq_header_at(r, n, &name, &value);
	FUZZ_EXPECT(name == NULL && value == NULL);
	if (httpreq_version(r) == 11)
		FUZZ_EXPECT(httpreq_header(r, "host") != NULL);
	(void)httpreq_has_token(r, "Connection", "upgrade");
}

/* The limit at its edge: max bytes pass, max - 1 is one too many. */
static void
fuzz_check_limit(const uint8_t *data, size_t max, int rc, size_t used)
{
	struct httpreq	*r;
	size_t		 u;
	int		 rc2;

	r = fuzz_whole(data, max, max, &rc2, &u);
	FUZZ_EXPECT(rc2 == rc && (rc != 1 || u == used));
	httpreq_free(r);
	if (max == 0)
		return;
	r = fuzz_whole(data, max, max - 1, &rc2, &u);
	FUZZ_EXPECT(rc2 == HTTPREQ_ETOOBIG);
	httpreq_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq	*whole, *pieces;
	size_t		 used, pused;
	int		 rc, prc;

	whole = fuzz_whole(data, size, FUZZ_MAX, &rc, &used);
	pieces = fuzz_pieces(data, size, &prc, &pused);
	FUZZ_EXPECT(prc == rc && pused == used);
	fuzz_same(whole, pieces);
	FUZZ_EXPECT(httpreq_strerror(rc) != NULL);
	if (rc == 1) {
		FUZZ_EXPECT(used <= size);
		FUZZ_EXPECT(httpreq_error_detail(whole) == NULL);
		fuzz_check_head(whole, data, used);
		fuzz_check_limit(data, used, rc, used);
	} else if (rc == 0) {
		FUZZ_EXPECT(size <= FUZZ_MAX && httpreq_method(whole) == NULL);
		fuzz_check_limit(data, size, rc, 0);
	} else {
		FUZZ_EXPECT(rc == HTTPREQ_EBAD || rc == HTTPREQ_ETOOBIG ||
		    rc == HTTPREQ_EVERSION);
		FUZZ_EXPECT(httpreq_status(rc) == 400 ||
		    httpreq_status(rc) == 431 || httpreq_status(rc) == 505);
		FUZZ_EXPECT(httpreq_error_detail(whole) != NULL &&
		    httpreq_method(whole) == NULL &&
		    httpreq_nheaders(whole) == 0);
	}
	httpreq_free(whole);
	httpreq_free(pieces);
	return 0;
}
