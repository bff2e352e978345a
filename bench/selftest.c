/*
 * selftest: the vectors come from FIPS 180-2's SHA-1 examples and RFC 6455
 * section 1.3 (the sample nonce and its accept value); the frames are
 * written out byte by byte from RFC 6455 section 5.2 so the decoder is not
 * checked against our own encoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest.h"
#include "sha1.h"
#include "wsproto.h"

static int	failures;
static int	checks;

/* One TAP line per check, so `make check` can run the self-test. */
static void
selftest_check(int ok, const char *what)
{
	checks++;
	if (!ok)
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", checks, what);
}

static void
selftest_sha1(void)
{
	static const struct {
		const char	*in;
		const char	*hex;
	} v[] = {
		{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	};
	uint8_t	 d[SHA1_DIGEST_LEN];
	char	 hex[2 * SHA1_DIGEST_LEN + 1], what[40];
	char	*big;
	size_t	 i, j;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		sha1_digest(v[i].in, strlen(v[i].in), d);
		for (j = 0; j < sizeof d; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		snprintf(what, sizeof what, "sha1 of '%.16s'", v[i].in);
		selftest_check(strcmp(hex, v[i].hex) == 0, what);
	}
	/* a million 'a': many blocks */
	if ((big = malloc(1000000)) == NULL) {
		selftest_check(0, "sha1: out of memory");
		return;
	}
	memset(big, 'a', 1000000);
	sha1_digest(big, 1000000, d);
	for (j = 0; j < sizeof d; j++)
		snprintf(hex + 2 * j, 3, "%02x", d[j]);
	selftest_check(strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
	    == 0, "sha1 of a million 'a'");
	free(big);
}

static void
selftest_handshake(void)
{
	char		 key[WSPROTO_KEY_LEN + 1], acc[WSPROTO_ACCEPT_LEN + 1];
	char		 req[512];
	const char	*ok =
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "upgrade: WebSocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n\x81";
	const char	*bad_acc =
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
	const char	*no_upg =
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	const char	*refused = "HTTP/1.1 404 Not Found\r\n\r\n";

	wsproto_key((const uint8_t *)"the sample nonce", key);
	selftest_check(strcmp(key, "dGhlIHNhbXBsZSBub25jZQ==") == 0,
	    "key of the RFC 6455 sample nonce");
	wsproto_accept(key, acc);
	selftest_check(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
	    "accept of the RFC 6455 sample key");
	selftest_check(wsproto_request(req, sizeof req, "127.0.0.1:1", "/ws",
	    key) > 0 && strstr(req, "GET /ws HTTP/1.1\r\n") == req &&
	    strstr(req, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	    != NULL && strstr(req, "\r\n\r\n") == req + strlen(req) - 4,
	    "upgrade request");
	selftest_check(wsproto_request(req, 20, "h", "/", key) == 0,
	    "request too large for its buffer");
	selftest_check(wsproto_response(ok, strlen(ok), 4096, acc) ==
	    (long)strlen(ok) - 1, "valid 101 (case, blanks, a frame after)");
	selftest_check(wsproto_response(ok, 40, 4096, acc) ==
	    WSPROTO_EINCOMPLETE, "incomplete 101");
	selftest_check(wsproto_response(ok, 40, 40, acc) == WSPROTO_ETOOBIG,
	    "101 larger than the buffer");
	selftest_check(wsproto_response(bad_acc, strlen(bad_acc), 4096, acc) ==
	    WSPROTO_EACCEPT, "wrong accept");
	selftest_check(wsproto_response(no_upg, strlen(no_upg), 4096, acc) ==
	    WSPROTO_EUPGRADE, "no upgrade header");
	selftest_check(wsproto_response(refused, strlen(refused), 4096, acc) ==
	    WSPROTO_ESTATUS, "404");
}

static void
selftest_encode(void)
{
	static const size_t	 lens[] = { 5, 125, 126, 300, 65535, 70000 };
	static const size_t	 hdrs[] = { 6, 6, 8, 8, 8, 14 };
	uint8_t			*in, *out;
	size_t			 i, j, n, ok;

	in = malloc(70000);
	out = malloc(70000 + WSPROTO_HEADER_MAX);
	if (in == NULL || out == NULL) {
		selftest_check(0, "encode: out of memory");
		goto done;
	}
	for (j = 0; j < 70000; j++)
		in[j] = (uint8_t)(j * 7);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		n = wsproto_frame(out, WSPROTO_OP_TEXT, in, lens[i],
		    0x12345678);
		ok = n == hdrs[i] + lens[i] && out[0] == 0x81 &&
		    (out[1] & 0x80) && out[hdrs[i] - 4] == 0x12 &&
		    out[hdrs[i] - 1] == 0x78;
		for (j = 0; ok && j < lens[i]; j++)
			ok = (out[hdrs[i] + j] ^ out[hdrs[i] - 4 + (j & 3)]) ==
			    in[j];
		selftest_check((int)ok, "masked client frame");
	}
done:
	free(in);
	free(out);
}

/* Decodes s (n bytes) in chunks of step bytes, listing the events. */
static void
selftest_decode_run(const uint8_t *s, size_t n, size_t step, char *log,
    size_t cap)
{
	struct wsproto_dec	d;
	struct wsproto_event	ev;
	size_t			off = 0, chunk, used, len;
	int			rc;

	wsproto_dec_init(&d);
	log[0] = '\0';
	while (off < n) {
		chunk = n - off < step ? n - off : step;
		while (chunk > 0) {
			rc = wsproto_dec_feed(&d, s + off, chunk, &used, &ev);
			off += used;
			chunk -= used;
			len = strlen(log);
			if (rc < 0)
				snprintf(log + len, cap - len, "E%d;", rc);
			else if (rc == 1)
				snprintf(log + len, cap - len, "%d:%llu:%d:%.*s;",
				    ev.opcode, (unsigned long long)ev.len,
				    ev.close_code, (int)(ev.data_len > 4 ? 4 :
				    ev.data_len), ev.data);
			if (rc < 0)
				return;
			if (rc == 0)
				break;
		}
	}
}

static void
selftest_decode(void)
{
	static const uint8_t	 bad[][2] = {
		{ 0x81, 0x80 },		/* masked */
		{ 0x80, 0x00 },		/* continuation first */
		{ 0xc1, 0x00 },		/* RSV1 */
		{ 0x09, 0x00 },		/* fragmented ping */
		{ 0x83, 0x00 },		/* opcode 3 */
	};
	static const int	 bad_rc[] = { WSPROTO_EMASKED,
		WSPROTO_ESEQUENCE, WSPROTO_ERSV, WSPROTO_ECONTROL,
		WSPROTO_EOPCODE };
	const char	*want = "1:2:0:hi;2:300:0:bbbb;1:70000:0:cccc;"
			    "9:1:0:x;1:4:0:abcd;8:4:1000:ok;";
	uint8_t		*s;
	size_t		 n = 0, i;
	char		 log[512], what[64], exp[16];
	static const size_t steps[] = { 1, 3, 7, 100000 };

	if ((s = malloc(80000)) == NULL) {
		selftest_check(0, "decode: out of memory");
		return;
	}
	memcpy(s + n, "\x81\x02hi", 4);
	n += 4;
	memcpy(s + n, "\x82\x7e\x01\x2c", 4);	/* 16-bit length: 300 */
	memset(s + n + 4, 'b', 300);
	n += 304;
	memcpy(s + n, "\x81\x7f\0\0\0\0\0\x01\x11\x70", 10);	/* 70000 */
	memset(s + n + 10, 'c', 70000);
	n += 70010;
	/* "ab" + "cd" in two fragments, a ping between them */
	memcpy(s + n, "\x01\x02" "ab" "\x89\x01x" "\x80\x02" "cd", 11);
	n += 11;
	memcpy(s + n, "\x88\x04\x03\xe8ok", 6);
	n += 6;
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		selftest_decode_run(s, n, steps[i], log, sizeof log);
		snprintf(what, sizeof what, "decode in chunks of %zu", steps[i]);
		selftest_check(strcmp(log, want) == 0, what);
		if (strcmp(log, want) != 0)
			printf("# got %s\n", log);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		selftest_decode_run(bad[i], 2, 2, log, sizeof log);
		snprintf(exp, sizeof exp, "E%d;", bad_rc[i]);
		selftest_check(strcmp(log, exp) == 0,
		    wsproto_strerror(bad_rc[i]));
	}
	free(s);
}

int
selftest_run(void)
{
	selftest_sha1();
	selftest_handshake();
	selftest_encode();
	selftest_decode();
	printf("1..%d\n# self-test: %d of %d checks passed\n", checks,
	    checks - failures, checks);
	return failures == 0 ? 0 : -1;
}
