/*
 * Unit tests for gateway/fcgi.c: every encoded byte is compared with
 * bytes written out by hand from the FastCGI 1.0 specification, and the
 * decoder is fed streams cut at every possible byte boundary, the way a
 * non-blocking socket may deliver them.
 */
#include "fcgi.c"
#include "xmalloc.h"

#include "tap.h"

/* Whether b holds exactly want[0..n). */
static int
same(const struct buf *b, const void *want, size_t n)
{
	return buf_size(b) == n && memcmp(buf_head(b), want, n) == 0;
}

static void
test_begin(void)
{
	static const uint8_t want[] = {
		1, 1, 0x12, 0x34, 0, 8, 0, 0,	/* v1 BEGIN id 0x1234 len 8 */
		0, 1, 1, 0, 0, 0, 0, 0,		/* RESPONDER, KEEP_CONN */
	};
	struct buf	b = BUF_INIT;

	fcgi_encode_begin(&b, 0x1234);
	ok(same(&b, want, sizeof want), "BEGIN_REQUEST bytes");
	buf_free(&b);
}

static void
test_params(void)
{
	static const uint8_t want_short[] = { 1, 2, 'A', 'b', 'c' };
	struct buf	nv = BUF_INIT;
	char		name[200], *value;
	const uint8_t	*p;

	value = xmalloc(70000);
	fcgi_param_add_str(&nv, "A", "bc");
	ok(same(&nv, want_short, sizeof want_short), "short name and value");
	buf_reset(&nv);
	fcgi_param_add(&nv, "K", 1, "", 0);
	ok(same(&nv, "\x01\x00K", 3), "empty value: length 0, no bytes");

	/* 127 is the last 1-byte length, 128 the first 4-byte one. */
	memset(name, 'n', sizeof name);
	memset(value, 'v', 70000);
	buf_reset(&nv);
	fcgi_param_add(&nv, name, 127, value, 128);
	p = buf_head(&nv);
	ok(buf_size(&nv) == 1 + 4 + 127 + 128, "127/128 pair size");
	ok(p[0] == 0x7f && p[1] == 0x80 && p[2] == 0 && p[3] == 0 &&
	    p[4] == 0x80, "127 in one byte, 128 as 80 00 00 80");
	ok(p[5] == 'n' && p[131] == 'n' && p[132] == 'v' && p[259] == 'v',
	    "name then value follow the lengths");

	buf_reset(&nv);
	fcgi_param_add(&nv, name, 200, value, 300);
	p = buf_head(&nv);
	ok(buf_size(&nv) == 4 + 4 + 200 + 300, "long pair size");
	ok(memcmp(p, "\x80\x00\x00\xc8\x80\x00\x01\x2c", 8) == 0,
	    "200 and 300 as 4-byte lengths with the high bit");

	buf_reset(&nv);
	fcgi_param_add(&nv, name, 130, value, 70000);
	p = buf_head(&nv);
	ok(memcmp(p, "\x80\x00\x00\x82\x80\x01\x11\x70", 8) == 0,
	    "lengths above 65535 use all four bytes");
	ok(buf_size(&nv) == 8 + 130 + 70000 && p[8 + 130] == 'v',
	    "a value of 70000 bytes follows");
	free(value);
	buf_free(&nv);
}

/* Checks one record header at p. */
static int
header_is(const uint8_t *p, uint8_t type, uint16_t id, uint16_t clen,
    uint8_t pad)
{
	return p[0] == 1 && p[1] == type && p[2] == id >> 8 &&
	    p[3] == (id & 0xff) && p[4] == clen >> 8 &&
	    p[5] == (clen & 0xff) && p[6] == pad && p[7] == 0;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	while (n-- > 0) {
		if (*p++ != 0)
			return 0;
	}
	return 1;
}

static void
test_stream_small(void)
{
	static const uint8_t want[] = {
		1, 4, 0, 1, 0, 5, 3, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0,
		1, 4, 0, 1, 0, 0, 0, 0,
	};
	static const uint8_t want8[] = {
		1, 5, 0, 1, 0, 8, 0, 0, '1', '2', '3', '4', '5', '6', '7', '8',
		1, 5, 0, 1, 0, 0, 0, 0,
	};
	static const uint8_t want_empty[] = { 1, 5, 0, 1, 0, 0, 0, 0 };
	struct buf	b = BUF_INIT;

	fcgi_encode_stream(&b, FCGI_PARAMS, 1, "hello", 5);
	ok(same(&b, want, sizeof want), "5 bytes: padded by 3, then the end");
	buf_reset(&b);
	fcgi_encode_stream(&b, FCGI_STDIN, 1, "12345678", 8);
	ok(same(&b, want8, sizeof want8), "8 bytes: no padding");
	buf_reset(&b);
	fcgi_encode_stream(&b, FCGI_STDIN, 1, NULL, 0);
	ok(same(&b, want_empty, sizeof want_empty),
	    "empty stream is the empty record alone");
	buf_free(&b);
}

static void
test_stream_chunks(void)
{
	struct buf	 b = BUF_INIT;
	uint8_t		*data;
	const uint8_t	*p;
	size_t		 n = 2 * 65535 + 10, i;

	data = xmalloc(n);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	fcgi_encode_stream(&b, FCGI_STDIN, 2, data, n);
	p = buf_head(&b);
	ok(buf_size(&b) == 2 * (8 + 65535 + 1) + (8 + 10 + 6) + 8,
	    "2*65535+10 bytes: two full records, a short one, the end");
	ok(header_is(p, FCGI_STDIN, 2, 65535, 1),
	    "first record: 65535 + pad 1");
	ok(memcmp(p + 8, data, 65535) == 0 && p[8 + 65535] == 0,
	    "first record content and zero padding");
	p += 8 + 65535 + 1;
	ok(header_is(p, FCGI_STDIN, 2, 65535, 1), "second record: 65535 + 1");
	ok(memcmp(p + 8, data + 65535, 65535) == 0 && p[8 + 65535] == 0,
	    "second record content");
	p += 8 + 65535 + 1;
	ok(header_is(p, FCGI_STDIN, 2, 10, 6), "third record: 10 + pad 6");
	ok(memcmp(p + 8, data + 2 * 65535, 10) == 0 && all_zero(p + 18, 6),
	    "third record content and padding");
	p += 8 + 10 + 6;
	ok(header_is(p, FCGI_STDIN, 2, 0, 0), "terminating empty record");

	buf_reset(&b);
	fcgi_encode_stream(&b, FCGI_STDIN, 1, data, 65535);
	p = buf_head(&b);
	ok(buf_size(&b) == 8 + 65535 + 1 + 8 &&
	    header_is(p, FCGI_STDIN, 1, 65535, 1) &&
	    header_is(p + 8 + 65536, FCGI_STDIN, 1, 0, 0),
	    "exactly 65535 bytes: one record, then the end");
	buf_reset(&b);
	fcgi_encode_stream(&b, FCGI_STDIN, 1, data, 65536);
	p = buf_head(&b) + 8 + 65536;
	ok(buf_size(&b) == 8 + 65536 + 8 + 1 + 7 + 8 &&
	    header_is(p, FCGI_STDIN, 1, 1, 7) && p[8] == data[65535] &&
	    all_zero(p + 9, 7) && header_is(p + 16, FCGI_STDIN, 1, 0, 0),
	    "65536 bytes: the last byte alone, padded by 7");
	free(data);
	buf_free(&b);
}

static void
test_request(void)
{
	static const uint8_t want[] = {
		1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
		1, 4, 0, 1, 0, 7, 1, 0, 2, 3, 'A', 'B', 'x', 'y', 'z', 0,
		1, 4, 0, 1, 0, 0, 0, 0,
		1, 5, 0, 1, 0, 2, 6, 0, 'h', 'i', 0, 0, 0, 0, 0, 0,
		1, 5, 0, 1, 0, 0, 0, 0,
	};
	static const uint8_t want_empty[] = {
		1, 1, 0, 9, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
		1, 4, 0, 9, 0, 0, 0, 0,
		1, 5, 0, 9, 0, 0, 0, 0,
	};
	struct buf	nv = BUF_INIT, out = BUF_INIT;

	fcgi_param_add_str(&nv, "AB", "xyz");
	buf_append_str(&out, "prefix");
	buf_consume(&out, 6);
	fcgi_encode_request(&out, 1, &nv, "hi", 2);
	ok(same(&out, want, sizeof want), "whole request, byte exact");
	ok(buf_size(&nv) == 7, "params buffer is left alone");
	buf_reset(&out);
	buf_reset(&nv);
	fcgi_encode_request(&out, 9, &nv, NULL, 0);
	ok(same(&out, want_empty, sizeof want_empty),
	    "no params, no body: begin and two empty records");
	buf_free(&nv);
	buf_free(&out);
}

/* A record as the decoder should report it. */
struct expect {
	uint8_t		 type;
	uint16_t	 id;
	const char	*content;
	uint16_t	 len;
	uint32_t	 app_status;
	uint8_t		 protocol_status;
};

/* STDOUT (padded), empty STDOUT, STDERR (padding 255), END_REQUEST. */
static uint8_t stream[] = {
	1, 6, 0, 1, 0, 5, 3, 0, 'S', 't', 'a', 't', 'u', 0, 0, 0,
	1, 6, 0, 1, 0, 0, 0, 0,
	1, 7, 0, 1, 0, 3, 255, 0, 'e', 'r', 'r',
	/* 255 bytes of padding follow, then END_REQUEST (built at run time) */
};
static const struct expect stream_want[] = {
	{ FCGI_STDOUT, 1, "Statu", 5, 0, 0 },
	{ FCGI_STDOUT, 1, "", 0, 0, 0 },
	{ FCGI_STDERR, 1, "err", 3, 0, 0 },
	{ FCGI_END_REQUEST, 1, "\x01\x02\x03\x04\x00\x00\x00\x00", 8,
	    0x01020304, FCGI_REQUEST_COMPLETE },
};
#define NWANT	(sizeof stream_want / sizeof stream_want[0])

static void
build_stream(struct buf *b)
{
	static const uint8_t end[] = {
		1, 3, 0, 1, 0, 8, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0,
	};
	uint8_t		pad[255];

	memset(pad, 0xaa, sizeof pad);	/* padding content is not checked */
	buf_append(b, stream, sizeof stream);
	buf_append(b, pad, sizeof pad);
	buf_append(b, end, sizeof end);
}

static int
record_is(const struct fcgi_record *r, const struct expect *e)
{
	return r->type == e->type && r->request_id == e->id &&
	    r->content_len == e->len &&
	    memcmp(r->content, e->content, e->len) == 0 &&
	    r->app_status == e->app_status &&
	    r->protocol_status == e->protocol_status;
}

/* Decodes every whole record in in, consuming them; 0 or an error. */
static int
drain(struct buf *in, size_t *got, int *good)
{
	struct fcgi_record	rec;
	int			n;

	while ((n = fcgi_decode(buf_head(in), buf_size(in), &rec)) > 0) {
		if (*got >= NWANT || !record_is(&rec, &stream_want[*got]))
			*good = 0;
		(*got)++;
		buf_consume(in, (size_t)n);
	}
	return n;
}

static void
test_decode_splits(void)
{
	struct buf	whole = BUF_INIT, in = BUF_INIT;
	size_t		len, cut, got, i;
	int		good = 1, errors = 0;

	build_stream(&whole);
	len = buf_size(&whole);
	/* Two reads, cut at every byte boundary. */
	for (cut = 0; cut <= len; cut++) {
		got = 0;
		buf_reset(&in);
		buf_append(&in, buf_head(&whole), cut);
		errors += drain(&in, &got, &good) != 0;
		buf_append(&in, buf_head(&whole) + cut, len - cut);
		errors += drain(&in, &got, &good) != 0;
		if (got != NWANT || buf_size(&in) != 0)
			good = 0;
	}
	ok(good && errors == 0,
	    "stream cut at each of %zu boundaries decodes the same 4 records",
	    len + 1);

	/* One byte per read: every record is split at every boundary. */
	good = 1;
	got = 0;
	errors = 0;
	buf_reset(&in);
	for (i = 0; i < len; i++) {
		buf_append_byte(&in, buf_head(&whole)[i]);
		errors += drain(&in, &got, &good) != 0;
	}
	ok(good && errors == 0 && got == NWANT,
	    "byte-at-a-time feed decodes the same records");

	/* All records in one buffer, decoded in place. */
	good = 1;
	got = 0;
	buf_reset(&in);
	buf_append(&in, buf_head(&whole), len);
	ok(drain(&in, &got, &good) == 0 && good && got == NWANT,
	    "several records in one buffer");
	buf_free(&whole);
	buf_free(&in);
}

static void
test_decode_single(void)
{
	static const uint8_t end[] = {
		1, 3, 0xab, 0xcd, 0, 8, 0, 0,
		0xff, 0xff, 0xff, 0xfe, 3, 0, 0, 0,
	};
	struct fcgi_record	rec;
	size_t			i;
	int			partial = 1;

	for (i = 0; i < sizeof end; i++) {
		memset(&rec, 0x5a, sizeof rec);
		if (fcgi_decode(end, i, &rec) != 0 || rec.type != 0x5a)
			partial = 0;
	}
	ok(partial, "every proper prefix: 0, record untouched");
	ok(fcgi_decode(end, sizeof end, &rec) == 16, "END_REQUEST spans 16");
	ok(rec.type == FCGI_END_REQUEST && rec.request_id == 0xabcd,
	    "END_REQUEST type and request id");
	ok(rec.app_status == 0xfffffffe && rec.protocol_status == 3,
	    "END_REQUEST app status (32-bit BE) and protocol status");
}

static void
test_decode_errors(void)
{
	struct fcgi_record	rec;
	uint8_t			r[16] = { 1, 6, 0, 1, 0, 0, 0, 0 };
	static const uint8_t	ok_types[] = { 6, 7, 3, 10, 11 };
	static const uint8_t	bad_types[] = { 0, 1, 2, 4, 5, 8, 9, 12, 255 };
	size_t			i;
	int			good;

	r[0] = 0;
	ok(fcgi_decode(r, 8, &rec) == FCGI_EPROTO_VERSION, "version 0 refused");
	r[0] = 2;
	ok(fcgi_decode(r, 8, &rec) == FCGI_EPROTO_VERSION, "version 2 refused");
	ok(fcgi_decode(r, 1, &rec) == FCGI_EPROTO_VERSION,
	    "bad version seen from its first byte");
	r[0] = 'H';	/* "HTTP/1.1 ..." from a handler that is not FastCGI */
	ok(fcgi_decode(r, 8, &rec) == FCGI_EPROTO_VERSION, "HTTP text refused");
	r[0] = 1;
	good = 1;
	for (i = 0; i < sizeof bad_types; i++) {
		r[1] = bad_types[i];
		if (fcgi_decode(r, 8, &rec) != FCGI_EPROTO_TYPE)
			good = 0;
	}
	ok(good, "types a client never receives are refused");
	good = 1;
	for (i = 0; i < sizeof ok_types; i++) {
		r[1] = ok_types[i];
		r[5] = ok_types[i] == FCGI_END_REQUEST ? 8 : 0;
		if (fcgi_decode(r, 16, &rec) != 8 + r[5])
			good = 0;
	}
	ok(good, "STDOUT, STDERR, END_REQUEST, GET_VALUES_RESULT, "
	    "UNKNOWN_TYPE accepted");
	r[1] = FCGI_END_REQUEST;
	r[5] = 7;
	ok(fcgi_decode(r, 16, &rec) == FCGI_EPROTO_END,
	    "END_REQUEST with 7 content bytes refused");
	r[5] = 0;
	ok(fcgi_decode(r, 8, &rec) == FCGI_EPROTO_END,
	    "empty END_REQUEST refused");
	ok(strcmp(fcgi_strerror(FCGI_EPROTO_VERSION), "unknown FastCGI error")
	    != 0 && strcmp(fcgi_strerror(FCGI_EPROTO_TYPE),
	    fcgi_strerror(FCGI_EPROTO_END)) != 0, "strerror names each code");
}

static void
test_decode_max(void)
{
	struct buf		b = BUF_INIT;
	struct fcgi_record	rec;
	uint8_t			*data;

	data = xcalloc(1, 65535 + 255);
	fcgi_header(&b, FCGI_STDOUT, 1, 65535, 255);
	buf_append(&b, data, 65535 + 255);
	ok(fcgi_decode(buf_head(&b), buf_size(&b) - 1, &rec) == 0,
	    "largest record, one byte short: needs more");
	ok(fcgi_decode(buf_head(&b), buf_size(&b), &rec) == 8 + 65535 + 255 &&
	    rec.content_len == 65535, "largest record decodes");
	free(data);
	buf_free(&b);
}

/* The encoder's own records decode back to the original data. */
static void
test_roundtrip(void)
{
	struct buf		 b = BUF_INIT, got = BUF_INIT;
	struct fcgi_record	 rec;
	uint8_t			*data;
	size_t			 n = 150000, i;
	int			 r, records = 0;

	data = xmalloc(n);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	fcgi_encode_stream(&b, FCGI_STDOUT, 3, data, n);
	while ((r = fcgi_decode(buf_head(&b), buf_size(&b), &rec)) > 0) {
		buf_append(&got, rec.content, rec.content_len);
		buf_consume(&b, (size_t)r);
		records++;
		if (rec.content_len == 0)
			break;
	}
	ok(records == 4 && same(&got, data, n) && buf_size(&b) == 0,
	    "150000 bytes round trip through 3 records and the end");
	free(data);
	buf_free(&b);
	buf_free(&got);
}

/* The reload probe: GET_VALUES, request id 0, then an empty one. */
static void
test_get_values(void)
{
	static const uint8_t want[] = {
		1, 9, 0, 0, 0, 48, 0, 0,	/* v1 GET_VALUES id 0 len 48 */
		14, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_',
		'C', 'O', 'N', 'N', 'S',
		13, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_',
		'R', 'E', 'Q', 'S',
		15, 0, 'F', 'C', 'G', 'I', '_', 'M', 'P', 'X', 'S', '_',
		'C', 'O', 'N', 'N', 'S',
		1, 9, 0, 0, 0, 0, 0, 0,		/* the empty record ends it */
	};
	struct buf	b = BUF_INIT;

	fcgi_encode_get_values(&b);
	ok(same(&b, want, sizeof want), "GET_VALUES probe bytes");
	buf_free(&b);
}

int
main(void)
{
	test_begin();
	test_get_values();
	test_params();
	test_stream_small();
	test_stream_chunks();
	test_request();
	test_decode_splits();
	test_decode_single();
	test_decode_errors();
	test_decode_max();
	test_roundtrip();
	return tap_done();
}
