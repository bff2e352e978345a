/*
 * fcgi: the FastCGI record layer of the gateway's client side, as pure
 * functions over buffers (no I/O). The encoder builds a whole RESPONDER
 * request (BEGIN_REQUEST with FCGI_KEEP_CONN, PARAMS, STDIN) so the caller
 * can write it at once; the decoder takes one whole record from the front
 * of a buffer, or says it needs more bytes.
 */
#ifndef FCGI_H
#define FCGI_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_ABORT_REQUEST	2
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_DATA		8
#define FCGI_GET_VALUES		9
#define FCGI_GET_VALUES_RESULT	10
#define FCGI_UNKNOWN_TYPE	11

#define FCGI_RESPONDER		1
#define FCGI_KEEP_CONN		1
#define FCGI_REQUEST_COMPLETE	0

#define FCGI_HEADER_LEN		8
#define FCGI_MAX_CONTENT	65535

/* Module error codes, below the errno range. */
#define FCGI_EPROTO_VERSION	(-1001)	/* record version is not 1 */
#define FCGI_EPROTO_TYPE	(-1002)	/* record type a client never receives */
#define FCGI_EPROTO_END		(-1003)	/* END_REQUEST body is not 8 bytes */

/*
 * Appends one name-value pair to nv, in the FastCGI length encoding (1 byte
 * for lengths < 128, else 4 bytes with the high bit set). nv is the
 * content of a PARAMS stream, not yet cut into records.
 */
void	fcgi_param_add(struct buf *nv, const char *name, size_t name_len,
	    const char *value, size_t value_len);
/* Same with NUL-terminated name and value. */
void	fcgi_param_add_str(struct buf *nv, const char *name, const char *value);

/* Appends a BEGIN_REQUEST record (role RESPONDER, flags FCGI_KEEP_CONN). */
void	fcgi_encode_begin(struct buf *out, uint16_t request_id);
/*
 * Appends the stream of the given type (FCGI_PARAMS or FCGI_STDIN): data
 * cut into records of at most FCGI_MAX_CONTENT bytes, each padded to a
 * multiple of 8, then the empty record that ends the stream.
 */
void	fcgi_encode_stream(struct buf *out, uint8_t type, uint16_t request_id,
	    const void *data, size_t len);
/* Appends a whole request: begin, PARAMS from nv, STDIN from body. */
void	fcgi_encode_request(struct buf *out, uint16_t request_id,
	    const struct buf *nv, const void *body, size_t body_len);

/*
 * Appends a FCGI_GET_VALUES management record (request id 0) asking for
 * FCGI_MAX_CONNS, FCGI_MAX_REQS and FCGI_MPXS_CONNS, then an empty
 * GET_VALUES record (libfcgi needs it to see the end of the content). A
 * FastCGI application answers with GET_VALUES_RESULT (libfcgi answers the
 * empty record too, later) without running a request, which makes it a
 * harmless "are you up" probe.
 */
void	fcgi_encode_get_values(struct buf *out);

/* One decoded record; content points into the caller's buffer. */
struct fcgi_record {
	uint8_t		 type;
	uint16_t	 request_id;
	const uint8_t	*content;
	uint16_t	 content_len;
	/* FCGI_END_REQUEST only. */
	uint32_t	 app_status;
	uint8_t		 protocol_status;
};

/*
 * Decodes the record at the front of data[0..len). Returns the number of
 * bytes it spans (header, content and padding) and fills rec; 0 when the
 * record is not complete yet (rec untouched); or a negative FCGI_EPROTO_*
 * code when the bytes cannot be a valid record for a client. Records of
 * types STDOUT, STDERR, END_REQUEST, GET_VALUES_RESULT and UNKNOWN_TYPE are
 * accepted.
 */
int	fcgi_decode(const uint8_t *data, size_t len, struct fcgi_record *rec);

/* Describes a FCGI_EPROTO_* code. */
const char *fcgi_strerror(int err);

#endif
