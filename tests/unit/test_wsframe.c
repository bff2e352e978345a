/*
 * Unit tests for gateway/wsframe.c: frames written out by hand from RFC
 * 6455 (section 5.7's examples, and one case per rule of sections 5 and
 * 7), each fed whole and one byte at a time; good streams cut at every
 * byte boundary, the way a non-blocking socket may deliver them, must give
 * the same messages and control frames. Most hand-made frames use the
 * masking key 00 00 00 00, which is valid and keeps the payload readable.
 */
#include "wsframe.c"
#include "buf.h"
#include "xmalloc.h"

#include "tap.h"

#define MAX_DEFAULT	(1u << 20)

/* A byte string literal and its length, NULs included. */
#define B(s)	(const uint8_t *)(s), sizeof(s) - 1

/*
 * Appends what ev says to a log that two feeds can be compared by:
 * "[T:" or "[B:" opens a message, its bytes follow, "]" ends it; a
 * control frame is "<9:payload>", a close "<8:code:reason>".
 */
static void
log_event(struct buf *log, const struct wsframe_event *ev)
{
	if (ev->kind == WSFRAME_DATA) {
		if (ev->first)
			buf_printf(log, "[%c:",
			    ev->opcode == WSFRAME_TEXT ? 'T' : 'B');
		buf_append(log, ev->data, ev->len);
		if (ev->last)
			buf_append_byte(log, ']');
	} else if (ev->kind == WSFRAME_CONTROL) {
		buf_printf(log, "<%x:", (unsigned)ev->opcode);
		if (ev->opcode == WSFRAME_CLOSE)
			buf_printf(log, "%d:", ev->close_code);
		buf_append(log, ev->data, ev->len);
		buf_append_byte(log, '>');
	}
}

/*
 * Feeds one read (copied into a buffer of exactly len bytes, so ASan sees
 * any read past it) until it is used up. @return 0, or the error; *bad
 * is set when an event breaks a promise of wsframe.h.
 */
static int
feed(struct wsframe_parser *p, const uint8_t *in, size_t len,
    struct buf *log, int *bad)
{
	struct wsframe_event	 ev;
	uint8_t			*data = xmalloc(len > 0 ? len : 1);
	size_t			 off = 0;
	ssize_t			 n;
	int			 rc = 0;

	memcpy(data, in, len);
	do {
		n = wsframe_parse(p, data + off, len - off, &ev);
		if (n < 0) {
			rc = (int)n;
			if (ev.kind != WSFRAME_NONE)
				*bad = 1;
			break;
		}
		if ((size_t)n > len - off || (n == 0 && off < len))
			*bad = 1;
		if (ev.kind == WSFRAME_DATA && (ev.data < data + off ||
		    ev.data + ev.len > data + off + (size_t)n))
			*bad = 1;
		if (ev.kind == WSFRAME_CONTROL && ev.len > WSFRAME_CONTROL_MAX)
			*bad = 1;
		if (ev.kind == WSFRAME_NONE && off + (size_t)n != len)
			*bad = 1;
		log_event(log, &ev);
		off += (size_t)n;
	} while (off < len);
	free(data);
	return rc;
}

/* Feeds in[0..len) in pieces of the given size (0: whole). */
static int
feed_pieces(const uint8_t *in, size_t len, uint64_t max, size_t piece,
    struct buf *log, int *bad)
{
	struct wsframe_parser	p;
	size_t			off = 0, n;
	int			rc = 0;

	wsframe_parser_init(&p, max);
	if (piece == 0)
		piece = len > 0 ? len : 1;
	while (off < len && rc == 0) {
		n = len - off < piece ? len - off : piece;
		rc = feed(&p, in + off, n, log, bad);
		off += n;
	}
	return rc;
}

/* Feeds in[0..cut) then in[cut..len) to one parser. */
static int
feed_cut(const uint8_t *in, size_t len, uint64_t max, size_t cut,
    struct buf *log, int *bad)
{
	struct wsframe_parser	p;
	int			rc;

	wsframe_parser_init(&p, max);
	rc = feed(&p, in, cut, log, bad);
	if (rc == 0)
		rc = feed(&p, in + cut, len - cut, log, bad);
	return rc;
}

static int
log_is(const struct buf *log, const void *want, size_t n)
{
	return buf_size(log) == n && memcmp(buf_head(log), want, n) == 0;
}

/* Appends a client frame: b0 (FIN, opcode), the shortest length, key. */
static void
client_frame(struct buf *b, uint8_t b0, const uint8_t key[4],
    const void *payload, size_t len)
{
	const uint8_t	*pl = payload;
	size_t		 i;

	buf_append_byte(b, b0);
	if (len < 126)
		buf_append_byte(b, (uint8_t)(0x80 | len));
	else if (len <= 0xffff) {
		buf_append_byte(b, 0x80 | 126);
		buf_append_byte(b, (uint8_t)(len >> 8));
		buf_append_byte(b, (uint8_t)len);
	} else {
		buf_append_byte(b, 0x80 | 127);
		for (i = 0; i < 8; i++)
			buf_append_byte(b, (uint8_t)((uint64_t)len >> (56 - 8 * i)));
	}
	buf_append(b, key, 4);
	for (i = 0; i < len; i++)
		buf_append_byte(b, pl[i] ^ key[i & 3]);
}

/* The RFC 6455 5.7 examples a server may receive (masked ones). */
static void
test_rfc_examples(void)
{
	uint8_t	hello[] = {
		0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
	};
	uint8_t	pong[] = {
		0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
	};
	struct wsframe_parser	p;
	struct wsframe_event	ev;
	ssize_t			n;

	wsframe_parser_init(&p, MAX_DEFAULT);
	n = wsframe_parse(&p, hello, sizeof hello, &ev);
	ok(n == 11 && ev.kind == WSFRAME_DATA && ev.opcode == WSFRAME_TEXT &&
	    ev.first && ev.last && ev.len == 5, "masked \"Hello\": one DATA event");
	ok(ev.data == hello + 6 && memcmp(hello + 6, "Hello", 5) == 0,
	    "payload unmasked in place, data points into the input");
	n = wsframe_parse(&p, pong, sizeof pong, &ev);
	ok(n == 11 && ev.kind == WSFRAME_CONTROL && ev.opcode == WSFRAME_PONG &&
	    ev.len == 5 && memcmp(ev.data, "Hello", 5) == 0 && !ev.first &&
	    !ev.last, "masked pong \"Hello\": one CONTROL event");
	n = wsframe_parse(&p, hello, 0, &ev);
	ok(n == 0 && ev.kind == WSFRAME_NONE, "no input: nothing consumed");
	n = wsframe_parse(&p, (uint8_t []){ 0x81, 0x85, 0x37 }, 3, &ev);
	ok(n == 3 && ev.kind == WSFRAME_NONE,
	    "part of a header: consumed, no event");
}

/* Good streams, their log, and the max_message they are fed with. */
static const struct {
	const uint8_t	*in;
	size_t		 len;
	const char	*want;
	uint64_t	 max;
	const char	*what;
} goods[] = {
	{ B("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), "[T:Hello]",
	    MAX_DEFAULT, "RFC 5.7 masked text" },
	{ B("\x01\x83\0\0\0\0Hel" "\x89\x82\0\0\0\0hi" "\x80\x82\0\0\0\0lo"),
	    "[T:Hel<9:hi>lo]", MAX_DEFAULT,
	    "fragmented text with a ping in between" },
	{ B("\x01\x81\0\0\0\0\xc3" "\x8a\x80\0\0\0\0" "\x80\x81\0\0\0\0\xa9"),
	    "[T:\xc3<a:>\xa9]", MAX_DEFAULT,
	    "a character split across fragments, a pong in between" },
	{ B("\x81\x80\x12\x34\x56\x78"), "[T:]", MAX_DEFAULT,
	    "empty text message" },
	{ B("\x01\x80\0\0\0\0" "\x00\x80\0\0\0\0" "\x80\x83\0\0\0\0abc"),
	    "[T:abc]", MAX_DEFAULT, "empty fragments give no event" },
	{ B("\x02\x82\0\0\0\0ab" "\x00\x80\0\0\0\0" "\x80\x80\0\0\0\0"),
	    "[B:ab]", MAX_DEFAULT, "binary ending on an empty frame" },
	{ B("\x82\x81\0\0\0\0\xff"), "[B:\xff]", MAX_DEFAULT,
	    "binary is not checked for UTF-8" },
	{ B("\x88\x85\0\0\0\0\x03\xe8" "bye"), "<8:1000:bye>", MAX_DEFAULT,
	    "close 1000 with a reason" },
	{ B("\x88\x80\0\0\0\0"), "<8:1005:>", MAX_DEFAULT,
	    "empty close: code 1005" },
	{ B("\x88\x82\0\0\0\0\x0f\xa0"), "<8:4000:>", MAX_DEFAULT,
	    "close 4000, no reason" },
	{ B("\x88\x84\x01\x02\x03\x04\x02\xea\xc0\xad"), "<8:1000:\xc3\xa9>",
	    MAX_DEFAULT, "close with a UTF-8 reason, masked" },
	{ B("\x89\xfd\0\0\0\0"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234"),
	    "<9:"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234>",
	    MAX_DEFAULT, "ping of 125 bytes" },
	{ B("\x81\x85\0\0\0\0Hello"), "[T:Hello]", 5, "exactly max_message" },
	{ B("\x01\x82\0\0\0\0He" "\x89\x80\0\0\0\0" "\x80\x83\0\0\0\0llo"),
	    "[T:He<9:>llo]", 5, "exactly max_message across fragments" },
	{ B("\x82\x85\0\0\0\0abcde" "\x82\x85\0\0\0\0fghij"),
	    "[B:abcde][B:fghij]", 5, "the limit is per message" },
	{ B("\x82\x80\0\0\0\0"), "[B:]", 0, "max_message 0: empty is fine" },
};
#define NGOODS	(sizeof goods / sizeof goods[0])

static void
test_goods(void)
{
	struct buf	log = BUF_INIT;
	size_t		i;
	int		bad, rc;

	for (i = 0; i < NGOODS; i++) {
		bad = 0;
		buf_reset(&log);
		rc = feed_pieces(goods[i].in, goods[i].len, goods[i].max, 0,
		    &log, &bad);
		ok(rc == 0 && !bad && log_is(&log, goods[i].want,
		    strlen(goods[i].want)), "whole: %s", goods[i].what);
		bad = 0;
		buf_reset(&log);
		rc = feed_pieces(goods[i].in, goods[i].len, goods[i].max, 1,
		    &log, &bad);
		ok(rc == 0 && !bad && log_is(&log, goods[i].want,
		    strlen(goods[i].want)), "byte by byte: %s", goods[i].what);
	}
	buf_free(&log);
}

/* All good streams in one, with frames of other masks and lengths. */
static void
build_stream(struct buf *in, struct buf *want)
{
	static const uint8_t	k1[4] = { 0xa5, 0x5a, 0xff, 0x01 };
	static const uint8_t	k2[4] = { 0x01, 0x80, 0x7f, 0xfe };
	uint8_t			big[300];
	size_t			i;

	for (i = 0; i < NGOODS; i++) {
		if (goods[i].max < MAX_DEFAULT)
			continue;
		buf_append(in, goods[i].in, goods[i].len);
		buf_append_str(want, goods[i].want);
	}
	for (i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	client_frame(in, 0x02, k1, big, 200);		/* 16-bit length */
	client_frame(in, 0x89, k2, "ping", 4);
	client_frame(in, 0x80, k2, big + 200, 100);
	buf_append_str(want, "[B:");
	buf_append(want, big, 200);
	buf_append_str(want, "<9:ping>");
	buf_append(want, big + 200, 100);
	buf_append_str(want, "]");
	client_frame(in, 0x81, k1, "\xf0\x9f\x98\x80 ok", 7);
	buf_append_str(want, "[T:\xf0\x9f\x98\x80 ok]");
	client_frame(in, 0x88, k2, "\x03\xe9going away", 12);
	buf_append_str(want, "<8:1001:going away>");
}

static void
test_splits(void)
{
	struct buf	in = BUF_INIT, want = BUF_INIT, log = BUF_INIT;
	size_t		cut, len, piece;
	int		bad = 0, good = 1, rc;

	build_stream(&in, &want);
	len = buf_size(&in);
	for (cut = 0; cut <= len; cut++) {
		buf_reset(&log);
		rc = feed_cut(buf_head(&in), len, MAX_DEFAULT, cut, &log, &bad);
		if (rc != 0 || !log_is(&log, buf_head(&want), buf_size(&want)))
			good = 0;
	}
	ok(good && !bad, "stream of %zu bytes cut at each boundary: same "
	    "messages and controls", len);
	good = 1;
	for (piece = 1; piece <= 16; piece++) {
		buf_reset(&log);
		rc = feed_pieces(buf_head(&in), len, MAX_DEFAULT, piece, &log,
		    &bad);
		if (rc != 0 || !log_is(&log, buf_head(&want), buf_size(&want)))
			good = 0;
	}
	ok(good && !bad, "same stream in pieces of 1 to 16 bytes");
	buf_free(&in);
	buf_free(&want);
	buf_free(&log);
}

/* RFC 5.7's 256-byte and 64 KiB binary messages, with a real key. */
static void
test_big(void)
{
	static const uint8_t	 key[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct buf		 in = BUF_INIT, log = BUF_INIT;
	uint8_t			*msg;
	size_t			 n = 65536, i;
	int			 bad = 0, rc;

	msg = xmalloc(n);
	for (i = 0; i < n; i++)
		msg[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 13));
	client_frame(&in, 0x82, key, msg, 256);
	ok(memcmp(buf_head(&in), "\x82\xfe\x01\x00\xde\xad\xbe\xef", 8) == 0,
	    "256 bytes: 82 FE 01 00 and the key");
	rc = feed_pieces(buf_head(&in), buf_size(&in), MAX_DEFAULT, 0, &log,
	    &bad);
	ok(rc == 0 && !bad && buf_size(&log) == 3 + 256 + 1 &&
	    memcmp(buf_head(&log) + 3, msg, 256) == 0, "256 bytes unmasked");

	buf_reset(&in);
	client_frame(&in, 0x82, key, msg, n);
	ok(memcmp(buf_head(&in), "\x82\xff\0\0\0\0\0\x01\0\0\xde\xad\xbe\xef",
	    14) == 0, "64 KiB: 82 FF and 00 00 00 00 00 01 00 00");
	for (i = 0; i < 3; i++) {
		buf_reset(&log);
		rc = feed_pieces(buf_head(&in), buf_size(&in), 65536,
		    i == 0 ? 0 : i == 1 ? 1000 : 1, &log, &bad);
		ok(rc == 0 && !bad && buf_size(&log) == 3 + n + 1 &&
		    memcmp(buf_head(&log) + 3, msg, n) == 0,
		    "64 KiB message (max_message 65536) %s", i == 0 ? "whole" :
		    i == 1 ? "in 1000-byte reads" : "byte by byte");
	}
	buf_reset(&log);
	rc = feed_pieces(buf_head(&in), buf_size(&in), 65535, 0, &log, &bad);
	ok(rc == WSFRAME_ETOOBIG && buf_size(&log) == 0,
	    "64 KiB message over max_message 65535: ETOOBIG, nothing out");
	free(msg);
	buf_free(&in);
	buf_free(&log);
}

/* Streams that break a rule, the error, and the max_message used. */
static const struct {
	const uint8_t	*in;
	size_t		 len;
	int		 err;
	uint64_t	 max;
	const char	*what;
} bads[] = {
	{ B("\xc1\x80"), WSFRAME_ERSV, MAX_DEFAULT, "RSV1 set" },
	{ B("\xa1\x80"), WSFRAME_ERSV, MAX_DEFAULT, "RSV2 set" },
	{ B("\x91\x80"), WSFRAME_ERSV, MAX_DEFAULT, "RSV3 set" },
	{ B("\x81\x05Hello"), WSFRAME_EUNMASKED, MAX_DEFAULT,
	    "RFC 5.7 unmasked \"Hello\" from a client" },
	{ B("\x8a\x05Hello"), WSFRAME_EUNMASKED, MAX_DEFAULT,
	    "unmasked pong" },
	{ B("\x09\x80"), WSFRAME_ECTLFRAG, MAX_DEFAULT, "ping without FIN" },
	{ B("\x08\x80"), WSFRAME_ECTLFRAG, MAX_DEFAULT, "close without FIN" },
	{ B("\x89\xfe"), WSFRAME_ECTLLEN, MAX_DEFAULT,
	    "ping of 126 bytes (refused at its 2nd byte)" },
	{ B("\x8a\xff"), WSFRAME_ECTLLEN, MAX_DEFAULT, "pong, 64-bit length" },
	{ B("\x88\x81"), WSFRAME_ECLOSELEN, MAX_DEFAULT,
	    "close payload of 1 byte (refused at its 2nd byte)" },
	{ B("\x80\x80\0\0\0\0"), WSFRAME_ECONT, MAX_DEFAULT,
	    "continuation, no message open" },
	{ B("\x81\x81\0\0\0\0a" "\x80"), WSFRAME_ECONT, MAX_DEFAULT,
	    "continuation after a complete message" },
	{ B("\x01\x81\0\0\0\0a" "\x81"), WSFRAME_EINTERLEAVE, MAX_DEFAULT,
	    "text inside a fragmented text" },
	{ B("\x02\x81\0\0\0\0a" "\x89\x80\0\0\0\0" "\x01"),
	    WSFRAME_EINTERLEAVE, MAX_DEFAULT,
	    "text inside a fragmented binary, after a ping" },
	{ B("\x82\xff\x80"), WSFRAME_ELENGTH, MAX_DEFAULT,
	    "64-bit length with the top bit (refused at that byte)" },
	{ B("\x82\xfe\x00\x7d"), WSFRAME_ENONMINIMAL, MAX_DEFAULT,
	    "125 in the 16-bit form" },
	{ B("\x82\xfe\x00\x00"), WSFRAME_ENONMINIMAL, MAX_DEFAULT,
	    "0 in the 16-bit form" },
	{ B("\x82\xff\0\0\0\0\0\0\xff\xff"), WSFRAME_ENONMINIMAL,
	    MAX_DEFAULT, "65535 in the 64-bit form" },
	{ B("\x82\xff\0\0\0\0\0\0\0\x7d"), WSFRAME_ENONMINIMAL,
	    MAX_DEFAULT, "125 in the 64-bit form" },
	{ B("\x82\x86"), WSFRAME_ETOOBIG, 5, "6 bytes over max 5, from the "
	    "2nd header byte" },
	{ B("\x82\xfe\x03\xe9"), WSFRAME_ETOOBIG, 1000,
	    "16-bit length 1001 over 1000, before the key" },
	{ B("\x82\xff\0\0\0\0\0\x01\x11\x71"), WSFRAME_ETOOBIG, 70000,
	    "64-bit length 70001 over 70000, before the key" },
	{ B("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff"), WSFRAME_ETOOBIG,
	    (UINT64_C(1) << 63) - 2, "2^63-1 bytes over max 2^63-2" },
	{ B("\x01\x83\0\0\0\0Hel" "\x89\x80\0\0\0\0" "\x80\x83"),
	    WSFRAME_ETOOBIG, 5, "3 + 3 bytes over max 5, at the 2nd header" },
	{ B("\x82\x81\0\0\0\0a"), WSFRAME_ETOOBIG, 0, "1 byte over max 0" },
	{ B("\x81\x81\0\0\0\0\xff"), WSFRAME_EUTF8, MAX_DEFAULT,
	    "text with FF" },
	{ B("\x81\x82\0\0\0\0\xc0\xaf"), WSFRAME_EUTF8, MAX_DEFAULT,
	    "text with an overlong form" },
	{ B("\x81\x83\0\0\0\0\xed\xa0\x80"), WSFRAME_EUTF8, MAX_DEFAULT,
	    "text with a surrogate" },
	{ B("\x81\x81\0\0\0\0\xc3"), WSFRAME_EUTF8, MAX_DEFAULT,
	    "text ending inside a character" },
	{ B("\x01\x81\0\0\0\0\xff"), WSFRAME_EUTF8, MAX_DEFAULT,
	    "bad byte in a first fragment, refused before the rest" },
	{ B("\x01\x81\0\0\0\0\xc3" "\x80\x81\0\0\0\0\x28"), WSFRAME_EUTF8,
	    MAX_DEFAULT, "bad continuation in the next fragment" },
	{ B("\x01\x81\0\0\0\0\xc3" "\x80\x80\0\0\0\0"), WSFRAME_EUTF8,
	    MAX_DEFAULT, "message ends on an empty frame inside a character" },
	{ B("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\xd8"), WSFRAME_EUTF8,
	    MAX_DEFAULT, "RFC 5.7 \"Hello\" with the last byte flipped" },
	{ B("\x88\x84\0\0\0\0\x03\xe8\xc3\x28"), WSFRAME_ECLOSEUTF8,
	    MAX_DEFAULT, "close reason not UTF-8" },
	{ B("\x88\x83\0\0\0\0\x03\xe8\xc3"), WSFRAME_ECLOSEUTF8, MAX_DEFAULT,
	    "close reason cut inside a character" },
};
#define NBADS	(sizeof bads / sizeof bads[0])

/* Feeds a bad stream whole and byte by byte: the same error both ways. */
static int
refused(const uint8_t *in, size_t len, uint64_t max, int err)
{
	struct buf	log = BUF_INIT;
	int		bad = 0, whole, bytes;

	whole = feed_pieces(in, len, max, 0, &log, &bad);
	bytes = feed_pieces(in, len, max, 1, &log, &bad);
	buf_free(&log);
	return whole == err && bytes == err && !bad;
}

static void
test_bads(void)
{
	static const int	bad_codes[] = {
		0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535
	};
	static const int	good_codes[] = {
		1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
		1013, 1014, 3000, 4999
	};
	uint8_t			f[8] = { 0x88, 0x82, 0, 0, 0, 0 };
	size_t			i;
	int			good = 1;

	for (i = 0; i < NBADS; i++)
		ok(refused(bads[i].in, bads[i].len, bads[i].max, bads[i].err),
		    "%s: %s (close %d)", bads[i].what,
		    wsframe_strerror(bads[i].err),
		    wsframe_close_code(bads[i].err));
	for (i = 0x3; i <= 0xf; i++) {
		if (i >= 0x8 && i <= 0xa)
			continue;
		f[0] = (uint8_t)(0x80 | i);
		if (!refused(f, 1, MAX_DEFAULT, WSFRAME_EOPCODE))
			good = 0;
	}
	ok(good, "opcodes 3-7 and B-F refused at the first byte");
	good = 1;
	f[0] = 0x88;
	for (i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
		f[6] = (uint8_t)(bad_codes[i] >> 8);
		f[7] = (uint8_t)bad_codes[i];
		if (!refused(f, 8, MAX_DEFAULT, WSFRAME_ECLOSECODE))
			good = 0;
	}
	ok(good, "close codes 0, 999, 1004-1006, 1015, 1016, 2999, 5000, "
	    "65535 refused");
	good = 1;
	for (i = 0; i < sizeof good_codes / sizeof good_codes[0]; i++) {
		struct buf	log = BUF_INIT;
		char		want[16];
		int		bad = 0;

		f[6] = (uint8_t)(good_codes[i] >> 8);
		f[7] = (uint8_t)good_codes[i];
		snprintf(want, sizeof want, "<8:%d:>", good_codes[i]);
		if (feed_pieces(f, 8, MAX_DEFAULT, 1, &log, &bad) != 0 || bad ||
		    !log_is(&log, want, strlen(want)))
			good = 0;
		buf_free(&log);
	}
	ok(good, "close codes 1000-1003, 1007-1014, 3000, 4999 accepted");
}

/* An error sticks, and early errors need no more than their bytes. */
static void
test_after_error(void)
{
	struct wsframe_parser	p;
	struct wsframe_event	ev;
	uint8_t			bad[] = { 0x81, 0x05 };
	uint8_t			good[] = { 0x81, 0x80, 0, 0, 0, 0 };

	wsframe_parser_init(&p, MAX_DEFAULT);
	ok(wsframe_parse(&p, bad, sizeof bad, &ev) == WSFRAME_EUNMASKED &&
	    ev.kind == WSFRAME_NONE, "unmasked: error, no event");
	ok(wsframe_parse(&p, good, sizeof good, &ev) == WSFRAME_EUNMASKED &&
	    ev.kind == WSFRAME_NONE, "fed again: the same error");
}

static void
test_errors(void)
{
	static const int	proto[] = {
		WSFRAME_EPROTO, WSFRAME_ERSV, WSFRAME_EOPCODE,
		WSFRAME_EUNMASKED, WSFRAME_ECTLFRAG, WSFRAME_ECTLLEN,
		WSFRAME_ECONT, WSFRAME_EINTERLEAVE, WSFRAME_ELENGTH,
		WSFRAME_ENONMINIMAL, WSFRAME_ECLOSELEN, WSFRAME_ECLOSECODE
	};
	size_t			i, j;
	int			good = 1;

	for (i = 0; i < sizeof proto / sizeof proto[0]; i++)
		if (wsframe_close_code(proto[i]) != 1002)
			good = 0;
	ok(good, "framing errors close with 1002");
	ok(wsframe_close_code(WSFRAME_ETOOBIG) == 1009, "ETOOBIG: 1009");
	ok(wsframe_close_code(WSFRAME_EUTF8) == 1007 &&
	    wsframe_close_code(WSFRAME_ECLOSEUTF8) == 1007, "UTF-8: 1007");
	ok(wsframe_close_code(0) == 1011 && wsframe_close_code(-1) == 1011,
	    "anything else: 1011");
	good = 1;
	for (i = 0; i < WSFRAME_NERRORS; i++) {
		if (strlen(wsframe_strerror(wsframe_errors[i].err)) >
		    WSFRAME_REASON_MAX)
			good = 0;
		for (j = 0; j < i; j++)
			if (strcmp(wsframe_strerror(wsframe_errors[i].err),
			    wsframe_strerror(wsframe_errors[j].err)) == 0)
				good = 0;
	}
	ok(good && WSFRAME_NERRORS == 15, "15 errors, each its own reason");
	ok(strcmp(wsframe_strerror(WSFRAME_EUNMASKED), "unmasked frame") == 0,
	    "EUNMASKED: \"unmasked frame\"");
}

/* The encoder's header, and whether the parser takes it back. */
static int
header_is(int opcode, uint64_t len, const void *want, size_t n)
{
	struct wsframe_parser	p;
	struct wsframe_event	ev;
	uint8_t			out[WSFRAME_HEADER_MAX + 4];
	size_t			got;

	memset(out, 0xee, sizeof out);
	got = wsframe_header(out, opcode, len);
	if (got != n || memcmp(out, want, n) != 0)
		return 0;
	/* Mask bit and a key added, it is a header a client may send. */
	out[1] |= 0x80;
	memset(out + n, 0, 4);
	wsframe_parser_init(&p, UINT64_MAX);
	return wsframe_parse(&p, out, n + 4, &ev) == (ssize_t)n + 4 &&
	    (ev.kind == WSFRAME_DATA) == (len == 0);
}

static void
test_header(void)
{
	ok(header_is(WSFRAME_TEXT, 0, "\x81\x00", 2), "text, 0 bytes: 81 00");
	ok(header_is(WSFRAME_BINARY, 125, "\x82\x7d", 2),
	    "binary, 125 bytes: 82 7D");
	ok(header_is(WSFRAME_BINARY, 126, "\x82\x7e\x00\x7e", 4),
	    "126 bytes: 82 7E 00 7E");
	ok(header_is(WSFRAME_TEXT, 65535, "\x81\x7e\xff\xff", 4),
	    "65535 bytes: 81 7E FF FF");
	ok(header_is(WSFRAME_BINARY, 65536,
	    "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10),
	    "65536 bytes: 82 7F 00 00 00 00 00 01 00 00");
	ok(header_is(WSFRAME_BINARY, 0x123456789aULL,
	    "\x82\x7f\x00\x00\x00\x12\x34\x56\x78\x9a", 10),
	    "0x123456789A bytes: all 8 length bytes");
	ok(header_is(WSFRAME_CLOSE, 2, "\x88\x02", 2), "close, 2 bytes: 88 02");
	ok(header_is(WSFRAME_PONG, 125, "\x8a\x7d", 2), "pong, 125: 8A 7D");
}

/* A close payload goes back through the parser as the same close. */
static int
close_roundtrip(const uint8_t *pl, size_t n, int code, size_t reason_len)
{
	struct wsframe_parser	p;
	struct wsframe_event	ev;
	uint8_t			f[2 + 4 + WSFRAME_CONTROL_MAX];
	size_t			i;

	f[0] = 0x88;
	f[1] = (uint8_t)(0x80 | n);
	memcpy(f + 2, "\x11\x22\x33\x44", 4);
	for (i = 0; i < n; i++)
		f[6 + i] = pl[i] ^ f[2 + (i & 3)];
	wsframe_parser_init(&p, 0);
	return wsframe_parse(&p, f, 6 + n, &ev) == (ssize_t)(6 + n) &&
	    ev.kind == WSFRAME_CONTROL && ev.close_code == code &&
	    ev.len == reason_len && memcmp(ev.data, pl + 2, reason_len) == 0;
}

static void
test_close_payload(void)
{
	uint8_t	out[WSFRAME_CONTROL_MAX];
	char	reason[400];
	size_t	n, i;

	n = wsframe_close_payload(out, 1000, "bye");
	ok(n == 5 && memcmp(out, "\x03\xe8" "bye", 5) == 0 &&
	    close_roundtrip(out, n, 1000, 3), "1000 \"bye\": 03 E8 b y e");
	ok(wsframe_close_payload(out, 0, "ignored") == 0, "code 0: empty");
	n = wsframe_close_payload(out, 1001, NULL);
	ok(n == 2 && memcmp(out, "\x03\xe9", 2) == 0 &&
	    close_roundtrip(out, n, 1001, 0), "NULL reason: the code alone");

	for (i = 0; i < 60; i++)
		memcpy(reason + 2 * i, "\xc3\xa9", 2);
	reason[120] = '\0';
	n = wsframe_close_payload(out, 1009, reason);
	ok(n == 122 && memcmp(out + 2, reason, 120) == 0 &&
	    close_roundtrip(out, n, 1009, 120),
	    "60 x \"\xc3\xa9\" (120 bytes) fits: payload 122");
	for (i = 0; i < 62; i++)
		memcpy(reason + 2 * i, "\xc3\xa9", 2);
	reason[124] = '\0';
	n = wsframe_close_payload(out, 1009, reason);
	ok(n == 2 + 122 && utf8_valid(out + 2, n - 2) &&
	    close_roundtrip(out, n, 1009, 122),
	    "62 x \"\xc3\xa9\" cut to 122 bytes, not 123");
	reason[0] = 'a';
	for (i = 0; i < 40; i++)
		memcpy(reason + 1 + 4 * i, "\xf0\x9f\x98\x80", 4);
	reason[161] = '\0';
	n = wsframe_close_payload(out, 4000, reason);
	ok(n == 2 + 121 && utf8_valid(out + 2, n - 2) &&
	    close_roundtrip(out, n, 4000, 121),
	    "a + 40 4-byte characters cut to 121 bytes");
	for (i = 0; i < 50; i++)
		memcpy(reason + 3 * i, "\xe2\x82\xac", 3);
	reason[150] = '\0';
	n = wsframe_close_payload(out, 1000, reason);
	ok(n == 125 && close_roundtrip(out, n, 1000, 123),
	    "41 3-byte characters fill exactly 123 bytes");
	memset(reason, 'x', 300);
	reason[300] = '\0';
	n = wsframe_close_payload(out, 1011, reason);
	ok(n == 125 && close_roundtrip(out, n, 1011, 123),
	    "300 ASCII bytes cut to 123");
}

/* The struct stays small: every idle socket pays for it. */
static void
test_size(void)
{
	ok(sizeof(struct wsframe_parser) <= 176,
	    "struct wsframe_parser is %zu bytes", sizeof(struct wsframe_parser));
}

int
main(void)
{
	test_rfc_examples();
	test_goods();
	test_splits();
	test_big();
	test_bads();
	test_after_error();
	test_errors();
	test_header();
	test_close_payload();
	test_size();
	return tap_done();
}
