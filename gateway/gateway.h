/*
 * gateway: the top-level context that owns everything else (config,
 * server, router, registry, objects, pool, alarm thread, gateway env) and
 * the glue between them: events in from sockets and alarms, requests out
 * to the pool in per-object order, responses applied to connections.
 */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "metrics.h"

struct gateway;
struct config;
struct conn;

/* Runs the gateway until SIGTERM/SIGINT. Returns the exit status. */
int		 gateway_run(const struct config *cfg);

/* --- called by the server module ------------------------------------ */

/*
 * 0 when another connection from remote may be accepted; -1 over
 * --max-connections, -2 over --max-connections-per-ip.
 */
int		 gateway_can_accept(struct gateway *gw, const char *remote);
/*
 * A connection from peer starts sending its request: 0 when it may
 * (it is counted until gateway_handshake_end), -1 when --max-handshakes
 * are in progress, -2 when peer is at --max-connections-per-ip. peer is
 * NULL for a trusted proxy, whose clients are counted once known.
 */
int		 gateway_handshake_begin(struct gateway *gw, const char *peer);
void		 gateway_handshake_end(struct gateway *gw, const char *peer);
/*
 * A WebSocket is open on object: registers it and queues its connect
 * event. headers holds the upgrade request's HTTP_* params, already
 * FastCGI-encoded (taken over). Returns the conn.
 */
struct conn	*gateway_conn_open(struct gateway *gw, void *server_data,
		    const char *object, const char *remote, const char *uri,
		    struct buf *headers);
/* A whole message arrived; payload (malloc'd) is taken over. */
void		 gateway_conn_message(struct gateway *gw, struct conn *c,
		    uint8_t *payload, size_t len, int binary);
/*
 * The gateway is closing c for a protocol or limit violation of the
 * given kind (counted in /metrics); what is the reason, for the
 * handler's error event.
 */
void		 gateway_conn_error(struct gateway *gw, struct conn *c,
		    enum metrics_error kind, const char *what);
/* The socket is gone; queues the close event and drops the socket's ref. */
void		 gateway_conn_closed(struct gateway *gw, struct conn *c,
		    int code, const char *reason, int clean);
/*
 * The admin pages: fills out and *content_type for "/metrics" or
 * "/status" and returns 0, or -ENOENT for any other path.
 */
int		 gateway_admin_page(struct gateway *gw, const char *path,
		    struct buf *out, const char **content_type);
/* The loop was woken by lws_cancel_service (alarms are due). */
void		 gateway_wake(struct gateway *gw);

#endif
