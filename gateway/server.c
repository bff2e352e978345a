/*
 * server: the gateway's port. libwebsockets holds every socket on the
 * libev loop and accepts them as raw sockets; the bytes are ours. Each
 * connection starts with an HTTP request head, read by httpreq's strict
 * parser (400, 431, 505 with a real response); a WebSocket upgrade is
 * checked (404 no route, 400 bad name or key, 426 version, 403 origin, 503
 * full), answered with 101 and handed to a wsconn, which does RFC 6455
 * framing itself: libwebsockets 4.1 cannot be told to refuse unmasked
 * frames or to answer the framing errors it detects with a close frame
 * (doc/RFC6455.md). Anything else gets one plain HTTP answer from web.c.
 */
#include <ctype.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>
#include <libwebsockets.h>

#include "buf.h"
#include "config.h"
#include "fcgi.h"
#include "gateway.h"
#include "httpreq.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "router.h"
#include "server.h"
#include "web.h"
#include "wsconn.h"
#include "xmalloc.h"

#define CLIENT_PROTOCOL_NAME	"torpor"
#define FCGI_PROTOCOL_NAME	"torpor-fcgi"
#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* lws per-session data of a client socket: one phase at a time. */
struct session {
	struct httpreq	*req;	/* reading the request head */
	struct wsconn	*ws;	/* after an accepted upgrade */
	struct web	*web;	/* sending a plain HTTP answer */
	int		 counted;	/* in gateway_handshake_begin's count */
	char		*peer;		/* as counted; NULL: a trusted proxy */
};

#define SERVER_LINGER_S	2	/* after an answer, wait for the client's EOF */

struct server {
	struct gateway		*gw;
	const struct config	*cfg;
	const struct router	*router;
	struct ev_loop		*loop;
	void			*foreign_loops[1];
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	struct lws_protocols	 protocols[3];
};

/* The request is in (or refused): it no longer counts as in progress. */
static void
server_handshake_end(struct server *s, struct session *sess)
{
	if (!sess->counted)
		return;
	sess->counted = 0;
	gateway_handshake_end(s->gw, sess->peer);
	free(sess->peer);
	sess->peer = NULL;
}

/* Starts a plain HTTP answer; the socket closes once it is sent. */
static void
server_answer(struct lws *wsi, struct session *sess, struct web *w)
{
	httpreq_free(sess->req);
	sess->req = NULL;
	sess->web = w;
	lws_callback_on_writable(wsi);
}

static void
server_refuse(struct lws *wsi, struct session *sess, unsigned int status,
    const char *body)
{
	static const char *const version_hdr[] = {
		"Sec-WebSocket-Version: 13", NULL };

	server_answer(wsi, sess, web_text(status, body,
	    status == 426 ? version_hdr : NULL));
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

/* Whether s is in list (with nocase, compared without regard to case). */
static int
server_listed(char *const *list, size_t n, const char *s, int nocase)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((nocase ? strcasecmp(list[i], s) : strcmp(list[i], s)) == 0)
			return 1;
	return 0;
}

/*
 * The client's address: the peer, or, when the peer is a trusted proxy,
 * its X-Real-IP, else the last X-Forwarded-For entry (the one that proxy
 * added; earlier ones are the client's word and worth nothing).
 */
static void
server_remote(struct server *s, struct lws *wsi, const struct httpreq *req,
    char *out, size_t size)
{
	const char	*fwd, *last;
	size_t		 n;

	server_peer(s, wsi, out, size);
	if (!server_listed(s->cfg->trusted_proxies, s->cfg->ntrusted_proxies,
	    out, 0))
		return;
	if ((fwd = httpreq_header(req, "X-Real-IP")) == NULL &&
	    (fwd = httpreq_header(req, "X-Forwarded-For")) == NULL)
		return;
	last = strrchr(fwd, ',');
	last = last != NULL ? last + 1 : fwd;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	if (n > 0 && n < size) {
		memcpy(out, last, n);
		out[n] = '\0';
	}
}

/*
 * RFC 6455 4.2.1: the key is 16 random bytes in base64, so 22 characters,
 * the last one with its 4 unused bits zero, then "==".
 */
static int
server_key_valid(const char *k)
{
	size_t	i;

	if (k == NULL || strlen(k) != 24 || k[22] != '=' || k[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '+' && k[i] != '/')
			return 0;
	return strchr("AQgw", k[21]) != NULL;
}

/*
 * The subprotocol to answer with: the first the client offers (it lists
 * them by preference) that is one of --subprotocol; NULL for none, which
 * RFC 6455 4.2.2 allows (a client that insists then gives up itself).
 */
static char *
server_subprotocol(const struct server *s, const struct httpreq *req)
{
	const char	*offered = httpreq_header(req, "Sec-WebSocket-Protocol");
	char		*list, *item, *save = NULL, *chosen = NULL;

	if (offered == NULL || s->cfg->nsubprotocols == 0)
		return NULL;
	list = xstrdup(offered);
	for (item = strtok_r(list, ", \t", &save); item != NULL && !chosen;
	    item = strtok_r(NULL, ", \t", &save))
		if (server_listed(s->cfg->subprotocols, s->cfg->nsubprotocols,
		    item, 0))
			chosen = xstrdup(item);
	free(list);
	return chosen;
}

/* The 101 answer, with Sec-WebSocket-Accept = base64(SHA-1(key GUID)). */
static void
server_switching(const char *key, const char *subprotocol, struct buf *out)
{
	unsigned char	 digest[20];
	char		 joined[64], accept[32];

	snprintf(joined, sizeof joined, "%s%s", key, WS_GUID);
	lws_SHA1((const unsigned char *)joined, strlen(joined), digest);
	lws_b64_encode_string((const char *)digest, sizeof digest, accept,
	    sizeof accept);
	buf_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n", accept);
	if (subprotocol != NULL)
		buf_printf(out, "Sec-WebSocket-Protocol: %s\r\n", subprotocol);
	buf_append_str(out, "\r\n");
}

/*
 * The request headers as CGI HTTP_* params, repeated ones joined. Names
 * with '_' are left out (they would pass for a '-' one, as nginx and
 * Apache also judge), and so are Proxy (httpoxy) and the two that CGI
 * keeps for the request body.
 */
static void
server_header_params(const struct httpreq *req, struct buf *nv)
{
	const char	*name, *value, *other, *unused;
	char		 param[128];
	size_t		 i, j, k;
	int		 seen;

	for (i = 0; i < httpreq_nheaders(req); i++) {
		httpreq_header_at(req, i, &name, &value);
		for (j = 0, seen = 0; j < i && !seen; j++) {
			httpreq_header_at(req, j, &other, &unused);
			seen = strcasecmp(other, name) == 0;
		}
		if (seen || strchr(name, '_') != NULL ||
		    strlen(name) + 6 > sizeof param ||
		    strcasecmp(name, "Proxy") == 0 ||
		    strcasecmp(name, "Content-Length") == 0 ||
		    strcasecmp(name, "Content-Type") == 0)
			continue;
		memcpy(param, "HTTP_", 5);
		for (k = 0; name[k] != '\0'; k++)
			param[5 + k] = name[k] == '-' ? '_' :
			    (char)toupper((unsigned char)name[k]);
		param[5 + k] = '\0';
		value = httpreq_header(req, name);
		fcgi_param_add(nv, param, strlen(param), value, strlen(value));
	}
}

/* Why an upgrade request cannot be one, or NULL: each answers 400. */
static const char *
server_upgrade_malformed(const struct httpreq *req)
{
	if (strcmp(httpreq_method(req), "GET") != 0)
		return "method is not GET";
	if (httpreq_version(req) != 11)
		return "not HTTP/1.1";
	if (!httpreq_has_token(req, "Connection", "upgrade"))
		return "Connection has no Upgrade";
	return NULL;
}

/* Checks a WebSocket upgrade; on success the socket becomes a wsconn. */
static int
server_upgrade(struct server *s, struct lws *wsi, struct session *sess,
    const char *path, uint8_t *rest, size_t rest_len)
{
	const struct httpreq	*req = sess->req;
	const char		*why, *ver, *origin, *key, *query;
	struct buf		 nv = BUF_INIT, hs = BUF_INIT, uri = BUF_INIT;
	char			 name[512], remote[128], *subprotocol;
	int			 rc;

	if ((why = server_upgrade_malformed(req)) != NULL) {
		log_info("upgrade refused path=%s status=400 (%s)", path, why);
		server_refuse(wsi, sess, 400, "bad request\n");
		return 0;
	}
	rc = router_route(s->router, path, name, sizeof name);
	if (rc == ROUTER_ENOROUTE) {
		log_info("upgrade refused path=%s status=404", path);
		server_refuse(wsi, sess, 404, "no route\n");
		return 0;
	}
	if (rc != 0) {
		log_info("upgrade refused path=%s status=400 (%s)", path,
		    router_strerror(rc));
		server_refuse(wsi, sess, 400, "bad object name\n");
		return 0;
	}
	ver = httpreq_header(req, "Sec-WebSocket-Version");
	if (ver == NULL || strcmp(ver, "13") != 0) {
		log_info("upgrade refused path=%s status=426 version=%s", path,
		    ver != NULL ? ver : "");
		server_refuse(wsi, sess, 426, "unsupported version\n");
		return 0;
	}
	key = httpreq_header(req, "Sec-WebSocket-Key");
	if (!server_key_valid(key)) {
		log_info("upgrade refused path=%s status=400 (missing or bad "
		    "Sec-WebSocket-Key)", path);
		server_refuse(wsi, sess, 400, "missing Sec-WebSocket-Key\n");
		return 0;
	}
	origin = httpreq_header(req, "Origin");
	if (s->cfg->norigins > 0 && (origin == NULL ||
	    !server_listed(s->cfg->origins, s->cfg->norigins, origin, 1))) {
		log_info("upgrade refused path=%s status=403 (origin not in "
		    "--allow-origin)", path);
		server_refuse(wsi, sess, 403, "origin not allowed\n");
		return 0;
	}
	server_remote(s, wsi, req, remote, sizeof remote);
	switch (gateway_can_accept(s->gw, remote)) {
	case 0:
		break;
	case -1:
		log_warn("upgrade refused path=%s status=503 "
		    "(--max-connections)", path);
		server_refuse(wsi, sess, 503, "too many connections\n");
		return 0;
	default:
		log_warn("upgrade refused path=%s remote=%s status=503 "
		    "(--max-connections-per-ip)", path, remote);
		server_refuse(wsi, sess, 503, "too many connections\n");
		return 0;
	}

	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);	/* handshake done */
	subprotocol = server_subprotocol(s, req);
	server_switching(key, subprotocol, &hs);
	sess->ws = wsconn_create(s->gw, s->cfg, wsi, buf_head(&hs),
	    buf_size(&hs));
	server_header_params(req, &nv);
	if (subprotocol != NULL)
		fcgi_param_add_str(&nv, "TORPOR_SUBPROTOCOL", subprotocol);
	free(subprotocol);
	buf_append_str(&uri, httpreq_path(req));
	if ((query = httpreq_query(req)) != NULL)
		buf_printf(&uri, "?%s", query);
	buf_append_byte(&uri, '\0');
	wsconn_attach(sess->ws, gateway_conn_open(s->gw, sess->ws, name,
	    remote, (const char *)buf_head(&uri), &nv));
	buf_free(&nv);
	buf_free(&hs);
	buf_free(&uri);
	httpreq_free(sess->req);
	sess->req = NULL;
	/* frames the client sent right behind its request */
	return rest_len > 0 ? wsconn_receive(sess->ws, rest, rest_len) : 0;
}

/* /metrics and /status, for --admin-allow peers only. */
static struct web *
server_admin(struct server *s, struct lws *wsi, const char *path)
{
	struct buf	 body = BUF_INIT;
	struct web	*w;
	const char	*ctype = NULL;
	char		 peer[128];

	server_peer(s, wsi, peer, sizeof peer);
	if (!server_listed(s->cfg->admin_allow, s->cfg->nadmin_allow, peer,
	    0)) {
		log_info("%s refused to %s (not in --admin-allow)", path, peer);
		return web_text(403, "forbidden\n", NULL);
	}
	gateway_admin_page(s->gw, path, &body, &ctype);
	w = web_reply(200, ctype, buf_head(&body), buf_size(&body), NULL, 0);
	buf_free(&body);
	return w;
}

/* A request that is not an upgrade: admin pages, 426 on routes, files. */
static void
server_http(struct server *s, struct lws *wsi, struct session *sess,
    const char *path)
{
	static const char *const upgrade_hdr[] = {
		"Upgrade: websocket", NULL };
	unsigned int	 status = 404;
	struct web	*w;

	if (strcmp(path, "/metrics") == 0 || strcmp(path, "/status") == 0)
		w = server_admin(s, wsi, path);
	else if (router_matches(s->router, path))
		w = web_text(426, "this is a WebSocket endpoint\n",
		    upgrade_hdr);
	else if (s->cfg->static_dir != NULL)
		w = web_file(s->cfg->static_dir, httpreq_method(sess->req),
		    path, &status);
	else
		w = web_text(404, "not found\n", NULL);
	log_debug("%s %s status=%u", httpreq_method(sess->req), path, status);
	server_answer(wsi, sess, w);
}

/*
 * A new socket: counted as a request in progress, or answered 503 at
 * once when --max-handshakes are in progress or its address is at
 * --max-connections-per-ip (a trusted proxy's clients are counted once
 * their address is known).
 */
static void
server_adopt(struct server *s, struct lws *wsi, struct session *sess)
{
	char	peer[128];
	int	trusted, rc;

	lws_set_timeout(wsi, PENDING_TIMEOUT_HOLDING_AH,
	    (s->cfg->handshake_timeout_ms + 999) / 1000);
	server_peer(s, wsi, peer, sizeof peer);
	trusted = server_listed(s->cfg->trusted_proxies,
	    s->cfg->ntrusted_proxies, peer, 0);
	rc = gateway_handshake_begin(s->gw, trusted ? NULL : peer);
	if (rc != 0) {
		log_info("connection refused remote=%s status=503 (%s)", peer,
		    rc == -1 ? "--max-handshakes" : "--max-connections-per-ip");
		server_refuse(wsi, sess, 503, "too many connections\n");
		return;
	}
	sess->counted = 1;
	sess->peer = trusted ? NULL : xstrdup(peer);
	sess->req = httpreq_create(s->cfg->max_header);
}

/* Bytes of the request head; acts once the head is complete. */
static int
server_head(struct server *s, struct lws *wsi, struct session *sess,
    uint8_t *data, size_t len)
{
	char	path[1024];
	size_t	used = 0;
	int	rc;

	rc = httpreq_feed(sess->req, data, len, &used);
	if (rc == 0)
		return 0;
	server_handshake_end(s, sess);
	if (rc < 0) {
		log_info("request refused status=%d (%s)", httpreq_status(rc),
		    httpreq_error_detail(sess->req) != NULL ?
		    httpreq_error_detail(sess->req) : httpreq_strerror(rc));
		server_refuse(wsi, sess, (unsigned int)httpreq_status(rc),
		    "bad request\n");
		return 0;
	}
	if (httpreq_decode(httpreq_path(sess->req), path, sizeof path) != 0) {
		log_info("request refused status=400 (path %.64s has a bad "
		    "escape or is too long)", httpreq_path(sess->req));
		server_refuse(wsi, sess, 400, "bad path\n");
		return 0;
	}
	if (httpreq_has_token(sess->req, "Upgrade", "websocket"))
		return server_upgrade(s, wsi, sess, path, data + used,
		    len - used);
	server_http(s, wsi, sess, path);
	return 0;
}

static int
server_writeable(struct lws *wsi, struct session *sess)
{
	int	rc;

	if (sess->ws != NULL)
		return wsconn_writeable(sess->ws);
	if (sess->web == NULL)
		return 0;
	rc = web_write(sess->web, wsi);
	if (rc == 1)
		lws_callback_on_writable(wsi);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	/*
	 * Answered. Closing now, with bytes of the client's still unread
	 * (a body, the rest of a refused request), would send a reset that
	 * can destroy the answer on its way: end our side and read on until
	 * the client closes, for SERVER_LINGER_S at most.
	 */
	if (shutdown(lws_get_socket_fd(wsi), SHUT_WR) != 0)
		return -1;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, SERVER_LINGER_S);
	return 0;
}

static void
server_closed(struct server *s, struct session *sess)
{
	server_handshake_end(s, sess);
	if (sess->ws != NULL)
		wsconn_closed(sess->ws);
	web_free(sess->web);
	httpreq_free(sess->req);
	memset(sess, 0, sizeof *sess);
}

static int
server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct server	*s = lws_context_user(lws_get_context(wsi));
	struct session	*sess = user;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		server_adopt(s, wsi, sess);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		if (sess->ws != NULL)
			return wsconn_receive(sess->ws, in, len);
		if (sess->req != NULL)
			return server_head(s, wsi, sess, in, len);
		return 0;	/* a body or more requests: the answer ends it */
	case LWS_CALLBACK_RAW_WRITEABLE:
		return server_writeable(wsi, sess);
	case LWS_CALLBACK_RAW_CLOSE:
		server_closed(s, sess);
		return 0;
	case LWS_CALLBACK_USER:		/* server_going_away */
		/* the listening socket has this protocol too, and no session */
		if (sess != NULL && sess->ws != NULL)
			wsconn_going_away(sess->ws);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (s != NULL)
			gateway_wake(s->gw);
		return 0;
	default:
		return 0;
	}
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
	s->protocols[0].name = CLIENT_PROTOCOL_NAME;
	s->protocols[0].callback = server_callback;
	s->protocols[0].per_session_data_size = sizeof(struct session);
	s->protocols[1].name = FCGI_PROTOCOL_NAME;
	s->protocols[1].callback = (lws_callback_function *)pool_lws_callback;

	/* our own loop, so the gateway can leave it with ev_break */
	s->loop = ev_loop_new(EVFLAG_AUTO);
	if (s->loop == NULL) {
		*cause = "cannot create the libev loop";
		goto fail;
	}
	s->foreign_loops[0] = s->loop;
	memset(&info, 0, sizeof info);
	info.foreign_loops = s->foreign_loops;
	info.options = LWS_SERVER_OPTION_LIBEV |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.user = s;
	info.fd_limit_per_thread = 0;
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
	info.vhost_name = "torpor";
	/* every accepted socket is raw bytes for server_callback */
	info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = CLIENT_PROTOCOL_NAME;
	if (cfg->listen_unix != NULL)
		info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
	else if (strchr(cfg->listen_host, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
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
	if (s == NULL)
		return;
	if (s->ctx != NULL)
		lws_context_destroy(s->ctx);
	if (s->loop != NULL)
		ev_loop_destroy(s->loop);
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

void
server_going_away(struct server *s)
{
	/* the vhost's own copy of the protocol: lws compares pointers */
	lws_callback_all_protocol_vhost_args(s->vhost,
	    lws_vhost_name_to_protocol(s->vhost, CLIENT_PROTOCOL_NAME),
	    LWS_CALLBACK_USER, NULL, 0);
}

struct lws_vhost *
server_vhost(struct server *s)
{
	return s->vhost;
}
