/*
 * test_utf8: the incremental UTF-8 check against RFC 3629's edge cases,
 * whole and fed one byte at a time (a message cut at every boundary).
 */
#include <string.h>

#include "tap.h"
#include "utf8.h"

static const struct {
	const char	*bytes;
	int		 valid;
	const char	*what;
} cases[] = {
	{ "hello", 1, "ASCII" },
	{ "\xc3\xa9t\xc3\xa9", 1, "2-byte sequences" },
	{ "\xe2\x82\xac", 1, "3-byte sequence (euro)" },
	{ "\xf0\x9f\x98\x80", 1, "4-byte sequence (emoji)" },
	{ "\xf4\x8f\xbf\xbf", 1, "U+10FFFF" },
	{ "\xed\x9f\xbf", 1, "U+D7FF, just below the surrogates" },
	{ "\xee\x80\x80", 1, "U+E000, just above the surrogates" },
	{ "\xc0\xaf", 0, "overlong 2-byte" },
	{ "\xc1\xbf", 0, "overlong 2-byte, C1" },
	{ "\xe0\x9f\xbf", 0, "overlong 3-byte" },
	{ "\xf0\x8f\xbf\xbf", 0, "overlong 4-byte" },
	{ "\xed\xa0\x80", 0, "surrogate U+D800" },
	{ "\xed\xbf\xbf", 0, "surrogate U+DFFF" },
	{ "\xf4\x90\x80\x80", 0, "above U+10FFFF" },
	{ "\xf5\x80\x80\x80", 0, "F5 lead byte" },
	{ "\xff", 0, "FF" },
	{ "\x80", 0, "lone continuation byte" },
	{ "\xc3", 0, "truncated 2-byte" },
	{ "\xe2\x82", 0, "truncated 3-byte" },
	{ "\xe2\x28\xa1", 0, "bad continuation" },
};

int
main(void)
{
	struct utf8_state	st;
	size_t			i, j, n;
	int			ok1;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = strlen(cases[i].bytes);
		ok(utf8_valid((const uint8_t *)cases[i].bytes, n) ==
		    cases[i].valid, "whole: %s", cases[i].what);
		memset(&st, 0, sizeof st);
		ok1 = 1;
		for (j = 0; j < n && ok1; j++)
			ok1 = utf8_feed(&st, (const uint8_t *)cases[i].bytes + j,
			    1) == 0;
		ok((ok1 && utf8_complete(&st)) == cases[i].valid,
		    "byte by byte: %s", cases[i].what);
	}
	return tap_done();
}
