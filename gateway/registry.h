/*
 * registry: the gateway's connections. Each WebSocket gets a struct conn
 * with a UUIDv4 id, its object, tags, attachment, remote address and
 * connect time, plus its outbound frame queue. The registry is mirrored
 * into the gateway env ("connections" DB) so handlers can list an object's
 * sockets: changes are marked dirty and written in one transaction by
 * registry_flush, which the gateway calls before it sends any event to a
 * handler, so a handler never sees an older registry than its event.
 *
 * A conn outlives its socket while events that refer to it are queued
 * (conn_ref/conn_unref), so a close event still knows the attachment.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "store.h"

struct registry;
struct conn;
struct object;

#define CONN_ID_LEN	36

struct registry	*registry_create(MDB_env *env, const struct store_gateway_dbs *dbs);
/* Frees every conn; accepts NULL. */
void		 registry_free(struct registry *reg);

/*
 * Creates a conn on object with a fresh UUIDv4 id; it counts as open in
 * its object until conn_detach. Holds one reference for the socket.
 */
struct conn	*registry_add(struct registry *reg, struct object *obj,
		    const char *remote, int64_t now_ms);
/*
 * Counts (delta 1) or uncounts (-1) a connection from remote that has no
 * conn yet, its request still arriving, in registry_count_remote.
 */
void		 registry_hold_remote(struct registry *reg, const char *remote,
		    int delta);
/* Finds an open conn by id, or NULL. */
struct conn	*registry_find(struct registry *reg, const char *id);
/*
 * Writes every dirty conn (and removals) into the gateway env in one
 * transaction. Returns 0 or a store error code.
 */
int		 registry_flush(struct registry *reg);
/* Number of open conns, in all and from one client address. */
size_t		 registry_count(const struct registry *reg);
size_t		 registry_count_remote(const struct registry *reg,
		    const char *remote);
/*
 * Deletes every connection record left in the env by an earlier gateway
 * process, calling fn for each first (close replay). Returns 0 or a store
 * error code.
 */
int		 registry_replay(struct registry *reg,
		    void (*fn)(const char *object, const char *id,
			const char *json, size_t len, void *arg), void *arg);

/* Gives a replayed conn the id and fields of its old record. */
void		 registry_adopt_record(struct conn *c, const char *id,
		    const char *json, size_t len);

/*
 * The socket went away: the conn leaves the registry (and its object's
 * open count) and drops the socket's reference.
 */
void		 conn_detach(struct conn *c);
void		 conn_ref(struct conn *c);
void		 conn_unref(struct conn *c);

const char	*conn_id(const struct conn *c);
struct object	*conn_object(const struct conn *c);
int		 conn_is_open(const struct conn *c);
const char	*conn_remote(const struct conn *c);
const char	*conn_attachment(const struct conn *c, size_t *len);
/* Tags joined with ','; "" when none. */
const char	*conn_tags(const struct conn *c);
int		 conn_has_tag(const struct conn *c, const char *tag);
void		 conn_set_attachment(struct conn *c, const char *v, size_t len);
void		 conn_set_tags(struct conn *c, char *const *tags, size_t n);
/* The WebSocket request's URI (path and query), set at open. */
const char	*conn_uri(const struct conn *c);
void		 conn_set_uri(struct conn *c, const char *uri);
/*
 * Accepted: its connect event was answered with success. Only accepted
 * connections get frames sent to a tag or the whole object, and only they
 * are listed in the gateway env for handlers.
 */
int		 conn_accepted(const struct conn *c);
void		 conn_set_accepted(struct conn *c);
/* A connect the handler refused gets no close event. */
int		 conn_refused(const struct conn *c);
void		 conn_set_refused(struct conn *c);
/* Opaque per-connection slot for the server module (rx reassembly). */
void		*conn_server_data(struct conn *c);
void		 conn_set_server_data(struct conn *c, void *p);

/* Walks the open conns of an object (for broadcasts). */
struct conn	*conn_first_of(struct object *obj);
struct conn	*conn_next_of(struct conn *c);

#endif
