/*
 * fuzz_wsframe: the RFC 6455 frame parser (gateway/wsframe.c) on whatever
 * a client's socket may deliver. Parses the input in one buffer, checking
 * each event against what wsframe.h promises, then feeds the same bytes
 * again in small pieces, each in a buffer of its own exact size, as reads
 * of a non-blocking socket would come; both ways must give the same
 * messages and control frames and end with the same result: the parser
 * must not depend on how bytes arrive. The input also serves as a close
 * reason for wsframe_close_payload.
 */
#include <string.h>

#include "buf.h"
#include "driver.h"
#include "utf8.h"
#include "wsframe.h"
#include "xmalloc.h"

#define FUZZ_PIECES		13	/* pieces of 1..13 bytes, in turn */
#define FUZZ_MAX_MESSAGE	1000	/* max_message: reachable by inputs */

/* What one way of feeding the input saw. */
struct fuzz_run {
	struct wsframe_parser	p;
	struct buf		seen;	/* whole messages and controls */
	struct buf		msg;	/* the open message so far */
	int			open;	/* a message is open */
	int			opcode;	/* its type */
	size_t			used;	/* bytes consumed */
	int			rc;	/* 0, or the WSFRAME_E* that ended it */
};

/* Appends a length, so that what follows cannot be mistaken. */
static void
fuzz_note_len(struct buf *b, size_t len)
{
	uint64_t	v = len;

	buf_append(b, &v, sizeof v);
}

/* Checks a DATA event and adds its bytes to the open message. */
static void
fuzz_data(struct fuzz_run *r, const struct wsframe_event *ev)
{
	FUZZ_EXPECT(ev->opcode == WSFRAME_TEXT ||
	    ev->opcode == WSFRAME_BINARY);
	/* first exactly when no message is open; the type stays. */
	FUZZ_EXPECT(ev->first == !r->open);
	if (r->open)
		FUZZ_EXPECT(ev->opcode == r->opcode);
	/* Empty frames inside a message give no event; only a last may. */
	FUZZ_EXPECT(ev->len > 0 || ev->last);
	r->open = 1;
	r->opcode = ev->opcode;
	buf_append(&r->msg, ev->data, ev->len);
	FUZZ_EXPECT(buf_size(&r->msg) <= FUZZ_MAX_MESSAGE);
	/* A text message's bytes may still become UTF-8, or are it. */
	if (ev->opcode == WSFRAME_TEXT) {
		struct utf8_state	st = { 0, 0x80, 0xbf };

		FUZZ_EXPECT(utf8_feed(&st, buf_head(&r->msg),
		    buf_size(&r->msg)) == 0);
		if (ev->last)
			FUZZ_EXPECT(utf8_complete(&st));
	}
	if (!ev->last)
		return;
	buf_append_byte(&r->seen, 'M');
	buf_append_byte(&r->seen, (uint8_t)ev->opcode);
	fuzz_note_len(&r->seen, buf_size(&r->msg));
	buf_append(&r->seen, buf_head(&r->msg), buf_size(&r->msg));
	buf_reset(&r->msg);
	r->open = 0;
}

/* Checks a CONTROL event: whole, validated, inside the parser. */
static void
fuzz_control(struct fuzz_run *r, const struct wsframe_event *ev)
{
	const uint8_t	*lo = (const uint8_t *)&r->p;
	const uint8_t	*hi = lo + sizeof r->p;
	int		 c = ev->close_code;

	FUZZ_EXPECT(ev->opcode == WSFRAME_CLOSE || ev->opcode == WSFRAME_PING ||
	    ev->opcode == WSFRAME_PONG);
	FUZZ_EXPECT(ev->len <= WSFRAME_CONTROL_MAX);
	FUZZ_EXPECT(ev->data >= lo && ev->data + ev->len <= hi);
	FUZZ_EXPECT(!ev->first && !ev->last);
	if (ev->opcode == WSFRAME_CLOSE) {
		FUZZ_EXPECT(ev->len <= WSFRAME_REASON_MAX);
		FUZZ_EXPECT(utf8_valid(ev->data, ev->len));
		FUZZ_EXPECT((c == 1005 && ev->len == 0) ||
		    (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
		    (c >= 3000 && c <= 4999));
	}
	buf_append_byte(&r->seen, 'C');
	buf_append_byte(&r->seen, (uint8_t)ev->opcode);
	buf_append(&r->seen, &c, sizeof c);
	fuzz_note_len(&r->seen, ev->len);
	buf_append(&r->seen, ev->data, ev->len);
}

/* Feeds one read of len bytes, copied to a buffer of exactly that size. */
static void
fuzz_read(struct fuzz_run *r, const uint8_t *in, size_t len)
{
	struct wsframe_event	 ev;
	uint8_t			*data = xmalloc(len > 0 ? len : 1);
	size_t			 off = 0;
	ssize_t			 n;

	memcpy(data, in, len);
	while (off < len && r->rc == 0) {
		n = wsframe_parse(&r->p, data + off, len - off, &ev);
		if (n < 0) {
			FUZZ_EXPECT(ev.kind == WSFRAME_NONE);
			r->rc = (int)n;
			break;
		}
		FUZZ_EXPECT(n > 0 && (size_t)n <= len - off);
		if (ev.kind == WSFRAME_NONE)
			FUZZ_EXPECT((size_t)n == len - off);
		else if (ev.kind == WSFRAME_DATA) {
			FUZZ_EXPECT(ev.data >= data + off &&
			    ev.data + ev.len <= data + off + (size_t)n);
			fuzz_data(r, &ev);
		} else {
			FUZZ_EXPECT(ev.kind == WSFRAME_CONTROL);
			fuzz_control(r, &ev);
		}
		off += (size_t)n;
		r->used += (size_t)n;
	}
	free(data);
}

/* Feeds the input whole (piece 0) or in pieces of 1..FUZZ_PIECES. */
static void
fuzz_feed(struct fuzz_run *r, const uint8_t *data, size_t size, int pieces)
{
	struct wsframe_event	ev;
	size_t			pos = 0, piece, k = 0;
	uint8_t			byte = 0x81;

	memset(r, 0, sizeof *r);
	wsframe_parser_init(&r->p, FUZZ_MAX_MESSAGE);
	while (pos < size && r->rc == 0) {
		piece = pieces ? 1 + k++ % FUZZ_PIECES : size;
		if (piece > size - pos)
			piece = size - pos;
		fuzz_read(r, data + pos, piece);
		pos += piece;
	}
	if (r->rc == 0)
		return;
	FUZZ_EXPECT(r->rc == WSFRAME_ETOOBIG || r->rc == WSFRAME_EUTF8 ||
	    (r->rc <= WSFRAME_ERSV && r->rc >= WSFRAME_ECLOSEUTF8));
	FUZZ_EXPECT(wsframe_close_code(r->rc) == 1002 ||
	    wsframe_close_code(r->rc) == 1007 ||
	    wsframe_close_code(r->rc) == 1009);
	FUZZ_EXPECT(strlen(wsframe_strerror(r->rc)) <= WSFRAME_REASON_MAX);
	/* The error sticks. */
	FUZZ_EXPECT(wsframe_parse(&r->p, &byte, 1, &ev) == r->rc &&
	    ev.kind == WSFRAME_NONE);
}

/* The input, up to a NUL, as a close reason. */
static void
fuzz_close_payload(const uint8_t *data, size_t size)
{
	uint8_t	out[WSFRAME_CONTROL_MAX];
	char	reason[400];
	size_t	n, len;

	len = size < sizeof reason - 1 ? size : sizeof reason - 1;
	memcpy(reason, data, len);
	reason[len] = '\0';
	len = strlen(reason);
	n = wsframe_close_payload(out, 1000, reason);
	FUZZ_EXPECT(n >= 2 && n <= WSFRAME_CONTROL_MAX);
	FUZZ_EXPECT(out[0] == 0x03 && out[1] == 0xe8);
	FUZZ_EXPECT(memcmp(out + 2, reason, n - 2) == 0);
	if (len <= WSFRAME_REASON_MAX)
		FUZZ_EXPECT(n - 2 == len);
	else if (utf8_valid((const uint8_t *)reason, len))
		FUZZ_EXPECT(n - 2 >= WSFRAME_REASON_MAX - 3 &&
		    utf8_valid(out + 2, n - 2));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run	*whole, *pieces;

	whole = xmalloc(sizeof *whole);
	pieces = xmalloc(sizeof *pieces);
	fuzz_feed(whole, data, size, 0);
	fuzz_feed(pieces, data, size, 1);
	FUZZ_EXPECT(whole->rc == pieces->rc);
	FUZZ_EXPECT(buf_size(&whole->seen) == buf_size(&pieces->seen));
	FUZZ_EXPECT(memcmp(buf_head(&whole->seen), buf_head(&pieces->seen),
	    buf_size(&whole->seen)) == 0);
	/*
	 * Without an error both took everything and hold the same start of
	 * the open message. An error stops a read short of bytes before it
	 * in the same frame, so the whole run may have handed out less.
	 */
	if (whole->rc == 0)
		FUZZ_EXPECT(whole->used == size && pieces->used == size &&
		    whole->open == pieces->open &&
		    buf_size(&whole->msg) == buf_size(&pieces->msg));
	else
		FUZZ_EXPECT(buf_size(&whole->msg) <= buf_size(&pieces->msg));
	FUZZ_EXPECT(memcmp(buf_head(&whole->msg), buf_head(&pieces->msg),
	    buf_size(&whole->msg)) == 0);
	fuzz_close_payload(data, size);
	buf_free(&whole->seen);
	buf_free(&whole->msg);
	buf_free(&pieces->seen);
	buf_free(&pieces->msg);
	free(whole);
	free(pieces);
	return 0;
}
