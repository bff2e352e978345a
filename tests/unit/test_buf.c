/*
 * Unit tests for gateway/buf.c. The .c is included so the tests can look
 * at the offset and capacity the way the reclaiming logic sees them.
 */
#include "buf.c"

#include "tap.h"

static void
test_empty(void)
{
	struct buf	b = BUF_INIT;
	struct buf	c;

	ok(buf_size(&b) == 0, "BUF_INIT is empty");
	ok(buf_head(&b) != NULL, "head of an empty buffer is not NULL");
	buf_init(&c);
	ok(c.data == NULL && c.off == 0 && c.len == 0 && c.cap == 0,
	    "buf_init zeroes the struct");
	buf_consume(&b, 0);
	ok(buf_size(&b) == 0, "consume 0 on an empty buffer");
	buf_append(&b, NULL, 0);
	ok(b.data == NULL, "appending nothing allocates nothing");
	buf_free(&b);
	buf_free(&b);
	ok(b.data == NULL && b.cap == 0, "buf_free twice is safe");
}

static void
test_append(void)
{
	struct buf	b = BUF_INIT;
	char		big[1000];
	size_t		i;

	buf_append(&b, "abc", 3);
	buf_append_str(&b, "def");
	buf_append_byte(&b, 0);
	buf_append_byte(&b, 0xff);
	ok(buf_size(&b) == 8, "append, append_str, append_byte sizes add up");
	ok(memcmp(buf_head(&b), "abcdef\0\xff", 8) == 0,
	    "content is byte exact, NUL and 0xff included");
	for (i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	buf_append(&b, big, sizeof big);
	ok(buf_size(&b) == 1008 && b.cap >= 1008,
	    "growth past the first block");
	ok(memcmp(buf_head(&b) + 8, big, sizeof big) == 0,
	    "content survives growth");
	buf_free(&b);
}

static void
test_printf(void)
{
	struct buf	b = BUF_INIT;
	char		expect[300];

	buf_printf(&b, "%s=%d;", "x", 42);
	ok(buf_size(&b) == 5 && memcmp(buf_head(&b), "x=42;", 5) == 0,
	    "printf appends without the NUL");
	buf_printf(&b, "%s", "");
	ok(buf_size(&b) == 5, "printf of an empty string appends nothing");
	memset(expect, 'q', 200);
	expect[200] = '\0';
	buf_printf(&b, "%s", expect);
	ok(buf_size(&b) == 205 && memcmp(buf_head(&b) + 5, expect, 200) == 0,
	    "printf longer than the capacity is not truncated");
	buf_free(&b);
}

static void
test_consume(void)
{
	struct buf	b = BUF_INIT;
	size_t		cap;

	buf_append_str(&b, "hello world");
	buf_consume(&b, 6);
	ok(buf_size(&b) == 5 && memcmp(buf_head(&b), "world", 5) == 0,
	    "consume advances the head");
	buf_consume(&b, 5);
	ok(buf_size(&b) == 0 && b.off == 0 && b.len == 0,
	    "consuming everything rewinds to the front");
	cap = b.cap;
	buf_append_str(&b, "again");
	ok(b.cap == cap && memcmp(buf_head(&b), "again", 5) == 0,
	    "storage is reused after draining");
	buf_reset(&b);
	ok(buf_size(&b) == 0 && b.cap == cap && b.data != NULL,
	    "reset empties and keeps the storage");
	buf_free(&b);
}

static void
test_reserve(void)
{
	struct buf	b = BUF_INIT;
	uint8_t		block[64];
	size_t		cap;

	memset(block, 'z', sizeof block);
	buf_append(&b, block, sizeof block);
	cap = b.cap;
	ok(cap == 64, "first allocation is 64 bytes");
	/* Mostly consumed: compacting makes room without growing. */
	buf_consume(&b, 60);
	buf_append_str(&b, "0123");
	ok(b.cap == cap && b.off == 0 && buf_size(&b) == 8,
	    "a consumed prefix is reclaimed instead of growing");
	ok(memcmp(buf_head(&b), "zzzz0123", 8) == 0,
	    "compaction keeps the unread bytes in order");
	/* Barely consumed: moving everything for one byte is not worth it. */
	buf_reset(&b);
	buf_append(&b, block, sizeof block);
	buf_consume(&b, 1);
	buf_append_byte(&b, '!');
	ok(b.cap > cap, "a small consumed prefix makes the buffer grow");
	ok(buf_size(&b) == 64 && b.data[b.off + 63] == '!' &&
	    b.data[b.off] == 'z', "content intact after growing");
	buf_reserve(&b, 10000);
	ok(b.cap - b.len >= 10000, "reserve guarantees the room asked for");
	cap = b.cap;
	buf_reserve(&b, 10);
	ok(b.cap == cap, "reserve within capacity does nothing");
	buf_free(&b);
}

/* A send queue drained in small steps keeps its content and stays small. */
static void
test_queue(void)
{
	struct buf	b = BUF_INIT;
	size_t		i, expect_next = 0, written = 0, max_cap = 0;
	int		good = 1;

	for (i = 0; i < 20000; i++) {
		uint8_t c = (uint8_t)(written++ % 251);

		buf_append_byte(&b, c);
		if (i % 3 != 0) {
			if (buf_head(&b)[0] != (uint8_t)(expect_next % 251))
				good = 0;
			buf_consume(&b, 1);
			expect_next++;
		}
		if (b.cap > max_cap)
			max_cap = b.cap;
	}
	ok(good, "FIFO order holds across compactions and growth");
	ok(buf_size(&b) == written - expect_next, "queue length is right");
	ok(max_cap <= 4 * (written - expect_next) + 64,
	    "capacity stays proportional to the unread bytes");
	buf_free(&b);
}

int
main(void)
{
	test_empty();
	test_append();
	test_printf();
	test_consume();
	test_reserve();
	test_queue();
	return tap_done();
}
