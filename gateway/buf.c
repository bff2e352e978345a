/*
 * buf: a growable byte buffer with a read offset. Writers append at len,
 * readers consume from off; the consumed prefix is reclaimed lazily, when
 * an append needs room, so a send queue that is drained a little at a time
 * does not move its content on every write.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/* First allocation: small, since most buffers hold one short frame. */
#define BUF_MIN_CAP	64

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->off = 0;
	b->len = 0;
	b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Moves the unread bytes to the front, giving back the consumed prefix. */
static void
buf_compact(struct buf *b)
{
	size_t	unread = b->len - b->off;

	if (b->off == 0)
		return;
	if (unread > 0)
		memmove(b->data, b->data + b->off, unread);
	b->off = 0;
	b->len = unread;
}

void
buf_reserve(struct buf *b, size_t n)
{
	size_t	unread = b->len - b->off, need, cap;

	if (b->cap - b->len >= n)
		return;
	/*
	 * Compacting alone is worth it only when the consumed prefix is at
	 * least as large as what is left to read; otherwise a queue that
	 * loses one byte and gains one would move everything each time.
	 */
	if (b->off >= unread && b->cap - unread >= n) {
		buf_compact(b);
		return;
	}
	/* Cannot be satisfied: xrealloc reports SIZE_MAX as out of memory. */
	need = n > SIZE_MAX - unread ? SIZE_MAX : unread + n;
	/* At least doubling keeps appends amortised O(1). */
	cap = b->cap ? b->cap : BUF_MIN_CAP / 2;
	do {
		cap = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
	} while (cap < need);
	buf_compact(b);
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_append(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

void
buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_append_byte(struct buf *b, uint8_t c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap, ap2;
	size_t	room;
	int	n;

	/* Most lines fit in the free space: format straight into it. */
	buf_reserve(b, BUF_MIN_CAP);
	room = b->cap - b->len;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf((char *)b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n >= room) {
		/* +1: room for the NUL vsnprintf writes after the text. */
		buf_reserve(b, (size_t)n + 1);
		vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
	}
	va_end(ap2);
	if (n > 0)
		b->len += (size_t)n;
}

const uint8_t *
buf_head(const struct buf *b)
{
	/*
	 * Never NULL, so callers may hand an empty buffer to memcpy and
	 * friends, whose pointer arguments must not be NULL.
	 */
	if (b->data == NULL)
		return (const uint8_t *)"";
	return b->data + b->off;
}

size_t
buf_size(const struct buf *b)
{
	return b->len - b->off;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len - b->off)
		n = b->len - b->off;
	b->off += n;
	/* Fully drained: start over at the front for free. */
	if (b->off == b->len)
		b->off = b->len = 0;
}

void
buf_reset(struct buf *b)
{
	b->off = 0;
	b->len = 0;
}
