/*
 * wsframe: RFC 6455 framing for the server side, as pure functions over
 * buffers (no I/O, no logging). The parser takes whatever a read returned,
 * unmasks client frames in place and hands back one event at a time: data
 * as it arrives, control frames whole. It enforces every framing rule of
 * RFC 6455 sections 5 and 7 a server must, each error naming the close
 * code to answer with. The encoder writes the unmasked headers and close
 * payloads a server sends.
 */
#ifndef WSFRAME_H
#define WSFRAME_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

#define WSFRAME_CONT		0x0
#define WSFRAME_TEXT		0x1
#define WSFRAME_BINARY		0x2
#define WSFRAME_CLOSE		0x8
#define WSFRAME_PING		0x9
#define WSFRAME_PONG		0xa

#define WSFRAME_HEADER_MAX	10	/* largest server frame header */
#define WSFRAME_CONTROL_MAX	125	/* largest control frame payload */
#define WSFRAME_REASON_MAX	123	/* largest close reason */

/*
 * Module errors, below the errno range; each maps to a close code through
 * wsframe_close_code. The parser returns the precise code of the rule
 * broken (WSFRAME_ERSV...), never WSFRAME_EPROTO itself: compare
 * wsframe_close_code(err), not err, with 1002.
 */
#define WSFRAME_EPROTO		(-1101)	/* framing rule broken: close 1002 */
#define WSFRAME_ETOOBIG		(-1102)	/* message over the limit: close 1009 */
#define WSFRAME_EUTF8		(-1103)	/* text message not UTF-8: 1007 */
#define WSFRAME_ERSV		(-1104)	/* RSV1-3 set: 1002 */
#define WSFRAME_EOPCODE		(-1105)	/* reserved opcode: 1002 */
#define WSFRAME_EUNMASKED	(-1106)	/* client frame not masked: 1002 */
#define WSFRAME_ECTLFRAG	(-1107)	/* control frame without FIN: 1002 */
#define WSFRAME_ECTLLEN		(-1108)	/* control payload over 125: 1002 */
#define WSFRAME_ECONT		(-1109)	/* continuation, no message: 1002 */
#define WSFRAME_EINTERLEAVE	(-1110)	/* new message inside one: 1002 */
#define WSFRAME_ELENGTH		(-1111)	/* 64-bit length, top bit set: 1002 */
#define WSFRAME_ENONMINIMAL	(-1112)	/* length not in shortest form: 1002 */
#define WSFRAME_ECLOSELEN	(-1113)	/* close payload of 1 byte: 1002 */
#define WSFRAME_ECLOSECODE	(-1114)	/* close code not for the wire: 1002 */
#define WSFRAME_ECLOSEUTF8	(-1115)	/* close reason not UTF-8: 1007 */

/*
 * Parser state, embedded in each connection: a plain value struct (168
 * bytes on LP64, most of it the control frame buffer) whose fields are
 * private to wsframe.c. Start it with wsframe_parser_init; it owns no
 * memory, so there is nothing to free.
 */
struct wsframe_parser {
	uint64_t		max_message;
	uint64_t		msg_len;	/* announced by the open message */
	uint64_t		remain;		/* frame payload still to come */
	int16_t			err;		/* sticky error, 0 while healthy */
	uint8_t			mask[4];
	uint8_t			mask_off;	/* payload bytes read, mod 4 */
	uint8_t			hlen;		/* header bytes read */
	uint8_t			hneed;		/* header length, 0: not known */
	uint8_t			opcode;		/* of the current frame */
	uint8_t			fin;
	uint8_t			msg_opcode;	/* open message, 0: none */
	uint8_t			first;		/* open message has no event yet */
	uint8_t			ctrl_len;
	struct utf8_state	utf8;		/* open TEXT message */
	uint8_t			ctrl[WSFRAME_CONTROL_MAX];
};

/*
 * Starts a parser; messages (the sum of a fragmented message's payloads)
 * longer than max_message bytes are refused with WSFRAME_ETOOBIG.
 */
void	wsframe_parser_init(struct wsframe_parser *p, uint64_t max_message);

enum wsframe_kind { WSFRAME_NONE, WSFRAME_DATA, WSFRAME_CONTROL };

/* One event; see wsframe_parse for how long data stays valid. */
struct wsframe_event {
	enum wsframe_kind	 kind;
	/*
	 * DATA: WSFRAME_TEXT or WSFRAME_BINARY, the message's type (also on
	 * continuation frames); CONTROL: CLOSE, PING or PONG.
	 */
	int			 opcode;
	const uint8_t		*data;		/* unmasked payload bytes */
	size_t			 len;
	int			 first;		/* DATA: a new message starts */
	int			 last;		/* DATA: the message ends here */
	int			 close_code;	/* CLOSE: 1005 when no code */
};

/*
 * Takes bytes from data[0..len) (unmasking payload in place, so data is
 * writable) until it has one event or the input runs out.
 *
 * DATA events carry payload as it arrives: a message may come as many
 * DATA events (one per frame and per read), the first with first=1 and
 * the final one with last=1; an empty message is one DATA event with len
 * 0, first=1 and last=1. Empty frames in the middle of a message give no
 * event. ev->data points into data and is valid as long as data is. A
 * TEXT message's bytes are checked as they come: an event only carries
 * bytes that can still be UTF-8, and its last event ends on a character.
 *
 * CONTROL events carry the whole payload (at most 125 bytes), validated;
 * for CLOSE, close_code is the code (1005 for an empty payload) and
 * data/len the reason after it. ev->data points into the parser and is
 * valid until the next call. Control frames may come between the frames
 * of a message and leave it open.
 *
 * @return the number of bytes consumed, with ev->kind WSFRAME_NONE when
 * all of them were taken without completing an event; or a negative
 * WSFRAME_E* code (ev->kind NONE), which every later call returns again:
 * answer with wsframe_close_code(err) and stop reading. len must not
 * exceed SSIZE_MAX.
 */
ssize_t	wsframe_parse(struct wsframe_parser *p, uint8_t *data, size_t len,
	    struct wsframe_event *ev);

/*
 * The close code to send for a WSFRAME_E* error: 1002, 1009 or 1007;
 * 1011 (internal error) for anything else, which is a caller's bug.
 */
int	wsframe_close_code(int err);
/* A short reason for a WSFRAME_E* error, fit for a close frame. */
const char *wsframe_strerror(int err);

/*
 * Writes a server frame header (FIN set, no mask) for a payload of len
 * bytes (below 2^63): 2, 4 or 10 bytes into out. @return that count.
 */
size_t	wsframe_header(uint8_t out[WSFRAME_HEADER_MAX], int opcode,
	    uint64_t len);

/*
 * Writes a close payload: the 2-byte code, then reason (NUL-terminated,
 * UTF-8, may be NULL) cut to at most 123 bytes, never inside a UTF-8
 * sequence. code 0 gives an empty payload (no code, no reason); other
 * codes are written as given. @return the payload length (0..125).
 */
size_t	wsframe_close_payload(uint8_t out[WSFRAME_CONTROL_MAX], int code,
	    const char *reason);

#endif
