/*
 * buf: a growable byte buffer with a read offset, used for FastCGI request
 * encoding, response accumulation and per-connection send queues. Memory
 * comes from xmalloc (abort on OOM), so appends cannot fail.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

/* A plain value struct: data[off..len) is the unread content. */
struct buf {
	uint8_t	*data;
	size_t	 off;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0, 0 }

void	 buf_init(struct buf *b);
/* Frees the storage; safe to call twice. */
void	 buf_free(struct buf *b);
/* Makes room for n more bytes after len; may compact the consumed prefix. */
void	 buf_reserve(struct buf *b, size_t n);
void	 buf_append(struct buf *b, const void *data, size_t n);
void	 buf_append_str(struct buf *b, const char *s);
void	 buf_append_byte(struct buf *b, uint8_t c);
void	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Unread bytes and their count. */
const uint8_t *buf_head(const struct buf *b);
size_t	 buf_size(const struct buf *b);
/* Marks n unread bytes as consumed (n <= buf_size). */
void	 buf_consume(struct buf *b, size_t n);
/* Empties the buffer, keeping its storage for reuse. */
void	 buf_reset(struct buf *b);

#endif
