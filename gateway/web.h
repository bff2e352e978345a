/*
 * web: the plain HTTP answers of the gateway's port, written on a raw
 * socket once server.c has parsed and checked the request: short replies
 * (refusals, 426 on a route, the admin pages) and the files of --static,
 * streamed in pieces. Every answer says "Connection: close" and the socket
 * closes once it is sent: this port serves a web client page and two
 * admin pages, not a web site, and one request per connection keeps every
 * request going through the gateway's own strict parser.
 */
#ifndef WEB_H
#define WEB_H

#include <stddef.h>

struct lws;
struct web;

/*
 * A whole answer: status, Content-Type, body, and extra header lines
 * ("Name: value", NULL-terminated list, may be NULL). With head_only (a
 * HEAD request) the body is left out but its length announced.
 */
struct web	*web_reply(unsigned int status, const char *ctype,
		    const void *body, size_t len, const char *const *extra,
		    int head_only);
/* A short text/plain answer. */
struct web	*web_text(unsigned int status, const char *body,
		    const char *const *extra);
/*
 * The file at path (percent-decoded, starting with '/') under root, with
 * index.html for a directory; 404 when there is none or the path leaves
 * root, 405 for a method other than GET or HEAD. *status is set to the
 * status answered, for the log.
 */
struct web	*web_file(const char *root, const char *method,
		    const char *path, unsigned int *status);
/*
 * Writes the next piece on WRITEABLE. Returns 1 when there is more (ask
 * for WRITEABLE again), 0 once everything was written and lws has sent it
 * (close the socket now), or -EIO.
 */
int		 web_write(struct web *w, struct lws *wsi);
void		 web_free(struct web *w);

#endif
