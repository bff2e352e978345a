/*
 * Unit tests for gateway/actions.c on its own: the strict UTF-8 check
 * and the base64 decoder. The actions form itself is tested through
 * response_parse in test_response.c, the way the gateway reaches it. The
 * .c is included to reach the static decoder.
 */
#include "actions.c"

#include "tap.h"

static void
test_utf8(void)
{
	static const struct {
		const char	*s;
		int		 valid;
	} cases[] = {
		{ "", 1 }, { "ascii", 1 }, { "\xc3\xa9", 1 },
		{ "\xe2\x82\xac", 1 }, { "\xf0\x9f\x98\x80", 1 },
		{ "\xf4\x8f\xbf\xbf", 1 }, { "\xed\x9f\xbf", 1 },
		{ "\xee\x80\x80", 1 },
		{ "\xc0\x80", 0 }, { "\xc1\xbf", 0 }, { "\xe0\x9f\xbf", 0 },
		{ "\xf0\x8f\xbf\xbf", 0 }, { "\xed\xa0\x80", 0 },
		{ "\xed\xbf\xbf", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xf8\x88\x80\x80\x80", 0 }, { "\xe2\x82", 0 },
		{ "\x80", 0 }, { "\xc3", 0 }, { "\xc3\x28", 0 },
		{ "\xff", 0 }, { "a\xe2\x82\xac\xe2", 0 },
	};
	size_t	i;
	int	good = 1;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (actions_utf8_valid(cases[i].s, strlen(cases[i].s)) !=
		    cases[i].valid) {
			good = 0;
			printf("# utf8 case %zu\n", i);
		}
	}
	ok(good, "UTF-8: %zu valid and invalid sequences",
	    sizeof cases / sizeof cases[0]);
}

/* Base64 of every length 0..64 decodes back (encoder written here). */
static void
test_base64(void)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char	 data[64];
	char		 enc[100], *out;
	size_t		 n, i, e, out_len;
	uint32_t	 v;
	int		 good = 1;

	for (i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 37 + 250);
	for (n = 0; n <= sizeof data; n++) {
		for (i = 0, e = 0; i < n; i += 3) {
			v = (uint32_t)data[i] << 16;
			if (i + 1 < n)
				v |= (uint32_t)data[i + 1] << 8;
			if (i + 2 < n)
				v |= data[i + 2];
			enc[e++] = abc[v >> 18 & 63];
			enc[e++] = abc[v >> 12 & 63];
			enc[e++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
			enc[e++] = i + 2 < n ? abc[v & 63] : '=';
		}
		if (actions_base64_decode(enc, e, &out, &out_len) != 0) {
			good = 0;
			continue;
		}
		if (out_len != n || memcmp(out, data, n) != 0 || out[n] != '\0')
			good = 0;
		free(out);
	}
	ok(good, "base64 round trip for lengths 0..64");
	ok(actions_base64_decode("+/+/", 4, &out, &out_len) == 0 &&
	    out_len == 3 && memcmp(out, "\xfb\xff\xbf", 3) == 0,
	    "'+' and '/' are 62 and 63");
	free(out);
}

int
main(void)
{
	test_utf8();
	test_base64();
	return tap_done();
}
