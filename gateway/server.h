/*
 * server: the libwebsockets side. One context on the libev loop, one
 * vhost with the static files at "/", callback mounts on the routes (so a
 * plain GET there gets 426), the WebSocket protocol as protocols[0], and
 * the raw FastCGI protocol of the pool. The lws callback is a switch with
 * one call per reason; the work happens in the gateway module.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>

struct server;
struct gateway;
struct config;
struct conn;
struct router;
struct lws_context;
struct lws_vhost;

/* Creates the context and vhost and starts listening. NULL + *cause on failure. */
struct server		*server_create(struct gateway *gw,
			    const struct config *cfg,
			    const struct router *router, const char **cause);
void			 server_free(struct server *s);
/* Runs the event loop until server_stop (called from a loop callback). */
void			 server_run(struct server *s);
void			 server_stop(struct server *s);
struct lws_context	*server_context(struct server *s);
struct lws_vhost	*server_vhost(struct server *s);
/*
 * Queues a frame on the connection's send queue. A queue over the bound
 * closes the connection with 1008. Returns 0, or -ENOTCONN when the
 * connection has gone or is closing.
 */
int			 server_send(struct conn *c, const void *data,
			    size_t len, int binary);
/* Closes after the queued frames are sent (code, reason <= 123 bytes). */
void			 server_close(struct conn *c, int code,
			    const char *reason);
/* Pauses or resumes reading from the connection's socket. */
void			 server_pause(struct conn *c, int paused);

#endif
