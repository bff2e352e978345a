/*
 * router: maps a request path to an object name. A route is either exact
 * ("/websocket=test-room": that path, that object) or a prefix
 * ("/rooms/" then '*': the object is the rest of the path). Object names
 * are validated here so nothing downstream sees a bad one. (A slash and a
 * star are never written together in these comments: -Wcomment.)
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <stddef.h>

struct router;

#define ROUTER_NAME_MAX_DEFAULT	128

/* Module error codes. */
#define ROUTER_ESPEC		(-3001)	/* route spec malformed */
#define ROUTER_ENOROUTE		(-3002)	/* no route matches the path */
#define ROUTER_ENAME		(-3003)	/* object name empty, too long or bad bytes */

/* Creates an empty router; names longer than name_max are refused. */
struct router	*router_create(size_t name_max);
/* Frees the router; accepts NULL. */
void		 router_free(struct router *r);
/*
 * Adds a route from its command-line form: "PATH=OBJECT", or "PREFIX/"
 * followed by '*'.
 * PATH and PREFIX start with '/'. Returns 0 or ROUTER_ESPEC (also for an
 * OBJECT that is not a valid name).
 */
int		 router_add(struct router *r, const char *spec);
/*
 * Finds the object for path (query string already stripped). Exact routes
 * win over prefixes; the longest prefix wins. On success returns 0 and
 * copies the NUL-terminated name into name[0..name_size). Returns
 * ROUTER_ENOROUTE or ROUTER_ENAME otherwise.
 */
int		 router_route(const struct router *r, const char *path,
		    char *name, size_t name_size);
/*
 * Whether path is a route's path, or lies under a prefix route (so plain
 * HTTP requests to it get 426 instead of a file).
 */
int		 router_matches(const struct router *r, const char *path);
/*
 * A valid object name: 1..name_max bytes, printable ASCII except '/', and
 * no byte the store uses as a separator. Returns 1 or 0.
 */
int		 router_name_valid(const char *name, size_t len, size_t name_max);
size_t		 router_count(const struct router *r);
const char	*router_strerror(int err);

#endif
