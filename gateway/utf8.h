/*
 * utf8: an incremental strict UTF-8 check (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), for text messages that arrive
 * in fragments cut anywhere, even inside a character.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Where a check stands between chunks; zero it to start a message. */
struct utf8_state {
	uint8_t	need;	/* continuation bytes still expected */
	uint8_t	lo;	/* allowed range of the next continuation byte */
	uint8_t	hi;
};

/* Feeds p[0..n). Returns 0, or -1 at the first byte that cannot be UTF-8. */
int	utf8_feed(struct utf8_state *st, const uint8_t *p, size_t n);
/* 1 when the input so far ended on a character boundary. */
int	utf8_complete(const struct utf8_state *st);
/* Whole-buffer check: 1 when p[0..n) is strict UTF-8. */
int	utf8_valid(const uint8_t *p, size_t n);

#endif
