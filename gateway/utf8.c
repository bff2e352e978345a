/*
 * utf8: the table of RFC 3629 section 4 as a small state machine. The
 * first continuation byte after E0, ED, F0 and F4 has a narrower range;
 * that is what rules out overlong forms, surrogates and code points above
 * U+10FFFF.
 */
#include "utf8.h"

int
utf8_feed(struct utf8_state *st, const uint8_t *p, size_t n)
{
	size_t	i;
	uint8_t	c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (st->need > 0) {
			if (c < st->lo || c > st->hi)
				return -1;
			st->need--;
			st->lo = 0x80;
			st->hi = 0xbf;
			continue;
		}
		if (c < 0x80)
			continue;
		if (c < 0xc2 || c > 0xf4)
			return -1;
		st->lo = 0x80;
		st->hi = 0xbf;
		if (c < 0xe0)
			st->need = 1;
		else if (c < 0xf0) {
			st->need = 2;
			if (c == 0xe0)
				st->lo = 0xa0;
			else if (c == 0xed)
				st->hi = 0x9f;
		} else {
			st->need = 3;
			if (c == 0xf0)
				st->lo = 0x90;
			else if (c == 0xf4)
				st->hi = 0x8f;
		}
	}
	return 0;
}

int
utf8_complete(const struct utf8_state *st)
{
	return st->need == 0;
}

int
utf8_valid(const uint8_t *p, size_t n)
{
	struct utf8_state	st = { 0, 0x80, 0xbf };

	return utf8_feed(&st, p, n) == 0 && utf8_complete(&st);
}
