/*
 * wsproto: RFC 6455 for a client that only measures. The handshake is
 * checked the way the RFC asks a client to (status 101, Upgrade, the
 * accept hash of our key); frames from the server are parsed as a stream,
 * so a message of any size, split over any number of reads and fragments,
 * costs the same few hundred bytes of state. Only what a load generator
 * needs is kept: the opcode, the length, the first bytes of a message (to
 * tell a pong from an error) and control payloads (to answer pings and
 * report close codes).
 */
#include <string.h>
#include <strings.h>

#include "sha1.h"
#include "wsproto.h"

#define WSPROTO_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static const char wsproto_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const struct {
	int		 err;
	const char	*text;
} wsproto_errors[] = {
	{ WSPROTO_ESTATUS, "handshake response status is not 101" },
	{ WSPROTO_EACCEPT, "Sec-WebSocket-Accept missing or wrong" },
	{ WSPROTO_EUPGRADE, "handshake response lacks Upgrade: websocket" },
	{ WSPROTO_ETOOBIG, "handshake response headers too large" },
	{ WSPROTO_EMASKED, "server sent a masked frame" },
	{ WSPROTO_ERSV, "server frame has reserved bits set" },
	{ WSPROTO_EOPCODE, "server frame has an unknown opcode" },
	{ WSPROTO_ECONTROL, "server control frame fragmented or too long" },
	{ WSPROTO_ESEQUENCE, "server frames out of sequence (fragmentation)" },
	{ WSPROTO_ELENGTH, "server frame length has the top bit set" },
};

const char *
wsproto_strerror(int err)
{
	size_t	i;

	for (i = 0; i < sizeof wsproto_errors / sizeof wsproto_errors[0]; i++)
		if (wsproto_errors[i].err == err)
			return wsproto_errors[i].text;
	return "unknown wsproto error";
}

/* Standard base64 with padding; out holds 4 * ((len + 2) / 3) + 1. */
static void
wsproto_base64(const uint8_t *in, size_t len, char *out)
{
	uint32_t	v;
	size_t		i, o = 0;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = wsproto_b64[v >> 18];
		out[o++] = wsproto_b64[(v >> 12) & 63];
		out[o++] = wsproto_b64[(v >> 6) & 63];
		out[o++] = wsproto_b64[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = wsproto_b64[v >> 18];
		out[o++] = wsproto_b64[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = wsproto_b64[v >> 18];
		out[o++] = wsproto_b64[(v >> 12) & 63];
		out[o++] = wsproto_b64[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

void
wsproto_key(const uint8_t nonce[16], char key[WSPROTO_KEY_LEN + 1])
{
	wsproto_base64(nonce, 16, key);
}

void
wsproto_accept(const char *key, char accept[WSPROTO_ACCEPT_LEN + 1])
{
	char	buf[128];
	uint8_t	digest[SHA1_DIGEST_LEN];
	size_t	klen = strnlen(key, sizeof buf - sizeof WSPROTO_GUID);

	memcpy(buf, key, klen);
	memcpy(buf + klen, WSPROTO_GUID, sizeof WSPROTO_GUID - 1);
	sha1_digest(buf, klen + sizeof WSPROTO_GUID - 1, digest);
	wsproto_base64(digest, sizeof digest, accept);
}

size_t
wsproto_request(char *out, size_t cap, const char *host, const char *path,
    const char *key)
{
	static const char *const parts[] = {
		"GET ", NULL, " HTTP/1.1\r\nHost: ", NULL,
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: ", NULL,
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	};
	const char	*vals[3] = { path, host, key };
	const char	*s;
	size_t		 i, v = 0, len = 0, n;

	/* a table walk instead of snprintf: no format string to get wrong */
	for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		s = parts[i] != NULL ? parts[i] : vals[v++];
		n = strlen(s);
		if (len + n + 1 > cap)
			return 0;
		memcpy(out + len, s, n);
		len += n;
	}
	out[len] = '\0';
	return len;
}

/* Whether the comma-separated header value v (n bytes) has token t. */
static int
wsproto_has_token(const char *v, size_t n, const char *t)
{
	size_t	tl = strlen(t), i = 0, j;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		j = i;
		while (j < n && v[j] != ',')
			j++;
		/* trim trailing blanks of this element */
		while (j > i && (v[j - 1] == ' ' || v[j - 1] == '\t'))
			j--;
		if (j - i == tl && strncasecmp(v + i, t, tl) == 0)
			return 1;
		while (j < n && v[j] != ',')
			j++;
		i = j;
	}
	return 0;
}

long
wsproto_response(const char *buf, size_t len, size_t cap, const char *accept)
{
	const char	*end, *line, *eol, *colon, *v;
	size_t		 vlen, alen = strlen(accept);
	int		 upgrade = 0, accepted = 0;

	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return len >= cap ? WSPROTO_ETOOBIG : WSPROTO_EINCOMPLETE;
	if (end - buf < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0 ||
	    (buf[12] != ' ' && buf[12] != '\r'))
		return WSPROTO_ESTATUS;
	line = (const char *)memchr(buf, '\n', (size_t)(end - buf)) + 1;
	while (line < end + 2) {
		eol = memchr(line, '\r', (size_t)(end + 2 - line));
		if (eol == NULL)
			break;	/* a stray "\r\r\n": nothing more to read */
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon != NULL) {
			v = colon + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			vlen = (size_t)(eol - v);
			while (vlen > 0 && (v[vlen - 1] == ' ' ||
			    v[vlen - 1] == '\t'))
				vlen--;
			if (colon - line == 7 &&
			    strncasecmp(line, "Upgrade", 7) == 0)
				upgrade |= wsproto_has_token(v, vlen,
				    "websocket");
			else if (colon - line == 20 &&
			    strncasecmp(line, "Sec-WebSocket-Accept", 20) == 0)
				accepted |= vlen == alen &&
				    memcmp(v, accept, alen) == 0;
		}
		line = eol + 2;
	}
	if (!upgrade)
		return WSPROTO_EUPGRADE;
	if (!accepted)
		return WSPROTO_EACCEPT;
	return (long)(end + 4 - buf);
}

size_t
wsproto_frame(uint8_t *out, int opcode, const void *payload, size_t len,
    uint32_t mask)
{
	const uint8_t	*src = payload;
	uint8_t		 m[4];
	size_t		 h = 0, i;

	out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126)
		out[h++] = (uint8_t)(0x80 | len);
	else if (len <= 0xffff) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[h++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	for (i = 0; i < 4; i++)
		out[h++] = m[i] = (uint8_t)(mask >> (24 - 8 * i));
	for (i = 0; i < len; i++)
		out[h + i] = src[i] ^ m[i & 3];
	return h + len;
}

void
wsproto_dec_init(struct wsproto_dec *d)
{
	memset(d, 0, sizeof *d);
	d->hneed = 2;
}

/* Validates a complete header and enters its payload. */
static int
wsproto_dec_header(struct wsproto_dec *d)
{
	uint8_t		b0 = d->hdr[0], len7 = d->hdr[1] & 0x7f, op = b0 & 0x0f;
	uint64_t	len = len7;
	int		i;

	if (len7 == 126)
		len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
	else if (len7 == 127) {
		len = 0;
		for (i = 0; i < 8; i++)
			len = len << 8 | d->hdr[2 + i];
		if (len >> 63)
			return WSPROTO_ELENGTH;
	}
	if (b0 & 0x70)
		return WSPROTO_ERSV;
	switch (op) {
	case WSPROTO_OP_CLOSE:
	case WSPROTO_OP_PING:
	case WSPROTO_OP_PONG:
		if (!(b0 & 0x80) || len > WSPROTO_CONTROL_MAX)
			return WSPROTO_ECONTROL;
		d->ctrl_len = 0;
		break;
	case WSPROTO_OP_CONT:
		if (!d->in_msg)
			return WSPROTO_ESEQUENCE;
		break;
	case WSPROTO_OP_TEXT:
	case WSPROTO_OP_BINARY:
		if (d->in_msg)
			return WSPROTO_ESEQUENCE;
		d->in_msg = 1;
		d->msg_opcode = op;
		d->msg_len = 0;
		d->prefix_len = 0;
		break;
	default:
		return WSPROTO_EOPCODE;
	}
	d->opcode = op;
	d->fin = (b0 & 0x80) != 0;
	d->remain = len;
	d->hneed = 0;
	return 0;
}

/* Keeps a payload chunk: whole for control frames, a prefix for data. */
static void
wsproto_dec_payload(struct wsproto_dec *d, const uint8_t *p, size_t take)
{
	size_t	room;

	if (d->opcode >= WSPROTO_OP_CLOSE) {
		memcpy(d->ctrl + d->ctrl_len, p, take);
		d->ctrl_len += (uint8_t)take;
		return;
	}
	d->msg_len += take;
	room = WSPROTO_PREFIX - d->prefix_len;
	if (room > take)
		room = take;
	memcpy(d->prefix + d->prefix_len, p, room);
	d->prefix_len += (uint8_t)room;
}

/* Fills ev for the frame just completed; 0 if it only ended a fragment. */
static int
wsproto_dec_event(struct wsproto_dec *d, struct wsproto_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (d->opcode >= WSPROTO_OP_CLOSE) {
		ev->opcode = d->opcode;
		ev->len = d->ctrl_len;
		ev->data = d->ctrl;
		ev->data_len = d->ctrl_len;
		if (d->opcode == WSPROTO_OP_CLOSE) {
			ev->close_code = 1005;
			if (d->ctrl_len >= 2) {
				ev->close_code = d->ctrl[0] << 8 | d->ctrl[1];
				ev->data = d->ctrl + 2;
				ev->data_len = d->ctrl_len - 2;
			}
		}
		return 1;
	}
	if (!d->fin)
		return 0;
	d->in_msg = 0;
	ev->opcode = d->msg_opcode;
	ev->len = d->msg_len;
	ev->data = d->prefix;
	ev->data_len = d->prefix_len;
	return 1;
}

int
wsproto_dec_feed(struct wsproto_dec *d, const uint8_t *p, size_t n,
    size_t *used, struct wsproto_event *ev)
{
	size_t	off = 0, take;
	int	rc = 0;

	for (;;) {
		if (d->hneed > 0) {
			if (off == n)
				break;
			take = d->hneed - d->hlen;
			if (take > n - off)
				take = n - off;
			memcpy(d->hdr + d->hlen, p + off, take);
			d->hlen += (uint8_t)take;
			off += take;
			if (d->hlen < d->hneed)
				break;
			if (d->hlen == 2) {
				/* now the full header size is known */
				if (d->hdr[1] & 0x80) {
					rc = WSPROTO_EMASKED;
					break;
				}
				if ((d->hdr[1] & 0x7f) == 126)
					d->hneed = 4;
				else if ((d->hdr[1] & 0x7f) == 127)
					d->hneed = 10;
				if (d->hneed > 2)
					continue;
			}
			if ((rc = wsproto_dec_header(d)) < 0)
				break;
		}
		if (d->remain > 0) {
			if (off == n)
				break;
			take = d->remain < n - off ? (size_t)d->remain : n - off;
			wsproto_dec_payload(d, p + off, take);
			d->remain -= take;
			off += take;
			if (d->remain > 0)
				break;
		}
		/* the frame is complete: the next bytes start a header */
		d->hneed = 2;
		d->hlen = 0;
		if ((rc = wsproto_dec_event(d, ev)) == 1)
			break;
	}
	*used = off;
	return rc;
}
