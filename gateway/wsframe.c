/*
 * wsframe: RFC 6455 frames for the server side. The header is read one
 * byte at a time and each field is checked as soon as it is complete, so
 * a bad frame is refused at its first bad byte, and a message over the
 * limit at its length, before any payload is waited for; and the outcome
 * never depends on where the reads cut the stream. Payload is unmasked in
 * place and handed out as it comes; control payloads (at most 125 bytes)
 * are gathered in the parser so they come out whole.
 */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "wsframe.h"

#define WSFRAME_FIN		0x80
#define WSFRAME_RSV		0x70
#define WSFRAME_MASKBIT		0x80
#define WSFRAME_LEN16		126	/* 7-bit length: 16-bit length follows */
#define WSFRAME_LEN64		127	/* 7-bit length: 64-bit length follows */
#define WSFRAME_MASK_LEN	4
/* Whole client header lengths: 7-bit, 16-bit and 64-bit length forms. */
#define WSFRAME_HDR7		(2 + WSFRAME_MASK_LEN)
#define WSFRAME_HDR16		(2 + 2 + WSFRAME_MASK_LEN)
#define WSFRAME_HDR64		(2 + 8 + WSFRAME_MASK_LEN)

static int
wsframe_is_control(int opcode)
{
	return (opcode & 0x8) != 0;
}

/* Whether the next byte belongs to a frame header. */
static int
wsframe_in_header(const struct wsframe_parser *p)
{
	return p->hneed == 0 || p->hlen < p->hneed;
}

void
wsframe_parser_init(struct wsframe_parser *p, uint64_t max_message)
{
	memset(p, 0, sizeof *p);
	p->max_message = max_message;
}

/* First header byte: FIN, RSV, opcode, and whether it fits the sequence. */
static int
wsframe_byte0(struct wsframe_parser *p, uint8_t b)
{
	if (b & WSFRAME_RSV)
		return WSFRAME_ERSV;
	p->fin = (b & WSFRAME_FIN) != 0;
	p->opcode = b & 0x0f;
	switch (p->opcode) {
	case WSFRAME_CONT:
		if (p->msg_opcode == 0)
			return WSFRAME_ECONT;
		return 0;
	case WSFRAME_TEXT:
	case WSFRAME_BINARY:
		if (p->msg_opcode != 0)
			return WSFRAME_EINTERLEAVE;
		/* The message opens now: nothing else can come before it. */
		p->msg_opcode = p->opcode;
		p->msg_len = 0;
		p->first = 1;
		memset(&p->utf8, 0, sizeof p->utf8);
		return 0;
	case WSFRAME_CLOSE:
	case WSFRAME_PING:
	case WSFRAME_PONG:
		return p->fin ? 0 : WSFRAME_ECTLFRAG;
	default:
		return WSFRAME_EOPCODE;
	}
}

/* The frame's payload length is known: check it against the limits. */
static int
wsframe_length(struct wsframe_parser *p)
{
	if (wsframe_is_control(p->opcode)) {
		/* A 1-byte close payload is half a code: refuse it now. */
		if (p->opcode == WSFRAME_CLOSE && p->remain == 1)
			return WSFRAME_ECLOSELEN;
		p->ctrl_len = 0;
		return 0;
	}
	/* msg_len <= max_message holds, so this cannot wrap. */
	if (p->remain > p->max_message - p->msg_len)
		return WSFRAME_ETOOBIG;
	p->msg_len += p->remain;
	return 0;
}

/* Second header byte: the mask bit and the 7-bit length. */
static int
wsframe_byte1(struct wsframe_parser *p, uint8_t b)
{
	uint8_t	len7 = b & 0x7f;

	if (!(b & WSFRAME_MASKBIT))
		return WSFRAME_EUNMASKED;
	if (wsframe_is_control(p->opcode) && len7 > WSFRAME_CONTROL_MAX)
		return WSFRAME_ECTLLEN;
	p->remain = 0;
	if (len7 == WSFRAME_LEN16)
		p->hneed = WSFRAME_HDR16;
	else if (len7 == WSFRAME_LEN64)
		p->hneed = WSFRAME_HDR64;
	else {
		p->hneed = WSFRAME_HDR7;
		p->remain = len7;
		return wsframe_length(p);
	}
	return 0;
}

/* Takes header byte number p->hlen. */
static int
wsframe_header_byte(struct wsframe_parser *p, uint8_t b)
{
	unsigned	i = p->hlen++, mask_at;

	if (i == 0)
		return wsframe_byte0(p, b);
	if (i == 1)
		return wsframe_byte1(p, b);
	mask_at = p->hneed - WSFRAME_MASK_LEN;
	if (i >= mask_at) {
		p->mask[i - mask_at] = b;
		return 0;
	}
	/* An extended length byte, most significant first. */
	if (i == 2 && p->hneed == WSFRAME_HDR64 && (b & 0x80))
		return WSFRAME_ELENGTH;
	p->remain = p->remain << 8 | b;
	if (i + 1 < mask_at)
		return 0;
	/* RFC 6455 5.2: "the minimal number of bytes MUST be used". */
	if (p->remain < (p->hneed == WSFRAME_HDR16 ? WSFRAME_LEN16 : 0x10000))
		return WSFRAME_ENONMINIMAL;
	return wsframe_length(p);
}

/* XORs n payload bytes with the key, continuing where the last call ended. */
static void
wsframe_unmask(struct wsframe_parser *p, uint8_t *d, size_t n)
{
	uint8_t	m[WSFRAME_MASK_LEN];
	size_t	i;

	/* Rotated so the loop indexes with i & 3 alone, which vectorises. */
	for (i = 0; i < WSFRAME_MASK_LEN; i++)
		m[i] = p->mask[(p->mask_off + i) & 3];
	for (i = 0; i < n; i++)
		d[i] ^= m[i & 3];
	p->mask_off = (uint8_t)((p->mask_off + n) & 3);
}

/* Close codes a peer may send (RFC 6455 7.4, IANA registry). */
static int
wsframe_close_code_ok(int code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* A whole control frame is in p->ctrl: check it and describe it. */
static int
wsframe_control(struct wsframe_parser *p, struct wsframe_event *ev)
{
	int	code = 1005;	/* "no status code was actually present" */
	size_t	skip = 0;

	if (p->opcode == WSFRAME_CLOSE && p->ctrl_len >= 2) {
		code = p->ctrl[0] << 8 | p->ctrl[1];
		if (!wsframe_close_code_ok(code))
			return WSFRAME_ECLOSECODE;
		skip = 2;
		if (!utf8_valid(p->ctrl + skip, p->ctrl_len - skip))
			return WSFRAME_ECLOSEUTF8;
	}
	ev->kind = WSFRAME_CONTROL;
	ev->opcode = p->opcode;
	ev->data = p->ctrl + skip;
	ev->len = p->ctrl_len - skip;
	ev->close_code = p->opcode == WSFRAME_CLOSE ? code : 0;
	return 0;
}

/*
 * Hands out n payload bytes of a data frame at d (n may be 0 at the end
 * of a frame) as an event, when there is something to say. @return 0 or
 * an error.
 */
static int
wsframe_data(struct wsframe_parser *p, uint8_t *d, size_t n,
    struct wsframe_event *ev)
{
	int	last;

	p->remain -= n;
	last = p->remain == 0 && p->fin;
	/* Empty frames inside a message say nothing worth an event. */
	if (n == 0 && !last)
		return 0;
	wsframe_unmask(p, d, n);
	if (p->msg_opcode == WSFRAME_TEXT) {
		if (utf8_feed(&p->utf8, d, n) != 0)
			return WSFRAME_EUTF8;
		if (last && !utf8_complete(&p->utf8))
			return WSFRAME_EUTF8;
	}
	ev->kind = WSFRAME_DATA;
	ev->opcode = p->msg_opcode;
	ev->data = d;
	ev->len = n;
	ev->first = p->first;
	ev->last = last;
	p->first = 0;
	if (last)
		p->msg_opcode = 0;
	return 0;
}

/* Records a fatal error: the stream cannot be followed past it. */
static ssize_t
wsframe_fail(struct wsframe_parser *p, struct wsframe_event *ev, int err)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WSFRAME_NONE;
	p->err = (int16_t)err;
	return err;
}

ssize_t
wsframe_parse(struct wsframe_parser *p, uint8_t *data, size_t len,
    struct wsframe_event *ev)
{
	size_t	off = 0, n;
	int	rc;

	memset(ev, 0, sizeof *ev);
	ev->kind = WSFRAME_NONE;
	if (p->err != 0)
		return p->err;
	for (;;) {
		if (wsframe_in_header(p)) {
			if (off == len)
				break;
			if ((rc = wsframe_header_byte(p, data[off++])) < 0)
				return wsframe_fail(p, ev, rc);
			if (wsframe_in_header(p))
				continue;
			p->mask_off = 0;
		}
		/* In the payload, which may be empty. */
		n = len - off;
		if (n > p->remain)
			n = (size_t)p->remain;
		if (n == 0 && p->remain > 0)
			break;
		if (wsframe_is_control(p->opcode)) {
			if (n > 0)
				memcpy(p->ctrl + p->ctrl_len, data + off, n);
			wsframe_unmask(p, p->ctrl + p->ctrl_len, n);
			p->ctrl_len = (uint8_t)(p->ctrl_len + n);
			p->remain -= n;
			off += n;
			/* Kept until whole: a control event is never partial. */
			if (p->remain > 0)
				break;
			rc = wsframe_control(p, ev);
		} else {
			rc = wsframe_data(p, data + off, n, ev);
			off += n;
		}
		if (rc < 0)
			return wsframe_fail(p, ev, rc);
		if (p->remain == 0)
			p->hlen = p->hneed = 0;
		if (ev->kind != WSFRAME_NONE)
			return (ssize_t)off;
	}
	return (ssize_t)off;
}

/* Each error, its close code and the reason sent with it. */
static const struct {
	int		 err;
	int		 close_code;
	const char	*reason;
} wsframe_errors[] = {
	{ WSFRAME_EPROTO, 1002, "protocol error" },
	{ WSFRAME_ETOOBIG, 1009, "message too big" },
	{ WSFRAME_EUTF8, 1007, "text message not UTF-8" },
	{ WSFRAME_ERSV, 1002, "reserved bits set" },
	{ WSFRAME_EOPCODE, 1002, "reserved opcode" },
	{ WSFRAME_EUNMASKED, 1002, "unmasked frame" },
	{ WSFRAME_ECTLFRAG, 1002, "fragmented control frame" },
	{ WSFRAME_ECTLLEN, 1002, "control frame over 125 bytes" },
	{ WSFRAME_ECONT, 1002, "continuation frame without a message" },
	{ WSFRAME_EINTERLEAVE, 1002, "new message inside a fragmented one" },
	{ WSFRAME_ELENGTH, 1002, "64-bit length with the top bit set" },
	{ WSFRAME_ENONMINIMAL, 1002, "length not in its shortest form" },
	{ WSFRAME_ECLOSELEN, 1002, "close payload of 1 byte" },
	{ WSFRAME_ECLOSECODE, 1002, "close code not allowed" },
	{ WSFRAME_ECLOSEUTF8, 1007, "close reason not UTF-8" },
};
#define WSFRAME_NERRORS	(sizeof wsframe_errors / sizeof wsframe_errors[0])

int
wsframe_close_code(int err)
{
	size_t	i;

	for (i = 0; i < WSFRAME_NERRORS; i++) {
		if (wsframe_errors[i].err == err)
			return wsframe_errors[i].close_code;
	}
	return 1011;
}

const char *
wsframe_strerror(int err)
{
	size_t	i;

	if (err == 0)
		return "success";
	for (i = 0; i < WSFRAME_NERRORS; i++) {
		if (wsframe_errors[i].err == err)
			return wsframe_errors[i].reason;
	}
	if (err < 0 && err > -1000)
		return strerror(-err);
	return "unknown WebSocket framing error";
}

size_t
wsframe_header(uint8_t out[WSFRAME_HEADER_MAX], int opcode, uint64_t len)
{
	int	i;

	out[0] = (uint8_t)(WSFRAME_FIN | (opcode & 0x0f));
	if (len < WSFRAME_LEN16) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = WSFRAME_LEN16;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	/*
	 * Nothing the gateway sends comes near 2^63 bytes; a longer frame is
	 * a bug that must not go out with a length a peer has to refuse.
	 */
	if (len >> 63)
		abort();
	out[1] = WSFRAME_LEN64;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t
wsframe_close_payload(uint8_t out[WSFRAME_CONTROL_MAX], int code,
    const char *reason)
{
	size_t	n;

	if (code == 0)
		return 0;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	n = reason != NULL ? strnlen(reason, WSFRAME_REASON_MAX + 1) : 0;
	if (n > WSFRAME_REASON_MAX) {
		/* Back off continuation bytes so the cut falls between characters. */
		n = WSFRAME_REASON_MAX;
		while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out + 2, reason, n);
	return 2 + n;
}
