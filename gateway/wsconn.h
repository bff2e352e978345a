/*
 * wsconn: one WebSocket after the upgrade, on a raw lws socket. Bytes in
 * go through wsframe's parser, which enforces RFC 6455's framing rules
 * and names the close code for each; messages (up to --max-message) go to
 * the gateway; frames out wait in a queue bounded by --send-queue; the
 * closing handshake is done both ways. server.c creates a wsconn when it
 * has accepted an upgrade and routes the socket's callbacks to it.
 */
#ifndef WSCONN_H
#define WSCONN_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct conn;
struct gateway;
struct lws;
struct wsconn;

/*
 * A WebSocket on wsi whose first output is the handshake answer
 * (handshake[0..len), copied). It reads nothing yet: attach a conn first.
 */
struct wsconn	*wsconn_create(struct gateway *gw, const struct config *cfg,
		    struct lws *wsi, const void *handshake, size_t len);
/* Ties the wsconn to its registry entry (before any input is fed). */
void		 wsconn_attach(struct wsconn *wc, struct conn *c);
/*
 * Feeds bytes read from the socket (unmasked in place). Returns 0, or -1
 * when the socket should be closed now (the closing handshake is over).
 */
int		 wsconn_receive(struct wsconn *wc, uint8_t *data, size_t len);
/* WRITEABLE: sends the next queued frame. 0, or -1 to close now. */
int		 wsconn_writeable(struct wsconn *wc);
/*
 * The gateway is stopping: writes a close frame 1001 "going away" now, if
 * the socket can take it at once and nothing is queued before it (a
 * frame half sent must not be cut into); the socket closes right after.
 */
void		 wsconn_going_away(struct wsconn *wc);
/* The socket has gone: reports the close to the gateway and frees wc. */
void		 wsconn_closed(struct wsconn *wc);

/*
 * Queues a frame for connection c. A queue over --send-queue closes the
 * connection with 1008. Returns 0, -ENOTCONN when the connection has gone
 * or is closing, or -ENOBUFS when this frame overflowed the queue.
 */
int		 wsconn_send(struct conn *c, const void *data, size_t len,
		    int binary);
/* Closes with code and reason (cut to 123 bytes) after queued frames. */
void		 wsconn_close(struct conn *c, int code, const char *reason);
/* Pauses or resumes reading from the connection's socket. */
void		 wsconn_pause(struct conn *c, int paused);

#endif
