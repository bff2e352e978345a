/*
 * server: the libwebsockets side. One context on the libev loop, one
 * vhost whose listener hands every accepted socket to protocols[0] as raw
 * bytes (the request head, then WebSocket frames: wsconn.c) and the raw
 * FastCGI protocol of the pool. The lws callback is a switch with one
 * call per reason; the work happens in the other modules.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>

struct server;
struct gateway;
struct config;
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
/* Sends every open WebSocket a close 1001 "going away" (before free). */
void			 server_going_away(struct server *s);
struct lws_context	*server_context(struct server *s);
struct lws_vhost	*server_vhost(struct server *s);

#endif
