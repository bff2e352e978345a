/*
 * fuzz_fcgi: the FastCGI record decoder (gateway/fcgi.c) on whatever a
 * handler's socket may deliver. Decodes every record of the input at
 * once, checking each against what fcgi.h promises, then feeds the same
 * bytes again in small pieces through a struct buf, as the pool does, and
 * checks that both ways see the same records and stop at the same place
 * for the same reason: the decoder must not depend on how bytes arrive.
 */
#include <string.h>

#include "buf.h"
#include "driver.h"
#include "fcgi.h"

#define FUZZ_PIECES	13	/* pieces of 1..13 bytes, in turn */

/* Where decoding an input stopped, and why. */
struct fuzz_end {
	size_t	off;	/* bytes taken by whole records */
	int	rc;	/* 0: the rest is an incomplete record; or FCGI_EPROTO_* */
};

/* Appends what identifies a record, so two decodes can be compared. */
static void
fuzz_note(struct buf *seen, const struct fcgi_record *rec)
{
	buf_append_byte(seen, rec->type);
	buf_append_byte(seen, (uint8_t)(rec->request_id >> 8));
	buf_append_byte(seen, (uint8_t)rec->request_id);
	buf_append_byte(seen, rec->protocol_status);
	buf_append(seen, &rec->app_status, sizeof rec->app_status);
	/* Copies every content byte: ASan checks the span is inside data. */
	buf_append(seen, rec->content, rec->content_len);
}

/* Checks a record of n bytes that fcgi_decode took from data[0..len). */
static void
fuzz_check_record(const uint8_t *data, size_t len, int n,
    const struct fcgi_record *rec)
{
	struct fcgi_record	again, before;
	size_t			total = (size_t)n;

	FUZZ_EXPECT(total >= FCGI_HEADER_LEN && total <= len);
	FUZZ_EXPECT(rec->content == data + FCGI_HEADER_LEN);
	FUZZ_EXPECT(FCGI_HEADER_LEN + (size_t)rec->content_len <= total);
	FUZZ_EXPECT(total - FCGI_HEADER_LEN - rec->content_len <= 255);
	FUZZ_EXPECT(rec->type == FCGI_STDOUT || rec->type == FCGI_STDERR ||
	    rec->type == FCGI_END_REQUEST ||
	    rec->type == FCGI_GET_VALUES_RESULT ||
	    rec->type == FCGI_UNKNOWN_TYPE);
	if (rec->type == FCGI_END_REQUEST)
		FUZZ_EXPECT(rec->content_len == 8);
	else
		FUZZ_EXPECT(rec->app_status == 0 && rec->protocol_status == 0);
	/* The same record one byte short is waited for, rec untouched. */
	memset(&again, 0xa5, sizeof again);
	memcpy(&before, &again, sizeof before);
	FUZZ_EXPECT(fcgi_decode(data, total - 1, &again) == 0);
	FUZZ_EXPECT(memcmp(&again, &before, sizeof again) == 0);
}

/* Decodes the whole input in one buffer, as far as it goes. */
static struct fuzz_end
fuzz_whole(const uint8_t *data, size_t size, struct buf *seen)
{
	struct fcgi_record	rec;
	struct fuzz_end		end = { 0, 0 };
	int			n;

	while ((n = fcgi_decode(data + end.off, size - end.off, &rec)) > 0) {
		fuzz_check_record(data + end.off, size - end.off, n, &rec);
		fuzz_note(seen, &rec);
		end.off += (size_t)n;
	}
	end.rc = n;
	if (n < 0)
		FUZZ_EXPECT(n == FCGI_EPROTO_VERSION ||
		    n == FCGI_EPROTO_TYPE || n == FCGI_EPROTO_END);
	FUZZ_EXPECT(fcgi_strerror(n) != NULL);
	return end;
}

/* The same bytes arriving a few at a time into a buffer, as in pool.c. */
static struct fuzz_end
fuzz_pieces(const uint8_t *data, size_t size, struct buf *seen)
{
	struct buf		in = BUF_INIT;
	struct fcgi_record	rec;
	struct fuzz_end		end = { 0, 0 };
	size_t			pos = 0, piece, k = 0;
	int			n = 0;

	while (pos < size && n >= 0) {
		piece = 1 + k++ % FUZZ_PIECES;
		if (piece > size - pos)
			piece = size - pos;
		buf_append(&in, data + pos, piece);
		pos += piece;
		while ((n = fcgi_decode(buf_head(&in), buf_size(&in),
		    &rec)) > 0) {
			fuzz_note(seen, &rec);
			buf_consume(&in, (size_t)n);
			end.off += (size_t)n;
		}
	}
	end.rc = n;
	buf_free(&in);
	return end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	whole_seen = BUF_INIT, pieces_seen = BUF_INIT;
	struct fuzz_end	whole, pieces;

	whole = fuzz_whole(data, size, &whole_seen);
	pieces = fuzz_pieces(data, size, &pieces_seen);
	FUZZ_EXPECT(whole.off == pieces.off && whole.rc == pieces.rc);
	FUZZ_EXPECT(buf_size(&whole_seen) == buf_size(&pieces_seen));
	FUZZ_EXPECT(memcmp(buf_head(&whole_seen), buf_head(&pieces_seen),
	    buf_size(&whole_seen)) == 0);
	buf_free(&whole_seen);
	buf_free(&pieces_seen);
	return 0;
}
