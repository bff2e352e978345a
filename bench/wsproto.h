/*
 * wsproto: the client side of RFC 6455 as pure functions over buffers, for
 * the load generator: the opening handshake (key, expected accept, request,
 * checking the 101 response), masked client frames, and an incremental
 * decoder for server frames of any length that keeps no payload (only the
 * first bytes of a message and whole control frames), so thousands of
 * connections cost a few hundred bytes each.
 */
#ifndef WSPROTO_H
#define WSPROTO_H

#include <stddef.h>
#include <stdint.h>

#define WSPROTO_KEY_LEN		24	/* base64 of 16 bytes */
#define WSPROTO_ACCEPT_LEN	28	/* base64 of a SHA-1 digest */
#define WSPROTO_HEADER_MAX	14	/* largest client frame header */
#define WSPROTO_PREFIX		64	/* message bytes kept for the caller */
#define WSPROTO_CONTROL_MAX	125

enum {
	WSPROTO_OP_CONT = 0x0,
	WSPROTO_OP_TEXT = 0x1,
	WSPROTO_OP_BINARY = 0x2,
	WSPROTO_OP_CLOSE = 0x8,
	WSPROTO_OP_PING = 0x9,
	WSPROTO_OP_PONG = 0xa
};

/* Errors (negative returns), described by wsproto_strerror. */
enum {
	WSPROTO_EINCOMPLETE = 0,	/* not an error: need more bytes */
	WSPROTO_ESTATUS = -1,		/* response status is not 101 */
	WSPROTO_EACCEPT = -2,		/* Sec-WebSocket-Accept missing or wrong */
	WSPROTO_EUPGRADE = -3,		/* no "Upgrade: websocket" */
	WSPROTO_ETOOBIG = -4,		/* response headers exceed the buffer */
	WSPROTO_EMASKED = -5,		/* server frame has the mask bit */
	WSPROTO_ERSV = -6,		/* reserved bits set (no extension) */
	WSPROTO_EOPCODE = -7,		/* unknown opcode */
	WSPROTO_ECONTROL = -8,		/* control frame fragmented or > 125 */
	WSPROTO_ESEQUENCE = -9,		/* continuation without a start, or a
					   new message inside a fragmented one */
	WSPROTO_ELENGTH = -10		/* 64-bit length with the top bit set */
};

const char	*wsproto_strerror(int err);

/*
 * Writes the handshake key for 16 random bytes (NUL-terminated) and the
 * Sec-WebSocket-Accept value a server must answer with.
 */
void	 wsproto_key(const uint8_t nonce[16], char key[WSPROTO_KEY_LEN + 1]);
void	 wsproto_accept(const char *key, char accept[WSPROTO_ACCEPT_LEN + 1]);

/*
 * Formats the upgrade request into out (cap bytes). host is the Host header
 * value (host:port). @return its length, or 0 if cap is too small.
 */
size_t	 wsproto_request(char *out, size_t cap, const char *host,
	    const char *path, const char *key);

/*
 * Checks a server's response to the upgrade, given the bytes received so
 * far. @return the length of the headers (the frames start there) when the
 * response is complete and is a valid 101 for the expected accept;
 * WSPROTO_EINCOMPLETE (0) while the blank line has not arrived within
 * len < cap bytes; a negative WSPROTO_E* otherwise. cap is the size of the
 * caller's buffer: a full buffer without the end of the headers is
 * WSPROTO_ETOOBIG.
 */
long	 wsproto_response(const char *buf, size_t len, size_t cap,
	    const char *accept);

/*
 * Encodes one client frame (FIN set, masked with mask) into out, which must
 * hold WSPROTO_HEADER_MAX + len bytes. @return the frame's length.
 */
size_t	 wsproto_frame(uint8_t *out, int opcode, const void *payload,
	    size_t len, uint32_t mask);

/* What the decoder found. Pointers stay valid until the next feed. */
struct wsproto_event {
	int		 opcode;	/* TEXT/BINARY (whole message), CLOSE,
					   PING, PONG */
	uint64_t	 len;		/* message or control payload length */
	const uint8_t	*data;		/* first min(len, WSPROTO_PREFIX) bytes
					   of a message, a ping or pong payload,
					   or a close frame's reason */
	size_t		 data_len;
	int		 close_code;	/* CLOSE: its code, or 1005 if none */
};

/*
 * Decoder state: a plain value struct so each connection can embed one;
 * its fields are private to wsproto.c. Zero it (or wsproto_dec_init) before
 * the first feed.
 */
struct wsproto_dec {
	uint8_t		 hdr[WSPROTO_HEADER_MAX];
	uint8_t		 hlen;		/* header bytes held */
	uint8_t		 hneed;		/* header bytes needed, 0: in payload */
	uint8_t		 opcode;	/* of the frame being read */
	uint8_t		 fin;
	uint8_t		 in_msg;	/* inside a fragmented message */
	uint8_t		 msg_opcode;
	uint64_t	 remain;	/* payload bytes left in this frame */
	uint64_t	 msg_len;
	uint8_t		 prefix[WSPROTO_PREFIX];
	uint8_t		 prefix_len;
	uint8_t		 ctrl[WSPROTO_CONTROL_MAX];
	uint8_t		 ctrl_len;
};

void	 wsproto_dec_init(struct wsproto_dec *d);

/*
 * Consumes bytes from p (n of them) until one event is complete.
 * @return 1 with *ev filled, 0 when all n bytes were consumed without
 * completing one, or a negative WSPROTO_E*; *used is always set to the
 * number of bytes consumed. Call again with the rest after an event.
 */
int	 wsproto_dec_feed(struct wsproto_dec *d, const uint8_t *p, size_t n,
	    size_t *used, struct wsproto_event *ev);

#endif
