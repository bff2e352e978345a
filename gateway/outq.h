/*
 * outq: the bytes waiting to go out on one raw socket, as a FIFO of
 * chunks each written whole with one lws_write (lws keeps what the kernel
 * does not take and holds back the next WRITEABLE until it is gone). A
 * chunk is allocated with the LWS_PRE headroom lws_write wants, so a
 * WebSocket frame is built in place, header and payload in one piece.
 */
#ifndef OUTQ_H
#define OUTQ_H

#include <stddef.h>
#include <stdint.h>

struct lws;
struct outq_chunk;

/* Embedded in its owner; zero it (OUTQ_INIT) to start empty. */
struct outq {
	struct outq_chunk	*head;
	struct outq_chunk	*tail;
	size_t			 bytes;		/* queued, not yet written */
};

#define OUTQ_INIT	{ NULL, NULL, 0 }

/*
 * Adds a chunk of len bytes at the back (or, with front set, at the
 * front: control frames overtake queued data) and returns where its bytes
 * go; the pointer stays valid until the chunk is written or the queue
 * cleared.
 */
uint8_t	*outq_push(struct outq *q, size_t len, int front);
/* Same with the bytes given. */
void	 outq_push_copy(struct outq *q, const void *data, size_t len);
/*
 * Writes the chunk at the front with lws_write and frees it, together
 * with the chunks after it while they fit in 16 KiB (one write instead
 * of one per chunk and loop turn). Returns 1 when something was written,
 * 0 when the queue is empty, or -EIO when lws refused the write (the
 * socket is going away).
 */
int	 outq_write(struct outq *q, struct lws *wsi);
/* Frees every queued chunk. */
void	 outq_clear(struct outq *q);

#endif
