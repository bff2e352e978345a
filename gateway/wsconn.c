/*
 * wsconn: a WebSocket on a raw lws socket (see wsconn.h).
 *
 * States: OPEN; CLOSING once our close frame is queued (behind the data
 * frames queued before it); CLOSE_SENT once lws has sent it, waiting for
 * the peer's close for --handshake-timeout. The socket closes as soon as
 * both close frames have crossed, or right after ours is sent when we
 * failed the connection for a protocol error (RFC 6455 7.1.7) or answered
 * the peer's close.
 *
 * Paused (the object's queue is full), a wsconn stops parsing at once and
 * keeps the rest of the read in held; resumed, it parses held from the
 * next WRITEABLE, outside the gateway code that resumed it.
 *
 * Output that makes no progress (the client stopped reading, the kernel
 * buffers are full) for --send-timeout drops the socket. The timer is
 * armed only when output backs up (a frame queued behind another, or
 * left over after a write), so the common reply costs no timer at all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "buf.h"
#include "config.h"
#include "alarm.h"
#include "gateway.h"
#include "log.h"
#include "outq.h"
#include "registry.h"
#include "wsconn.h"
#include "wsframe.h"
#include "xmalloc.h"

enum wsconn_state {
	WSCONN_OPEN,
	WSCONN_CLOSING,
	WSCONN_CLOSE_SENT,
};

struct wsconn {
	struct gateway		*gw;
	const struct config	*cfg;
	struct lws		*wsi;
	struct conn		*conn;
	struct wsframe_parser	 parser;
	struct buf		 rx;		/* a message arriving in pieces */
	int			 rx_binary;
	struct buf		 held;		/* read while paused, not parsed */
	int			 paused;
	int64_t			 stall_ms;	/* output stalled since, or 0 */
	struct outq		 out;
	enum wsconn_state	 state;
	int			 hs_written;	/* the 101 answer has left */
	int			 failed;	/* input is no longer parsed */
	int			 peer_closed;	/* the peer's close arrived */
	int			 close_code;	/* sent by us, or 0 */
	char			*close_reason;
	int			 peer_code;	/* from the peer, or 0 */
	char			*peer_reason;
};

static void	wsconn_queue_close(struct wsconn *, int, const char *);

struct wsconn *
wsconn_create(struct gateway *gw, const struct config *cfg, struct lws *wsi,
    const void *handshake, size_t len)
{
	struct wsconn	*wc = xcalloc(1, sizeof *wc);

	wc->gw = gw;
	wc->cfg = cfg;
	wc->wsi = wsi;
	wsframe_parser_init(&wc->parser, cfg->max_message);
	outq_push_copy(&wc->out, handshake, len);
	lws_callback_on_writable(wsi);
	return wc;
}

void
wsconn_attach(struct wsconn *wc, struct conn *c)
{
	wc->conn = c;
}

/*
 * Whether len more bytes would pass --send-queue; if so the connection is
 * closed with 1008 (the client does not read).
 */
static int
wsconn_overflow(struct wsconn *wc, size_t len)
{
	if (wc->out.bytes + len <= wc->cfg->send_queue_max)
		return 0;
	log_warn("connection %s: send queue over %zu bytes (client not "
	    "reading), closing 1008", conn_id(wc->conn), wc->cfg->send_queue_max);
	gateway_conn_error(wc->gw, wc->conn, METRICS_ERR_SEND_QUEUE,
	    "send queue full");
	if (wc->hs_written)
		outq_clear(&wc->out);
	wsconn_queue_close(wc, 1008, "send queue full");
	/* it does not read, so it would not read the close frame either:
	 * drop the socket on the next loop turn */
	lws_set_timeout(wc->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	return 1;
}

/* Output is backed up: (re)starts the --send-timeout clock. */
static void
wsconn_stall_arm(struct wsconn *wc)
{
	if (wc->state != WSCONN_OPEN)
		return;		/* the closing handshake has its own timeout */
	wc->stall_ms = alarm_now_ms();
	lws_set_timeout(wc->wsi, PENDING_TIMEOUT_USER_OK,
	    (wc->cfg->send_timeout_ms + 999) / 1000);
}

static void
wsconn_stall_disarm(struct wsconn *wc)
{
	if (wc->stall_ms == 0 || wc->state != WSCONN_OPEN)
		return;
	wc->stall_ms = 0;
	lws_set_timeout(wc->wsi, NO_PENDING_TIMEOUT, 0);
}

/* Queues one frame, control frames in front of queued data. */
static void
wsconn_queue(struct wsconn *wc, int opcode, const void *data, size_t len)
{
	uint8_t	 hdr[10], *p;
	size_t	 hlen = wsframe_header(hdr, opcode, len);
	int	 control = opcode >= WSFRAME_CLOSE;

	if (wc->out.head != NULL && wc->stall_ms == 0)
		wsconn_stall_arm(wc);

	/* never in front of the 101 answer, though */
	p = outq_push(&wc->out, hlen + len,
	    control && opcode != WSFRAME_CLOSE && wc->hs_written);
	memcpy(p, hdr, hlen);
	if (len > 0)
		memcpy(p + hlen, data, len);
	lws_callback_on_writable(wc->wsi);
}

/* Queues our close frame; nothing is sent after it. */
static void
wsconn_queue_close(struct wsconn *wc, int code, const char *reason)
{
	uint8_t	payload[125];
	size_t	n = wsframe_close_payload(payload, code, reason);

	wc->state = WSCONN_CLOSING;
	/* the whole closing handshake: ours sent, the peer's received */
	lws_set_timeout(wc->wsi, PENDING_TIMEOUT_CLOSE_SEND,
	    (wc->cfg->handshake_timeout_ms + 999) / 1000);
	wc->close_code = code != 0 ? code : 1005;
	free(wc->close_reason);
	wc->close_reason = xstrndup(n > 2 ? (char *)payload + 2 : "",
	    n > 2 ? n - 2 : 0);
	wsconn_queue(wc, WSFRAME_CLOSE, payload, n);
}

/* Fails the connection for a protocol error: close frame, then TCP. */
static void
wsconn_fail(struct wsconn *wc, int err)
{
	const char	*why = wsframe_strerror(err);
	int		 code = wsframe_close_code(err);

	wc->failed = 1;
	buf_free(&wc->rx);
	if (wc->state != WSCONN_OPEN)
		return;
	log_info("connection %s: %s, closing %d", conn_id(wc->conn), why, code);
	gateway_conn_error(wc->gw, wc->conn, code == 1009 ?
	    METRICS_ERR_MESSAGE_TOO_BIG : METRICS_ERR_PROTOCOL, why);
	wsconn_queue_close(wc, code, why);
}

static void
wsconn_data(struct wsconn *wc, const struct wsframe_event *ev)
{
	uint8_t	*payload;
	size_t	 len;

	if (wc->state != WSCONN_OPEN)
		return;		/* the peer should stop once it sees our close */
	if (ev->first) {
		buf_reset(&wc->rx);
		wc->rx_binary = ev->opcode == WSFRAME_BINARY;
	}
	if (!ev->last) {
		buf_append(&wc->rx, ev->data, ev->len);
		return;
	}
	if (ev->first) {
		/* the common case, a message in one read: no copy to rx */
		len = ev->len;
		payload = xmalloc(len + 1);
		memcpy(payload, ev->data, len);
	} else {
		buf_append(&wc->rx, ev->data, ev->len);
		len = buf_size(&wc->rx);
		payload = xmalloc(len + 1);
		memcpy(payload, buf_head(&wc->rx), len);
		buf_free(&wc->rx);	/* idle sockets keep no buffer */
	}
	payload[len] = '\0';
	gateway_conn_message(wc->gw, wc->conn, payload, len, wc->rx_binary);
}

/* A ping, pong or close from the peer. Returns -1 to close TCP now. */
static int
wsconn_control(struct wsconn *wc, const struct wsframe_event *ev)
{
	if (ev->opcode == WSFRAME_PING) {
		/* a ping flood from a client that does not read is bounded */
		if (wc->state == WSCONN_OPEN && !wsconn_overflow(wc, ev->len + 2))
			wsconn_queue(wc, WSFRAME_PONG, ev->data, ev->len);
		return 0;
	}
	if (ev->opcode != WSFRAME_CLOSE || wc->peer_closed)
		return 0;
	wc->peer_closed = 1;
	switch (wc->state) {
	case WSCONN_OPEN:
		/* the peer's code is the close's; ours would be its echo */
		wc->peer_code = ev->close_code;
		wc->peer_reason = xstrndup((const char *)ev->data, ev->len);
		/* after the frames already queued (RFC 6455 5.5.1 allows it) */
		wsconn_queue_close(wc, ev->close_code == 1005 ? 0 :
		    ev->close_code, "");
		return 0;
	case WSCONN_CLOSING:
		return 0;	/* ours, queued, is the answer */
	default:
		return -1;	/* both close frames have crossed */
	}
}

int
wsconn_receive(struct wsconn *wc, uint8_t *data, size_t len)
{
	struct wsframe_event	ev;
	ssize_t			n;

	if (wc->paused) {
		buf_append(&wc->held, data, len);
		return 0;
	}
	while (len > 0 && !wc->failed && !wc->peer_closed) {
		if (wc->paused) {
			buf_append(&wc->held, data, len);
			break;
		}
		n = wsframe_parse(&wc->parser, data, len, &ev);
		if (n < 0) {
			wsconn_fail(wc, (int)n);
			break;
		}
		data += n;
		len -= (size_t)n;
		if (ev.kind == WSFRAME_DATA)
			wsconn_data(wc, &ev);
		else if (ev.kind == WSFRAME_CONTROL &&
		    wsconn_control(wc, &ev) != 0)
			return -1;
		else if (ev.kind == WSFRAME_NONE && n == 0)
			break;
	}
	return 0;
}

/* Parses what was read while paused; 0, or -1 to close now. */
static int
wsconn_unhold(struct wsconn *wc)
{
	struct buf	held = wc->held;
	int		rc;

	buf_init(&wc->held);
	rc = wsconn_receive(wc, (uint8_t *)buf_head(&held), buf_size(&held));
	buf_free(&held);
	if (rc == 0 && !wc->paused)
		lws_rx_flow_control(wc->wsi, 1);
	return rc;
}

int
wsconn_writeable(struct wsconn *wc)
{
	if (!wc->paused && buf_size(&wc->held) > 0 && wsconn_unhold(wc) != 0)
		return -1;
	if (wc->out.head != NULL) {
		if (outq_write(&wc->out, wc->wsi) < 0)
			return -1;
		wc->hs_written = 1;
		/*
		 * A WRITEABLE is progress: restart the clock while output is
		 * left (in the queue, or the part of this write lws keeps),
		 * and come back once it is gone to stop it.
		 */
		if (wc->out.head != NULL || lws_partial_buffered(wc->wsi)) {
			wsconn_stall_arm(wc);
			lws_callback_on_writable(wc->wsi);
		} else {
			wsconn_stall_disarm(wc);
			if (wc->state == WSCONN_CLOSING)
				lws_callback_on_writable(wc->wsi);
		}
		return 0;
	}
	wsconn_stall_disarm(wc);	/* all sent */
	if (wc->state != WSCONN_CLOSING)
		return 0;
	/* our close frame has left: lws calls WRITEABLE only after that */
	if (wc->failed || wc->peer_closed)
		return -1;
	wc->state = WSCONN_CLOSE_SENT;
	return 0;
}

void
wsconn_going_away(struct wsconn *wc)
{
	uint8_t	frame[LWS_PRE + WSFRAME_HEADER_MAX + 125], *p = frame + LWS_PRE;
	uint8_t	payload[125];
	size_t	n, hlen;

	if (wc->state != WSCONN_OPEN || wc->out.head != NULL ||
	    lws_send_pipe_choked(wc->wsi))
		return;
	n = wsframe_close_payload(payload, 1001, "going away");
	hlen = wsframe_header(p, WSFRAME_CLOSE, n);
	memcpy(p + hlen, payload, n);
	if (lws_write(wc->wsi, p, hlen + n, LWS_WRITE_RAW) < 0)
		return;
	wc->state = WSCONN_CLOSE_SENT;
	wc->close_code = 1001;
	wc->close_reason = xstrdup("going away");
}

/*
 * Whether the socket went because --send-timeout passed with the output
 * stalled (lws's timeout closes it without saying which timeout).
 */
static int
wsconn_stalled(const struct wsconn *wc)
{
	return wc->state == WSCONN_OPEN && wc->stall_ms != 0 &&
	    alarm_now_ms() - wc->stall_ms >= wc->cfg->send_timeout_ms - 100;
}

void
wsconn_closed(struct wsconn *wc)
{
	struct conn	*c = wc->conn;

	if (c != NULL) {
		conn_set_server_data(c, NULL);
		if (wsconn_stalled(wc)) {
			log_warn("connection %s: no output progress for %d s "
			    "(client not reading), dropped", conn_id(c),
			    (wc->cfg->send_timeout_ms + 999) / 1000);
			gateway_conn_error(wc->gw, c, METRICS_ERR_SEND_TIMEOUT,
			    "send timeout");
			gateway_conn_closed(wc->gw, c, 1008, "send timeout", 0);
		} else if (wc->peer_code != 0)
			gateway_conn_closed(wc->gw, c, wc->peer_code,
			    wc->peer_reason, 1);
		else if (wc->close_code != 0)
			gateway_conn_closed(wc->gw, c, wc->close_code,
			    wc->close_reason, 1);
		else
			gateway_conn_closed(wc->gw, c, 1006, "", 0);
	}
	outq_clear(&wc->out);
	buf_free(&wc->rx);
	buf_free(&wc->held);
	free(wc->close_reason);
	free(wc->peer_reason);
	free(wc);
}

int
wsconn_send(struct conn *c, const void *data, size_t len, int binary)
{
	struct wsconn	*wc = conn_server_data(c);

	if (wc == NULL || wc->state != WSCONN_OPEN)
		return -ENOTCONN;
	if (wsconn_overflow(wc, len + WSFRAME_HEADER_MAX))
		return -ENOBUFS;
	wsconn_queue(wc, binary ? WSFRAME_BINARY : WSFRAME_TEXT, data, len);
	return 0;
}

void
wsconn_close(struct conn *c, int code, const char *reason)
{
	struct wsconn	*wc = conn_server_data(c);

	if (wc != NULL && wc->state == WSCONN_OPEN)
		wsconn_queue_close(wc, code, reason);
}

void
wsconn_pause(struct conn *c, int paused)
{
	struct wsconn	*wc = conn_server_data(c);

	if (wc == NULL || wc->paused == paused)
		return;
	wc->paused = paused;
	if (paused)
		lws_rx_flow_control(wc->wsi, 0);
	else if (buf_size(&wc->held) > 0)
		lws_callback_on_writable(wc->wsi);	/* wsconn_unhold */
	else
		lws_rx_flow_control(wc->wsi, 1);
}
