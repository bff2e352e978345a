/*
 * fcgi: FastCGI 1.0 records for the client side of the gateway, as pure
 * functions over buffers. The encoder writes a whole RESPONDER request so
 * the pool can send it in one go (libfcgi drops a connection that stays
 * silent after accept); the decoder only ever takes whole records, so the
 * caller can feed it whatever the socket returned and call again later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fcgi.h"

/* The 4-byte length form keeps 31 bits; the high bit marks the form. */
#define FCGI_NV_LEN_MAX		0x7fffffffu
#define FCGI_NV_SHORT_MAX	127

/* Padding that brings a content length to a multiple of 8. */
static uint8_t
fcgi_padding(size_t content_len)
{
	return (uint8_t)((8 - (content_len & 7)) & 7);
}

/* Appends the 8-byte record header. */
static void
fcgi_header(struct buf *out, uint8_t type, uint16_t request_id,
    uint16_t content_len, uint8_t padding)
{
	uint8_t	h[FCGI_HEADER_LEN];

	h[0] = FCGI_VERSION_1;
	h[1] = type;
	h[2] = (uint8_t)(request_id >> 8);
	h[3] = (uint8_t)request_id;
	h[4] = (uint8_t)(content_len >> 8);
	h[5] = (uint8_t)content_len;
	h[6] = padding;
	h[7] = 0;
	buf_append(out, h, sizeof h);
}

/* Appends one name or value length in the FastCGI 1- or 4-byte form. */
static void
fcgi_nv_len(struct buf *nv, size_t len)
{
	uint8_t	l[4];

	if (len <= FCGI_NV_SHORT_MAX) {
		buf_append_byte(nv, (uint8_t)len);
		return;
	}
	/*
	 * Nothing the gateway sends comes near 2 GiB (messages are bounded
	 * far below); a longer one is a bug that must not be sent truncated.
	 */
	if (len > FCGI_NV_LEN_MAX)
		abort();
	l[0] = (uint8_t)((len >> 24) | 0x80);
	l[1] = (uint8_t)(len >> 16);
	l[2] = (uint8_t)(len >> 8);
	l[3] = (uint8_t)len;
	buf_append(nv, l, sizeof l);
}

void
fcgi_param_add(struct buf *nv, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	fcgi_nv_len(nv, name_len);
	fcgi_nv_len(nv, value_len);
	buf_append(nv, name, name_len);
	buf_append(nv, value, value_len);
}

void
fcgi_param_add_str(struct buf *nv, const char *name, const char *value)
{
	fcgi_param_add(nv, name, strlen(name), value, strlen(value));
}

void
fcgi_encode_begin(struct buf *out, uint16_t request_id)
{
	/* role (2 bytes), flags, 5 reserved bytes */
	static const uint8_t body[8] = {
		0, FCGI_RESPONDER, FCGI_KEEP_CONN, 0, 0, 0, 0, 0
	};

	fcgi_header(out, FCGI_BEGIN_REQUEST, request_id, sizeof body, 0);
	buf_append(out, body, sizeof body);
}

/* Bytes fcgi_encode_stream appends for len bytes of data. */
static size_t
fcgi_stream_size(size_t len)
{
	size_t	full = len / FCGI_MAX_CONTENT, rest = len % FCGI_MAX_CONTENT;
	size_t	size;

	size = full * (FCGI_HEADER_LEN + FCGI_MAX_CONTENT +
	    fcgi_padding(FCGI_MAX_CONTENT));
	if (rest > 0)
		size += FCGI_HEADER_LEN + rest + fcgi_padding(rest);
	return size + FCGI_HEADER_LEN;
}

void
fcgi_encode_stream(struct buf *out, uint8_t type, uint16_t request_id,
    const void *data, size_t len)
{
	static const uint8_t	 zeros[8];
	const uint8_t		*p = data;
	size_t			 chunk;
	uint8_t			 pad;

	buf_reserve(out, fcgi_stream_size(len));
	while (len > 0) {
		chunk = len < FCGI_MAX_CONTENT ? len : FCGI_MAX_CONTENT;
		pad = fcgi_padding(chunk);
		fcgi_header(out, type, request_id, (uint16_t)chunk, pad);
		buf_append(out, p, chunk);
		buf_append(out, zeros, pad);
		p += chunk;
		len -= chunk;
	}
	/* The empty record is what tells the application the stream ended. */
	fcgi_header(out, type, request_id, 0, 0);
}

void
fcgi_encode_get_values(struct buf *out)
{
	struct buf	nv = BUF_INIT;

	fcgi_param_add(&nv, "FCGI_MAX_CONNS", 14, "", 0);
	fcgi_param_add(&nv, "FCGI_MAX_REQS", 13, "", 0);
	fcgi_param_add(&nv, "FCGI_MPXS_CONNS", 15, "", 0);
	/*
	 * Sent as a stream, empty record last: libfcgi reads a management
	 * record's content as a stream and answers only once it has ended.
	 */
	fcgi_encode_stream(out, FCGI_GET_VALUES, 0, buf_head(&nv),
	    buf_size(&nv));
	buf_free(&nv);
}

void
fcgi_encode_request(struct buf *out, uint16_t request_id,
    const struct buf *nv, const void *body, size_t body_len)
{
	size_t	nv_len = nv != NULL ? buf_size(nv) : 0;

	/* One allocation for the whole request, which is written at once. */
	buf_reserve(out, FCGI_HEADER_LEN + 8 + fcgi_stream_size(nv_len) +
	    fcgi_stream_size(body_len));
	fcgi_encode_begin(out, request_id);
	fcgi_encode_stream(out, FCGI_PARAMS, request_id,
	    nv != NULL ? buf_head(nv) : NULL, nv_len);
	fcgi_encode_stream(out, FCGI_STDIN, request_id, body, body_len);
}

/* Whether a client may receive records of this type. */
static int
fcgi_type_ok(uint8_t type)
{
	switch (type) {
	case FCGI_STDOUT:
	case FCGI_STDERR:
	case FCGI_END_REQUEST:
	case FCGI_GET_VALUES_RESULT:
	case FCGI_UNKNOWN_TYPE:
		return 1;
	default:
		return 0;
	}
}

int
fcgi_decode(const uint8_t *data, size_t len, struct fcgi_record *rec)
{
	uint16_t	content_len;
	size_t		total;

	/*
	 * Check what is already there before waiting for the rest: garbage
	 * from a broken handler is reported at its first byte, not after
	 * we waited for a length it made up.
	 */
	if (len >= 1 && data[0] != FCGI_VERSION_1)
		return FCGI_EPROTO_VERSION;
	if (len >= 2 && !fcgi_type_ok(data[1]))
		return FCGI_EPROTO_TYPE;
	if (len < FCGI_HEADER_LEN)
		return 0;
	content_len = (uint16_t)(data[4] << 8 | data[5]);
	if (data[1] == FCGI_END_REQUEST && content_len != 8)
		return FCGI_EPROTO_END;
	total = FCGI_HEADER_LEN + (size_t)content_len + data[6];
	if (len < total)
		return 0;

	rec->type = data[1];
	rec->request_id = (uint16_t)(data[2] << 8 | data[3]);
	rec->content = data + FCGI_HEADER_LEN;
	rec->content_len = content_len;
	rec->app_status = 0;
	rec->protocol_status = 0;
	if (rec->type == FCGI_END_REQUEST) {
		rec->app_status = (uint32_t)rec->content[0] << 24 |
		    (uint32_t)rec->content[1] << 16 |
		    (uint32_t)rec->content[2] << 8 | rec->content[3];
		rec->protocol_status = rec->content[4];
	}
	return (int)total;
}

const char *
fcgi_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case FCGI_EPROTO_VERSION:
		return "FastCGI record version is not 1";
	case FCGI_EPROTO_TYPE:
		return "FastCGI record type not expected by a client";
	case FCGI_EPROTO_END:
		return "FastCGI END_REQUEST body is not 8 bytes";
	default:
		if (err < 0 && err > -1000)
			return strerror(-err);
		return "unknown FastCGI error";
	}
}
