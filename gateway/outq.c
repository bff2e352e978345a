/*
 * outq: a FIFO of whole chunks for a raw lws socket (see outq.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "outq.h"
#include "xmalloc.h"

#define OUTQ_COALESCE	16384	/* bytes gathered into one write */

struct outq_chunk {
	struct outq_chunk	*next;
	size_t			 len;
	uint8_t			 data[];	/* LWS_PRE bytes, then len bytes */
};

uint8_t *
outq_push(struct outq *q, size_t len, int front)
{
	struct outq_chunk	*c = xmalloc(sizeof *c + LWS_PRE + len);

	c->len = len;
	if (front) {
		c->next = q->head;
		q->head = c;
		if (q->tail == NULL)
			q->tail = c;
	} else {
		c->next = NULL;
		if (q->tail != NULL)
			q->tail->next = c;
		else
			q->head = c;
		q->tail = c;
	}
	q->bytes += len;
	return c->data + LWS_PRE;
}

void
outq_push_copy(struct outq *q, const void *data, size_t len)
{
	memcpy(outq_push(q, len, 0), data, len);
}

/* Takes the chunk at the front off the queue; the caller frees it. */
static struct outq_chunk *
outq_pop(struct outq *q)
{
	struct outq_chunk	*c = q->head;

	q->head = c->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->bytes -= c->len;
	return c;
}

int
outq_write(struct outq *q, struct lws *wsi)
{
	struct outq_chunk	*c, *run;
	size_t			 total = 0, off = 0;
	int			 n;

	if (q->head == NULL)
		return 0;
	/* several small chunks (a batch's frames) go out in one write */
	for (c = q->head; c != NULL && total + c->len <= OUTQ_COALESCE;
	    c = c->next)
		total += c->len;
	if (c == q->head || q->head->next == NULL || total == q->head->len) {
		c = outq_pop(q);
		n = lws_write(wsi, c->data + LWS_PRE, c->len, LWS_WRITE_RAW);
		free(c);
		return n < 0 ? -EIO : 1;
	}
	run = xmalloc(sizeof *run + LWS_PRE + total);
	while (off < total) {
		c = outq_pop(q);
		memcpy(run->data + LWS_PRE + off, c->data + LWS_PRE, c->len);
		off += c->len;
		free(c);
	}
	n = lws_write(wsi, run->data + LWS_PRE, total, LWS_WRITE_RAW);
	free(run);
	return n < 0 ? -EIO : 1;
}

void
outq_clear(struct outq *q)
{
	struct outq_chunk	*c;

	while ((c = q->head) != NULL) {
		q->head = c->next;
		free(c);
	}
	q->tail = NULL;
	q->bytes = 0;
}
