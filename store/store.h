/*
 * store: the LMDB layout shared by the gateway and the handler SDK.
 *
 * A store directory DIR holds two environments:
 *   DIR/state    written only by handlers; DB "kv": key = object name,
 *                0x00, user key; value = user bytes.
 *   DIR/gateway  written only by the gateway (handlers open it read-only):
 *     "alarms"       object -> 8-byte big-endian ms since epoch
 *     "alarm_times"  8-byte big-endian ms, object -> "" (time index)
 *     "event_ids"    object -> 8-byte big-endian last event id
 *     "connections"  object, 0x00, connection id -> JSON record
 *                    {"id":..,"tags":[..],"attachment":..,
 *                     "remote":..,"connectedAt":ms}
 * 0x00 cannot occur in object names (the router refuses it), so prefix
 * scans by "object\0" list exactly one object's entries.
 *
 * Every process opens the envs itself after exec, with MDB_NOTLS and
 * STORE_MAP_SIZE. Functions return 0, a negative errno, or an LMDB error
 * code: LMDB's own MDB_* codes are already negative and are returned as
 * they are (compare with MDB_NOTFOUND, not -MDB_NOTFOUND); the positive
 * errno values LMDB reports for system errors are returned negated, so
 * every failure is < 0. store_strerror describes any of them. Nothing
 * here logs or aborts.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#define STORE_MAP_SIZE		((size_t)1 << 34)	/* 16 GiB, sparse */
#define STORE_MAX_DBS		8
#define STORE_MAX_READERS	1022
#define STORE_KEY_MAX		511	/* LMDB's default max key size */
#define STORE_SEP		'\0'

#define STORE_STATE_SUBDIR	"state"
#define STORE_GATEWAY_SUBDIR	"gateway"

enum store_durability {
	STORE_DURABILITY_FULL,	/* every commit syncs */
	STORE_DURABILITY_GROUP,	/* commits do not sync; a sync thread does */
	STORE_DURABILITY_NONE,	/* no sync at all */
};

/* The DBIs of the gateway env, opened once by store_gateway_open. */
struct store_gateway_dbs {
	MDB_dbi	alarms;
	MDB_dbi	alarm_times;
	MDB_dbi	event_ids;
	MDB_dbi	connections;
};

/* Turns an LMDB return (positive errno or negative MDB_*) into ours. */
static inline int
STORE_ERR(int rc)
{
	return rc > 0 ? -rc : rc;
}

/* "full", "group", "none" -> value; returns 0 or -EINVAL. */
int	store_parse_durability(const char *s, enum store_durability *out);
const char *store_durability_name(enum store_durability d);

/*
 * Creates dir (mode 0700, and missing parents) unless flags has
 * MDB_RDONLY, then opens an env there with MDB_NOTLS | flags and the
 * shared map size and limits. On success *envp owns the env (close with
 * mdb_env_close). Returns -errno (e.g. -EACCES when dir is not writable,
 * -ENOENT for a read-only open of a missing env) or an MDB code.
 */
int	store_env_open(MDB_env **envp, const char *dir, unsigned int flags);

/* MDB_NOSYNC for group and none, 0 for full. */
unsigned int store_env_flags(enum store_durability d);

/*
 * Opens DIR/state with flags suited to durability and its "kv" DB
 * (created if missing). *envp and *dbi are set only on success.
 */
int	store_state_open(const char *dir, enum store_durability d,
	    MDB_env **envp, MDB_dbi *dbi);
/*
 * Opens DIR/gateway. With readonly = 0 (the gateway) the DBs are created
 * if missing and the env uses MDB_NOSYNC (the gateway syncs on its own
 * schedule); with readonly = 1 (handlers) it is opened MDB_RDONLY and the
 * DBs must exist. *envp and *dbs are set only on success.
 */
int	store_gateway_open(const char *dir, int readonly, MDB_env **envp,
	    struct store_gateway_dbs *dbs);
/*
 * The same two opens with envdir naming the env directory itself (DIR/state
 * or DIR/gateway) rather than the store directory: handlers get those paths
 * as TORPOR_STORE and TORPOR_GATEWAY_STORE (doc/PROTOCOL.md).
 */
int	store_state_open_at(const char *envdir, enum store_durability d,
	    MDB_env **envp, MDB_dbi *dbi);
int	store_gateway_open_at(const char *envdir, int readonly, MDB_env **envp,
	    struct store_gateway_dbs *dbs);

/* Writes "dir/sub" into out; returns 0 or -ENAMETOOLONG. */
int	store_path(char *out, size_t size, const char *dir, const char *sub);

/*
 * Encodes object, STORE_SEP, key into out[0..size). Returns the length
 * (> 0) or -ENAMETOOLONG when it would exceed size or STORE_KEY_MAX, or
 * -EINVAL when object contains STORE_SEP or is empty.
 */
int	store_key_encode(char *out, size_t size, const char *object,
	    size_t object_len, const void *key, size_t key_len);
/*
 * Splits an encoded key: on success points *object and *key into enc
 * (the object name and the user part, with their lengths) and returns 0;
 * -EINVAL if there is no separator (or the object name is empty).
 */
int	store_key_decode(const void *enc, size_t enc_len, const char **object,
	    size_t *object_len, const void **key, size_t *key_len);

/* 8-byte big-endian codecs for times and ids (so keys sort by value). */
void	store_u64_encode(uint8_t out[8], uint64_t v);
uint64_t store_u64_decode(const uint8_t in[8]);

/* --- gateway env records (write functions need a write txn) --------- */

/* Sets object's alarm, replacing any previous one (both DBs); -EINVAL
 * when at_ms < 0. */
int	store_alarm_put(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object, int64_t at_ms);
/* Removes object's alarm; 0 also when there was none. */
int	store_alarm_del(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object);
/* Reads object's alarm; MDB_NOTFOUND when none. */
int	store_alarm_get(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object, int64_t *at_ms);
/*
 * Calls fn for every alarm in time order; fn returning non-zero stops the
 * walk and that value is returned. object is valid during the call only
 * and is NUL-terminated.
 */
int	store_alarm_foreach(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    int (*fn)(const char *object, int64_t at_ms, void *arg), void *arg);

/* The last event id of object; MDB_NOTFOUND when none was stored. */
int	store_event_id_get(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object, uint64_t *id);
int	store_event_id_put(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object, uint64_t id);

/* Stores a connection record (JSON text, as above). */
int	store_conn_put(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object, const char *id, const char *json, size_t len);
/* Removes it; 0 also when absent. */
int	store_conn_del(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object, const char *id);
/*
 * Calls fn for each connection record of object (object = NULL: of every
 * object), in key order. Pointers are valid during the call only; object
 * and id are NUL-terminated copies, json is not NUL-terminated. fn
 * returning non-zero stops the walk and that value is returned.
 */
int	store_conn_foreach(MDB_txn *txn, const struct store_gateway_dbs *dbs,
	    const char *object,
	    int (*fn)(const char *object, const char *id, const char *json,
		size_t len, void *arg), void *arg);

/* --- state env --------------------------------------------------------- */

/* Reads object's key; MDB_NOTFOUND when absent. *val points into the txn. */
int	store_kv_get(MDB_txn *txn, MDB_dbi dbi, const char *object,
	    const void *key, size_t key_len, MDB_val *val);
int	store_kv_put(MDB_txn *txn, MDB_dbi dbi, const char *object,
	    const void *key, size_t key_len, const void *val, size_t val_len);
/* 0 also when absent. */
int	store_kv_del(MDB_txn *txn, MDB_dbi dbi, const char *object,
	    const void *key, size_t key_len);
/*
 * Calls fn for each key of object starting with prefix (prefix_len may be
 * 0), in key order; key/val valid during the call only. fn returning
 * non-zero stops the walk and that value is returned.
 */
int	store_kv_foreach(MDB_txn *txn, MDB_dbi dbi, const char *object,
	    const void *prefix, size_t prefix_len,
	    int (*fn)(const void *key, size_t key_len, const void *val,
		size_t val_len, void *arg), void *arg);

/* Describes 0, -errno or -MDB_* codes. */
const char *store_strerror(int err);

#endif
