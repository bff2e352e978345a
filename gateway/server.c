/*
 * server: libwebsockets context, vhost, mounts and the WebSocket/HTTP
 * callback. Handshake checks happen in LWS_CALLBACK_HTTP_CONFIRM_UPGRADE,
 * before lws's own upgrade code, so every refusal gets a real HTTP status
 * (404 no route, 400 bad object name or key, 426 wrong version, 503 full).
 * Per connection, lws allocates a struct wsconn: the message being
 * reassembled and the outbound frame queue.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>
#include <libwebsockets.h>

#include "config.h"
#include "fcgi.h"
#include "gateway.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "router.h"
#include "server.h"
#include "utf8.h"
#include "xmalloc.h"

#define WS_PROTOCOL_NAME	"torpor"
#define FCGI_PROTOCOL_NAME	"torpor-fcgi"

struct frame {
	struct frame	*next;
	size_t		 len;
	int		 binary;
	uint8_t		 data[];	/* LWS_PRE bytes, then the payload */
};

/* lws per-session data of a WebSocket. */
struct wsconn {
	struct server	*server;
	struct conn	*conn;
	struct buf	 rx;
	int		 rx_binary;
	struct utf8_state rx_utf8;	/* text messages, across fragments */
	struct frame	*q_head;
	struct frame	*q_tail;
	size_t		 q_bytes;
	int		 closing;	/* close queued after the frames */
	int		 close_code;
	char		 close_reason[124];
	int		 peer_code;	/* from the peer's close frame, or 0 */
	char		 peer_reason[124];
};

struct server {
	struct gateway		*gw;
	const struct config	*cfg;
	const struct router	*router;
	struct ev_loop		*loop;
	void			*foreign_loops[1];
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	struct lws_protocols	 protocols[3];
	struct lws_http_mount	*mounts;
	size_t			 nmounts;
	char			**mount_paths;
};

static int	server_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);

/* Writes a complete small HTTP response with optional extra headers. */
static int
server_http_send(struct lws *wsi, unsigned int status, const char *ctype,
    const void *body, size_t blen, const char *const *extra)
{
	uint8_t		*buf, *start, *p, *end;
	const char	*name, *colon;
	char		 hname[64];
	size_t		 i, n;
	int		 rc = -1;

	buf = xmalloc(LWS_PRE + 1024 + blen);
	start = p = buf + LWS_PRE;
	end = start + 1024 + blen;
	if (lws_add_http_header_status(wsi, status, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
		(const uint8_t *)ctype, (int)strlen(ctype), &p, end) ||
	    lws_add_http_header_content_length(wsi, blen, &p, end))
		goto out;
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		name = extra[i];
		colon = strchr(name, ':');
		n = (size_t)(colon - name);
		if (colon == NULL || n + 2 > sizeof hname)
			continue;
		memcpy(hname, name, n);
		hname[n] = ':';
		hname[n + 1] = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		if (lws_add_http_header_by_name(wsi, (const uint8_t *)hname,
		    (const uint8_t *)colon, (int)strlen(colon), &p, end))
			goto out;
	}
	if (lws_finalize_http_header(wsi, &p, end) ||
	    (size_t)(end - p) < blen)
		goto out;
	memcpy(p, body, blen);
	p += blen;
	/* lws keeps what the socket does not take now and sends it later */
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) >= 0)
		rc = 0;
out:
	free(buf);
	return rc;
}

/* A short text/plain response. */
static int
server_http_reply(struct lws *wsi, unsigned int status, const char *body,
    const char *const *extra)
{
	return server_http_send(wsi, status, "text/plain", body, strlen(body),
	    extra);
}

static int
server_uri(struct lws *wsi, char *out, size_t size)
{
	int	n;

	n = lws_hdr_copy(wsi, out, (int)size, WSI_TOKEN_GET_URI);
	if (n <= 0)
		return -1;
	return 0;
}

static void	server_remote(struct server *, struct lws *, char *, size_t);

/*
 * RFC 6455 4.2.1: the key is 16 random bytes in base64, so 22 characters,
 * the last one with its 4 unused bits zero, then "==".
 */
static int
server_key_valid(const char *k, int n)
{
	int	i;

	if (n != 24 || k[22] != '=' || k[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '+' && k[i] != '/')
			return 0;
	return strchr("AQgw", k[21]) != NULL;
}

/* With --allow-origin, the Origin header must be one of them. */
static int
server_origin_ok(const struct server *s, struct lws *wsi)
{
	char	origin[256];
	size_t	i;

	if (s->cfg->norigins == 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
		return 0;
	for (i = 0; i < s->cfg->norigins; i++)
		if (strcasecmp(s->cfg->origins[i], origin) == 0)
			return 1;
	return 0;
}

/* Returns 0 to let the upgrade proceed, 1 when a refusal was written. */
static int
server_confirm_upgrade(struct server *s, struct lws *wsi)
{
	static const char *const version_hdr[] = {
		"Sec-WebSocket-Version: 13", NULL };
	char	uri[1024], name[512], ver[16], remote[128], key[64], httpv[16];
	int	rc, n;

	if (server_uri(wsi, uri, sizeof uri) != 0)
		return server_http_reply(wsi, 400, "bad request\n", NULL) ? -1 : 1;
	/* lws takes a request line without a version as HTTP/1.0 */
	if (lws_hdr_copy(wsi, httpv, sizeof httpv, WSI_TOKEN_HTTP) <= 0 ||
	    strcmp(httpv, "HTTP/1.1") != 0 ||
	    lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0) {
		log_info("upgrade refused path=%s status=400 (not HTTP/1.1 "
		    "with a Host)", uri);
		return server_http_reply(wsi, 400, "bad request\n", NULL) ? -1 : 1;
	}
	rc = router_route(s->router, uri, name, sizeof name);
	if (rc == ROUTER_ENOROUTE) {
		log_info("upgrade refused path=%s status=404", uri);
		return server_http_reply(wsi, 404, "no route\n", NULL) ? -1 : 1;
	}
	if (rc != 0) {
		log_info("upgrade refused path=%s status=400 (%s)", uri, router_strerror(rc));
		return server_http_reply(wsi, 400, "bad object name\n", NULL) ?
		    -1 : 1;
	}
	if (lws_hdr_copy(wsi, ver, sizeof ver, WSI_TOKEN_VERSION) <= 0 ||
	    strcmp(ver, "13") != 0) {
		log_info("upgrade refused path=%s status=426 version=%s", uri, ver);
		return server_http_reply(wsi, 426, "unsupported version\n",
		    version_hdr) ? -1 : 1;
	}
	n = lws_hdr_copy(wsi, key, sizeof key, WSI_TOKEN_KEY);
	if (n <= 0 || !server_key_valid(key, n)) {
		log_info("upgrade refused path=%s status=400 (missing or bad "
		    "Sec-WebSocket-Key)", uri);
		return server_http_reply(wsi, 400, "missing Sec-WebSocket-Key\n",
		    NULL) ? -1 : 1;
	}
	if (!server_origin_ok(s, wsi)) {
		log_info("upgrade refused path=%s status=403 (origin not in "
		    "--allow-origin)", uri);
		return server_http_reply(wsi, 403, "origin not allowed\n",
		    NULL) ? -1 : 1;
	}
	server_remote(s, wsi, remote, sizeof remote);
	switch (gateway_can_accept(s->gw, remote)) {
	case 0:
		return 0;
	case -1:
		log_warn("upgrade refused path=%s status=503 (--max-connections)",
		    uri);
		break;
	default:
		log_warn("upgrade refused path=%s remote=%s status=503 "
		    "(--max-connections-per-ip)", uri, remote);
		break;
	}
	return server_http_reply(wsi, 503, "too many connections\n", NULL) ?
	    -1 : 1;
}

static void	server_peer(struct server *, struct lws *, char *, size_t);

/* /metrics and /status, for --admin-allow peers only. Returns 1 if served. */
static int
server_admin(struct server *s, struct lws *wsi, const char *uri, int *rc)
{
	struct buf	 body = BUF_INIT;
	const char	*ctype = NULL;
	char		 peer[128];
	size_t		 i;
	int		 allowed = 0;

	if (strcmp(uri, "/metrics") != 0 && strcmp(uri, "/status") != 0)
		return 0;
	server_peer(s, wsi, peer, sizeof peer);
	for (i = 0; i < s->cfg->nadmin_allow; i++)
		if (strcmp(s->cfg->admin_allow[i], peer) == 0)
			allowed = 1;
	if (!allowed) {
		log_info("%s refused to %s (not in --admin-allow)", uri, peer);
		*rc = server_http_reply(wsi, 403, "forbidden\n", NULL);
		return 1;
	}
	gateway_admin_page(s->gw, uri, &body, &ctype);
	*rc = server_http_send(wsi, 200, ctype, buf_head(&body),
	    buf_size(&body), NULL);
	buf_free(&body);
	return 1;
}

static int
server_http(struct server *s, struct lws *wsi)
{
	static const char *const upgrade_hdr[] = {
		"Upgrade: websocket", "Connection: Upgrade", NULL };
	char	uri[1024];
	int	rc;

	if (server_uri(wsi, uri, sizeof uri) == 0 &&
	    server_admin(s, wsi, uri, &rc)) {
		if (rc != 0)
			return -1;
	} else if (server_uri(wsi, uri, sizeof uri) == 0 &&
	    router_matches(s->router, uri)) {
		if (server_http_reply(wsi, 426,
		    "this is a WebSocket endpoint\n", upgrade_hdr))
			return -1;
	} else if (server_http_reply(wsi, 404, "not found\n", NULL))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Adds one "HTTP_NAME" param for a request header, if present. */
static void
server_header_param(struct lws *wsi, struct buf *nv, enum lws_token_indexes t,
    const char *param)
{
	char	val[4096];
	int	n;

	n = lws_hdr_copy(wsi, val, sizeof val, t);
	if (n > 0)
		fcgi_param_add(nv, param, strlen(param), val, (size_t)n);
}

/*
 * Appends "?QUERY" to uri. lws keeps the arguments only decoded, one
 * fragment per name=value, so the query string is rebuilt from them with
 * '&' between and the bytes that would change its meaning re-encoded.
 */
static void
server_query(struct lws *wsi, char *uri, size_t size)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 frag[1024];
	size_t			 n = strlen(uri);
	int			 i, len, j, eq;

	for (i = 0; n + 4 < size; i++) {
		len = lws_hdr_copy_fragment(wsi, frag, sizeof frag,
		    WSI_TOKEN_HTTP_URI_ARGS, i);
		if (len <= 0)
			break;
		uri[n++] = i == 0 ? '?' : '&';
		for (j = 0, eq = 0; j < len && n + 4 < size; j++) {
			unsigned char	c = (unsigned char)frag[j];

			if (c == '=' && !eq) {
				eq = 1;
				uri[n++] = '=';
			} else if (c <= 0x20 || c >= 0x7f || strchr("%&+=#", c)) {
				uri[n++] = '%';
				uri[n++] = hex[c >> 4];
				uri[n++] = hex[c & 15];
			} else
				uri[n++] = (char)c;
		}
	}
	uri[n] = '\0';
}

/* The peer itself: "unix" for a unix-socket listener. */
static void
server_peer(struct server *s, struct lws *wsi, char *out, size_t size)
{
	if (s->cfg->listen_unix != NULL)
		snprintf(out, size, "unix");
	else if (lws_get_peer_simple(wsi, out, size) == NULL)
		snprintf(out, size, "unknown");
}

static int
server_trusted(const struct server *s, const char *peer)
{
	size_t	i;

	for (i = 0; i < s->cfg->ntrusted_proxies; i++)
		if (strcmp(s->cfg->trusted_proxies[i], peer) == 0)
			return 1;
	return 0;
}

/*
 * The client's address: the peer, or, when the peer is a trusted proxy,
 * its X-Real-IP, else the last X-Forwarded-For entry (the one that proxy
 * added; earlier ones are the client's word and worth nothing).
 */
static void
server_remote(struct server *s, struct lws *wsi, char *out, size_t size)
{
	char	 fwd[512], *last, *end;
	int	 n;

	server_peer(s, wsi, out, size);
	if (!server_trusted(s, out))
		return;
	/* lws knows X-Real-IP as a header of its own, not a custom one */
	n = lws_hdr_copy(wsi, fwd, sizeof fwd, WSI_TOKEN_HTTP_X_REAL_IP);
	if (n <= 0)
		n = lws_hdr_copy(wsi, fwd, sizeof fwd, WSI_TOKEN_X_FORWARDED_FOR);
	if (n <= 0)
		return;
	last = strrchr(fwd, ',');
	last = last != NULL ? last + 1 : fwd;
	while (*last == ' ' || *last == '\t')
		last++;
	end = last + strcspn(last, " \t");
	*end = '\0';
	if (*last != '\0' && strlen(last) < size)
		strcpy(out, last);
}

static void
server_established(struct server *s, struct lws *wsi, struct wsconn *wc)
{
	static const struct {
		enum lws_token_indexes	 token;
		const char		*param;
	} headers[] = {
		{ WSI_TOKEN_HOST, "HTTP_HOST" },
		{ WSI_TOKEN_ORIGIN, "HTTP_ORIGIN" },
		{ WSI_TOKEN_HTTP_USER_AGENT, "HTTP_USER_AGENT" },
		{ WSI_TOKEN_HTTP_COOKIE, "HTTP_COOKIE" },
		{ WSI_TOKEN_PROTOCOL, "HTTP_SEC_WEBSOCKET_PROTOCOL" },
		{ WSI_TOKEN_HTTP_AUTHORIZATION, "HTTP_AUTHORIZATION" },
		{ WSI_TOKEN_HTTP_ACCEPT_LANGUAGE, "HTTP_ACCEPT_LANGUAGE" },
		{ WSI_TOKEN_X_FORWARDED_FOR, "HTTP_X_FORWARDED_FOR" },
	};
	struct buf	 nv = BUF_INIT;
	char		 uri[1024], name[512], remote[128];
	size_t		 i;

	memset(wc, 0, sizeof *wc);
	wc->server = s;
	if (server_uri(wsi, uri, sizeof uri) != 0)
		strcpy(uri, "/");
	if (router_route(s->router, uri, name, sizeof name) != 0) {
		/* cannot happen: CONFIRM_UPGRADE checked the route */
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		    NULL, 0);
		return;
	}
	server_query(wsi, uri, sizeof uri);
	server_remote(s, wsi, remote, sizeof remote);
	for (i = 0; i < sizeof headers / sizeof headers[0]; i++)
		server_header_param(wsi, &nv, headers[i].token,
		    headers[i].param);
	wc->conn = gateway_conn_open(s->gw, wsi, wc, name, remote, uri, &nv);
	buf_free(&nv);
}

static int
server_receive(struct server *s, struct lws *wsi, struct wsconn *wc,
    const void *in, size_t len)
{
	uint8_t	*payload;
	size_t	 plen;

	if (wc->conn == NULL || wc->closing)
		return 0;
	if (lws_is_first_fragment(wsi)) {
		buf_reset(&wc->rx);
		wc->rx_binary = lws_frame_is_binary(wsi);
		memset(&wc->rx_utf8, 0, sizeof wc->rx_utf8);
	}
	if (buf_size(&wc->rx) + len > s->cfg->max_message) {
		log_info("connection %s: message over %zu bytes, closing 1009",
		    conn_id(wc->conn), s->cfg->max_message);
		gateway_conn_error(s->gw, wc->conn, "message too big");
		buf_free(&wc->rx);
		/* close from WRITEABLE: returning -1 here would leave lws
		 * parsing the rest of its buffer from mid-frame */
		server_close(wc->conn, 1009, "message too big");
		return 0;
	}
	if (!wc->rx_binary && (utf8_feed(&wc->rx_utf8, in, len) != 0 ||
	    (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi) &&
	    !utf8_complete(&wc->rx_utf8)))) {
		log_info("connection %s: text message is not UTF-8, closing "
		    "1007", conn_id(wc->conn));
		gateway_conn_error(s->gw, wc->conn, "invalid UTF-8");
		buf_free(&wc->rx);
		server_close(wc->conn, 1007, "invalid UTF-8");
		return 0;
	}
	buf_append(&wc->rx, in, len);
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	plen = buf_size(&wc->rx);
	payload = xmalloc(plen + 1);
	memcpy(payload, buf_head(&wc->rx), plen);
	payload[plen] = '\0';
	if (wc->rx.cap > 65536)
		buf_free(&wc->rx);	/* don't keep a big buffer per idle socket */
	else
		buf_reset(&wc->rx);
	gateway_conn_message(s->gw, wc->conn, payload, plen, wc->rx_binary);
	return 0;
}

static int
server_writeable(struct lws *wsi, struct wsconn *wc)
{
	struct frame	*f = wc->q_head;
	int		 n;

	if (f != NULL) {
		wc->q_head = f->next;
		if (wc->q_head == NULL)
			wc->q_tail = NULL;
		wc->q_bytes -= f->len;
		n = lws_write(wsi, f->data + LWS_PRE, f->len,
		    f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		free(f);
		if (n < 0)
			return -1;
		if (wc->q_head != NULL || wc->closing)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (wc->closing) {
		lws_close_reason(wsi, (enum lws_close_status)wc->close_code,
		    (unsigned char *)wc->close_reason, strlen(wc->close_reason));
		return -1;
	}
	return 0;
}

static void
server_drop_queue(struct wsconn *wc)
{
	struct frame	*f;

	while ((f = wc->q_head) != NULL) {
		wc->q_head = f->next;
		free(f);
	}
	wc->q_tail = NULL;
	wc->q_bytes = 0;
}

static void
server_closed(struct server *s, struct wsconn *wc)
{
	struct conn	*c = wc->conn;
	int		 code, clean;
	const char	*reason;

	server_drop_queue(wc);
	buf_free(&wc->rx);
	if (c == NULL)
		return;
	wc->conn = NULL;
	conn_set_server_data(c, NULL);
	if (wc->peer_code != 0) {
		code = wc->peer_code;
		reason = wc->peer_reason;
		clean = 1;
	} else if (wc->closing || wc->close_code != 0) {
		code = wc->close_code;
		reason = wc->close_reason;
		clean = 1;
	} else {
		code = 1006;
		reason = "";
		clean = 0;
	}
	gateway_conn_closed(s->gw, c, code, reason, clean);
}

/* RFC 6455 7.4: codes a peer may send in a close frame. */
static int
server_close_code_valid(int code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/*
 * The peer's close frame. lws echoes it as our answer unless we set a
 * reason and return -1, which is how a bad one gets 1002 or 1007.
 */
static int
server_peer_close(struct lws *wsi, struct wsconn *wc, const uint8_t *in,
    size_t len)
{
	size_t	n;

	if (len == 1 || (len >= 2 &&
	    !server_close_code_valid((in[0] << 8) | in[1]))) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
		    (unsigned char *)"bad close frame", 15);
		return -1;
	}
	if (len > 2 && !utf8_valid(in + 2, len - 2)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD,
		    (unsigned char *)"close reason not UTF-8", 22);
		return -1;
	}
	if (len < 2) {
		wc->peer_code = 1005;
		wc->peer_reason[0] = '\0';
		return 0;
	}
	wc->peer_code = (in[0] << 8) | in[1];
	n = len - 2;
	if (n >= sizeof wc->peer_reason)
		n = sizeof wc->peer_reason - 1;
	memcpy(wc->peer_reason, in + 2, n);
	wc->peer_reason[n] = '\0';
	return 0;
}

/* Plain HTTP/1.1 requests need a Host header too (RFC 7230 5.4). */
static int
server_filter_http(struct lws *wsi)
{
	char	v[16];

	if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP) > 0 &&
	    strcmp(v, "HTTP/1.1") == 0 &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0) {
		server_http_reply(wsi, 400, "missing Host\n", NULL);
		return 1;
	}
	return 0;
}

static int
server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct server	*s = lws_context_user(lws_get_context(wsi));
	struct wsconn	*wc = user;

	switch (reason) {
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		/* lws 4.1 sets no timeout on a new socket that sends nothing */
		lws_set_timeout(wsi, PENDING_TIMEOUT_HOLDING_AH,
		    (int)((s->cfg->handshake_timeout_ms + 999) / 1000));
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return server_confirm_upgrade(s, wsi);
	case LWS_CALLBACK_HTTP:
		return server_http(s, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);	/* handshake done */
		server_established(s, wsi, wc);
		return wc->conn == NULL ? -1 : 0;
	case LWS_CALLBACK_RECEIVE:
		return server_receive(s, wsi, wc, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return server_writeable(wsi, wc);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return server_peer_close(wsi, wc, in, len);
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		return server_filter_http(wsi);
	case LWS_CALLBACK_CLOSED:
		server_closed(s, wc);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (s != NULL)
			gateway_wake(s->gw);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

int
server_send(struct conn *c, const void *data, size_t len, int binary)
{
	struct wsconn	*wc = conn_server_data(c);
	struct frame	*f;

	if (wc == NULL || wc->closing || conn_wsi(c) == NULL)
		return -ENOTCONN;
	if (wc->q_bytes + len > wc->server->cfg->send_queue_max) {
		log_warn("connection %s: send queue over %zu bytes "
		    "(client not reading), closing 1008", conn_id(c),
		    wc->server->cfg->send_queue_max);
		gateway_conn_error(wc->server->gw, c, "send queue full");
		server_drop_queue(wc);
		server_close(c, 1008, "send queue full");
		return -ENOBUFS;
	}
	f = xmalloc(sizeof *f + LWS_PRE + len);
	f->next = NULL;
	f->len = len;
	f->binary = binary;
	memcpy(f->data + LWS_PRE, data, len);
	if (wc->q_tail != NULL)
		wc->q_tail->next = f;
	else
		wc->q_head = f;
	wc->q_tail = f;
	wc->q_bytes += len;
	lws_callback_on_writable(conn_wsi(c));
	return 0;
}

void
server_close(struct conn *c, int code, const char *reason)
{
	struct wsconn	*wc = conn_server_data(c);
	size_t		 n;

	if (wc == NULL || wc->closing || conn_wsi(c) == NULL)
		return;
	wc->closing = 1;
	wc->close_code = code;
	n = reason != NULL ? strlen(reason) : 0;
	if (n > 123)
		n = 123;
	/* never cut a UTF-8 sequence in half */
	while (n > 0 && n < strlen(reason) && ((uint8_t)reason[n] & 0xc0) == 0x80)
		n--;
	memcpy(wc->close_reason, reason != NULL ? reason : "", n);
	wc->close_reason[n] = '\0';
	lws_callback_on_writable(conn_wsi(c));
}

void
server_pause(struct conn *c, int paused)
{
	if (conn_wsi(c) != NULL)
		lws_rx_flow_control(conn_wsi(c), paused ? 0 : 1);
}

/* Mount points for the routes: "PATH=OBJ" -> PATH, "PREFIX/ *" -> PREFIX. */
static void
server_mounts(struct server *s)
{
	const struct config	*cfg = s->cfg;
	struct lws_http_mount	*m;
	size_t			 i, n = 0;
	char			*path, *eq;

	/* routes, the two admin pages, the files */
	s->mounts = xcalloc(cfg->nroutes + 3, sizeof *s->mounts);
	s->mount_paths = xcalloc(cfg->nroutes + 1, sizeof *s->mount_paths);
	for (i = 0; i < cfg->nroutes; i++) {
		path = xstrdup(cfg->routes[i]);
		if ((eq = strchr(path, '=')) != NULL)
			*eq = '\0';
		else if (strlen(path) >= 2 &&
		    strcmp(path + strlen(path) - 2, "/*") == 0)
			path[strlen(path) - 2] = '\0';
		s->mount_paths[n] = path;
		m = &s->mounts[n++];
		m->mountpoint = path;
		m->mountpoint_len = (unsigned char)strlen(path);
		m->origin = WS_PROTOCOL_NAME;
		m->origin_protocol = LWSMPRO_CALLBACK;
	}
	for (i = 0; i < 2; i++) {
		m = &s->mounts[n++];
		m->mountpoint = i == 0 ? "/metrics" : "/status";
		m->mountpoint_len = (unsigned char)strlen(m->mountpoint);
		m->origin = WS_PROTOCOL_NAME;
		m->origin_protocol = LWSMPRO_CALLBACK;
	}
	if (cfg->static_dir != NULL) {
		m = &s->mounts[n++];
		m->mountpoint = "/";
		m->mountpoint_len = 1;
		m->origin = cfg->static_dir;
		m->def = "index.html";
		m->origin_protocol = LWSMPRO_FILE;
	}
	for (i = 0; i + 1 < n; i++)
		s->mounts[i].mount_next = &s->mounts[i + 1];
	s->nmounts = n;
}

struct server *
server_create(struct gateway *gw, const struct config *cfg,
    const struct router *router, const char **cause)
{
	struct lws_context_creation_info	 info;
	struct server				*s = xcalloc(1, sizeof *s);

	s->gw = gw;
	s->cfg = cfg;
	s->router = router;
	s->protocols[0].name = WS_PROTOCOL_NAME;
	s->protocols[0].callback = server_callback;
	s->protocols[0].per_session_data_size = sizeof(struct wsconn);
	/* small: the rx buffer is paid for by every idle socket */
	s->protocols[0].rx_buffer_size = 1024;
	s->protocols[1].name = FCGI_PROTOCOL_NAME;
	s->protocols[1].callback = (lws_callback_function *)pool_lws_callback;
	server_mounts(s);

	/* our own loop, so the gateway can leave it with ev_break */
	s->loop = ev_loop_new(EVFLAG_AUTO);
	if (s->loop == NULL) {
		*cause = "cannot create the libev loop";
		goto fail;
	}
	s->foreign_loops[0] = s->loop;
	memset(&info, 0, sizeof info);
	info.foreign_loops = s->foreign_loops;
	/* no LWS_SERVER_OPTION_VALIDATE_UTF8: lws drops the socket without a
	 * close frame; server_receive checks and answers 1007 itself */
	info.options = LWS_SERVER_OPTION_LIBEV |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.user = s;
	info.fd_limit_per_thread = 0;
	info.max_http_header_data2 = (unsigned int)cfg->max_header;
	/* a silent new connection holds a header buffer: drop it in time */
	info.timeout_secs_ah_idle = (unsigned int)((cfg->handshake_timeout_ms +
	    999) / 1000);
	s->ctx = lws_create_context(&info);
	if (s->ctx == NULL) {
		*cause = "cannot create the libwebsockets context (is "
		    "libwebsockets-evlib-ev installed?)";
		goto fail;
	}
	info.port = cfg->listen_port;
	info.iface = cfg->listen_host;
	if (cfg->listen_unix != NULL) {
		info.port = 0;
		info.iface = cfg->listen_unix;
	}
	info.protocols = s->protocols;
	info.mounts = s->nmounts > 0 ? s->mounts : NULL;
	info.vhost_name = "torpor";
	info.options = 0;
	if (cfg->listen_unix != NULL)
		info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
	else if (strchr(cfg->listen_host, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.keepalive_timeout = 30;
	info.timeout_secs = (unsigned int)((cfg->handshake_timeout_ms + 999) /
	    1000);
	s->vhost = lws_create_vhost(s->ctx, &info);
	if (s->vhost == NULL) {
		*cause = "cannot listen (address in use or not available?)";
		goto fail;
	}
	return s;
fail:
	server_free(s);
	return NULL;
}

void
server_free(struct server *s)
{
	size_t	i;

	if (s == NULL)
		return;
	if (s->ctx != NULL)
		lws_context_destroy(s->ctx);
	if (s->loop != NULL)
		ev_loop_destroy(s->loop);
	for (i = 0; s->mount_paths != NULL && s->mount_paths[i] != NULL; i++)
		free(s->mount_paths[i]);
	free(s->mount_paths);
	free(s->mounts);
	free(s);
}

struct lws_context *
server_context(struct server *s)
{
	return s->ctx;
}

void
server_run(struct server *s)
{
	ev_run(s->loop, 0);
}

void
server_stop(struct server *s)
{
	ev_break(s->loop, EVBREAK_ALL);
}

struct lws_vhost *
server_vhost(struct server *s)
{
	return s->vhost;
}
