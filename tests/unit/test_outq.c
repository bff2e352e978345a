/*
 * Unit tests for gateway/outq.c. lws_write is replaced by a recorder, so
 * the test sees every write the queue makes: the bytes must come out in
 * queue order (front pushes first), every chunk exactly once, small
 * chunks gathered into one write of at most OUTQ_COALESCE bytes, and a
 * chunk larger than that written alone.
 */
#include "outq.c"
#include "buf.h"

#include "tap.h"

static struct buf	 written;	/* every byte lws_write was given */
static int		 writes;
static size_t		 largest;
static int		 fail_next;

int
lws_write(struct lws *wsi, unsigned char *buf, size_t len,
    enum lws_write_protocol wp)
{
	(void)wsi;
	if (wp != LWS_WRITE_RAW || fail_next)
		return -1;
	buf_append(&written, buf, len);
	writes++;
	if (len > largest)
		largest = len;
	return (int)len;
}

static void
reset(void)
{
	buf_reset(&written);
	writes = 0;
	largest = 0;
	fail_next = 0;
}

/* Writes until the queue is empty; returns the number of calls made. */
static int
drain(struct outq *q)
{
	int	calls = 0, rc;

	while ((rc = outq_write(q, NULL)) == 1)
		calls++;
	ok(rc == 0, "drained: outq_write says empty");
	return calls;
}

static void
test_order(void)
{
	struct outq	q = OUTQ_INIT;

	reset();
	outq_push_copy(&q, "bb", 2);
	outq_push_copy(&q, "ccc", 3);
	memcpy(outq_push(&q, 1, 1), "a", 1);	/* a pong overtakes */
	ok(q.bytes == 6, "bytes counts what is queued");
	ok(drain(&q) == 1, "three small chunks, one write");
	ok(buf_size(&written) == 6 && memcmp(buf_head(&written), "abbccc",
	    6) == 0, "front push first, then in order");
	ok(q.bytes == 0 && q.head == NULL && q.tail == NULL, "queue empty");
	outq_push_copy(&q, "d", 1);
	ok(q.head == q.tail && q.head != NULL, "usable again after draining");
	outq_clear(&q);
}

static void
test_coalesce_bound(void)
{
	struct outq	 q = OUTQ_INIT;
	uint8_t		 big[OUTQ_COALESCE + 100];
	size_t		 i;
	struct buf	 expect = BUF_INIT;
	int		 calls;

	reset();
	/* 100 chunks of 1000 bytes: gathered up to 16 KiB per write */
	for (i = 0; i < 100; i++) {
		memset(big, 'A' + (int)(i % 26), 1000);
		outq_push_copy(&q, big, 1000);
		buf_append(&expect, big, 1000);
	}
	/* then one chunk over the bound, then a small one */
	memset(big, 'z', sizeof big);
	outq_push_copy(&q, big, sizeof big);
	buf_append(&expect, big, sizeof big);
	outq_push_copy(&q, "end", 3);
	buf_append(&expect, "end", 3);
	calls = drain(&q);
	ok(calls == 9, "100 KB of small chunks in 7 writes, the big one "
	    "alone, the last one alone (%d writes)", calls);
	ok(largest == sizeof big, "the largest write is the big chunk, "
	    "whole");
	ok(buf_size(&written) == buf_size(&expect) &&
	    memcmp(buf_head(&written), buf_head(&expect),
	    buf_size(&expect)) == 0, "every byte once, in order");
	buf_free(&expect);
}

static void
test_failure(void)
{
	struct outq	q = OUTQ_INIT;

	reset();
	outq_push_copy(&q, "x", 1);
	outq_push_copy(&q, "y", 1);
	fail_next = 1;
	ok(outq_write(&q, NULL) == -EIO, "a refused write is -EIO");
	ok(q.head == NULL && q.bytes == 0, "the chunks it took are gone");
	outq_push_copy(&q, "z", 1);
	outq_clear(&q);
	outq_clear(&q);
	ok(q.head == NULL && q.bytes == 0, "clear twice is harmless");
}

int
main(void)
{
	test_order();
	test_coalesce_bound();
	test_failure();
	buf_free(&written);
	return tap_done();
}
