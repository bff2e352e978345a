/*
 * request: builds the FastCGI request for one event, or for a batch of
 * events of one object (doc/PROTOCOL.md sections 3 and 10): the CGI and
 * TORPOR_* params, then the payload(s). Event ids are taken from the
 * object here, in queue order.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>

#include "buf.h"

struct event;
struct object;

/* What every request of this gateway carries. */
struct request_env {
	const char	*state_dir;
	const char	*gateway_dir;
	const char	*durability;
	char *const	*params;	/* --handler-param NAME=VALUE */
	size_t		 nparams;
};

/*
 * Encodes the k events starting at first (linked by batch_next) into out,
 * using nv and body as scratch buffers (reset here). k == 1 gives a
 * single-event request; k > 1 a batch (no connect event may be in it).
 */
void	request_encode(const struct request_env *env, struct object *o,
	    struct event *first, size_t k, struct buf *nv, struct buf *body,
	    struct buf *out);

#endif
