/*
 * store: opens the two LMDB environments of a torpor store directory and
 * encodes and walks their records (the layout is described in store.h).
 * Both the gateway and libtorpor link this file, so it never logs and
 * never aborts: every failure is returned as 0 / negative errno / MDB_*.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

int
store_parse_durability(const char *s, enum store_durability *out)
{
	static const char *const names[] = { "full", "group", "none" };
	size_t i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum store_durability)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
store_durability_name(enum store_durability d)
{
	switch (d) {
	case STORE_DURABILITY_FULL:
		return "full";
	case STORE_DURABILITY_GROUP:
		return "group";
	case STORE_DURABILITY_NONE:
		return "none";
	}
	return "unknown";
}

unsigned int
store_env_flags(enum store_durability d)
{
	return d == STORE_DURABILITY_FULL ? 0 : MDB_NOSYNC;
}

/* mkdir -p with mode 0700, so a fresh store is private from the start. */
static int
store_mkdirs(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len, i;
	char c;
	int rc = 0;

	len = strlen(dir);
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if ((path[i] != '/' && path[i] != '\0') || path[i - 1] == '/')
			continue;
		c = path[i];
		path[i] = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		path[i] = c;
	}
out:
	return rc;
}

int
store_env_open(MDB_env **envp, const char *dir, unsigned int flags)
{
	MDB_env *env = NULL;
	int rc;

	/*
	 * A read-only open must not create anything: an env that does not
	 * exist yet is the caller's error (-ENOENT), not an empty directory.
	 */
	if (!(flags & MDB_RDONLY) && (rc = store_mkdirs(dir)) != 0)
		goto fail;
	if ((rc = mdb_env_create(&env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(env, STORE_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, STORE_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, STORE_MAX_READERS)) != 0)
		goto fail;
	if ((rc = mdb_env_open(env, dir, flags | MDB_NOTLS, 0600)) != 0)
		goto fail;
	*envp = env;
	return 0;
fail:
	if (env != NULL)
		mdb_env_close(env);
	return STORE_ERR(rc);
}

/*
 * Opens the env at envdir with flags and the named DBs into dbis[i]
 * (created unless MDB_RDONLY), in one transaction whose commit makes the
 * handles env-wide. On failure nothing stays open.
 */
static int
store_open_dbs(const char *envdir, unsigned int flags,
    const char *const *names, MDB_dbi *dbis, size_t n, MDB_env **envp)
{
	unsigned int	 ro = flags & MDB_RDONLY;
	MDB_env		*env = NULL;
	MDB_txn		*txn = NULL;
	size_t		 i;
	int		 rc;

	if ((rc = store_env_open(&env, envdir, flags)) != 0)
		goto fail;
	if ((rc = mdb_txn_begin(env, NULL, ro, &txn)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((rc = mdb_dbi_open(txn, names[i], ro ? 0 : MDB_CREATE,
		    &dbis[i])) != 0)
			goto fail;
	/* Committing (even a read-only txn) makes the DBIs env-wide. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	*envp = env;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return STORE_ERR(rc);
}

int
store_state_open_at(const char *envdir, enum store_durability d,
    MDB_env **envp, MDB_dbi *dbi)
{
	static const char *const names[] = { "kv" };
	MDB_dbi	kv;
	int	rc;

	rc = store_open_dbs(envdir, store_env_flags(d), names, &kv, 1, envp);
	if (rc == 0)
		*dbi = kv;	/* out-params only on success */
	return rc;
}

int
store_state_open(const char *dir, enum store_durability d, MDB_env **envp,
    MDB_dbi *dbi)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = store_path(path, sizeof(path), dir, STORE_STATE_SUBDIR)) != 0)
		return rc;
	return store_state_open_at(path, d, envp, dbi);
}

int
store_gateway_open_at(const char *envdir, int readonly, MDB_env **envp,
    struct store_gateway_dbs *dbs)
{
	static const char *const names[] = {
		"alarms", "alarm_times", "event_ids", "connections",
	};
	MDB_dbi	h[4];
	int	rc;

	rc = store_open_dbs(envdir, readonly ? MDB_RDONLY : MDB_NOSYNC, names,
	    h, 4, envp);
	if (rc == 0) {
		dbs->alarms = h[0];
		dbs->alarm_times = h[1];
		dbs->event_ids = h[2];
		dbs->connections = h[3];
	}
	return rc;
}

int
store_gateway_open(const char *dir, int readonly, MDB_env **envp,
    struct store_gateway_dbs *dbs)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = store_path(path, sizeof(path), dir,
	    STORE_GATEWAY_SUBDIR)) != 0)
		return rc;
	return store_gateway_open_at(path, readonly, envp, dbs);
}

int
store_path(char *out, size_t size, const char *dir, const char *sub)
{
	int n;

	n = snprintf(out, size, "%s/%s", dir, sub);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int
store_key_encode(char *out, size_t size, const char *object,
    size_t object_len, const void *key, size_t key_len)
{
	size_t total;

	if (object_len == 0 || memchr(object, STORE_SEP, object_len) != NULL)
		return -EINVAL;
	total = object_len + 1 + key_len;
	if (total < object_len || total > size || total > STORE_KEY_MAX)
		return -ENAMETOOLONG;
	memcpy(out, object, object_len);
	out[object_len] = STORE_SEP;
	if (key_len > 0)
		memcpy(out + object_len + 1, key, key_len);
	return (int)total;
}

int
store_key_decode(const void *enc, size_t enc_len, const char **object,
    size_t *object_len, const void **key, size_t *key_len)
{
	const char *p = enc, *sep;

	sep = memchr(p, STORE_SEP, enc_len);
	/* An empty object name cannot have been produced by the encoder. */
	if (sep == NULL || sep == p)
		return -EINVAL;
	*object = p;
	*object_len = (size_t)(sep - p);
	*key = sep + 1;
	*key_len = enc_len - *object_len - 1;
	return 0;
}

void
store_u64_encode(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
store_u64_decode(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

/*
 * Validates an object name used as (part of) a key with room for extra
 * more bytes; returns its length or a negative code.
 */
static int
store_object_len(const char *object, size_t extra)
{
	size_t len;

	if (object == NULL || (len = strlen(object)) == 0)
		return -EINVAL;
	if (len + extra > STORE_KEY_MAX)
		return -ENAMETOOLONG;
	return (int)len;
}

/* The alarm_times key: 8-byte big-endian time, then the object name. */
static MDB_val
store_alarm_time_key(uint8_t *buf, const char *object, size_t len,
    uint64_t at)
{
	MDB_val k;

	store_u64_encode(buf, at);
	memcpy(buf + 8, object, len);
	k.mv_data = buf;
	k.mv_size = 8 + len;
	return k;
}

/* The 8-byte big-endian value of object in dbi (alarms, event ids). */
static int
store_object_u64_get(MDB_txn *txn, MDB_dbi dbi, const char *object,
    uint64_t *out)
{
	MDB_val k, v;
	int len, rc;

	if ((len = store_object_len(object, 0)) < 0)
		return len;
	k.mv_data = (void *)object;
	k.mv_size = (size_t)len;
	if ((rc = mdb_get(txn, dbi, &k, &v)) != 0)
		return STORE_ERR(rc);
	if (v.mv_size != 8)
		return -EBADMSG;
	*out = store_u64_decode(v.mv_data);
	return 0;
}

int
store_alarm_get(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, int64_t *at_ms)
{
	uint64_t	at;
	int		rc;

	if ((rc = store_object_u64_get(txn, dbs->alarms, object, &at)) == 0)
		*at_ms = (int64_t)at;
	return rc;
}

/* Removes the time index entry of object's current alarm, if any. */
static int
store_alarm_unindex(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, size_t len)
{
	uint8_t buf[STORE_KEY_MAX];
	int64_t old;
	MDB_val k;
	int rc;

	rc = store_alarm_get(txn, dbs, object, &old);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	k = store_alarm_time_key(buf, object, len, (uint64_t)old);
	rc = mdb_del(txn, dbs->alarm_times, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : STORE_ERR(rc);
}

int
store_alarm_put(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, int64_t at_ms)
{
	uint8_t buf[STORE_KEY_MAX], be[8];
	MDB_val k, v;
	int len, rc;

	if (at_ms < 0)
		return -EINVAL;
	if ((len = store_object_len(object, 8)) < 0)
		return len;
	if ((rc = store_alarm_unindex(txn, dbs, object, (size_t)len)) != 0)
		return rc;
	store_u64_encode(be, (uint64_t)at_ms);
	k.mv_data = (void *)object;
	k.mv_size = (size_t)len;
	v.mv_data = be;
	v.mv_size = sizeof(be);
	if ((rc = mdb_put(txn, dbs->alarms, &k, &v, 0)) != 0)
		return STORE_ERR(rc);
	k = store_alarm_time_key(buf, object, (size_t)len, (uint64_t)at_ms);
	v.mv_data = "";
	v.mv_size = 0;
	return STORE_ERR(mdb_put(txn, dbs->alarm_times, &k, &v, 0));
}

int
store_alarm_del(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object)
{
	MDB_val k;
	int len, rc;

	if ((len = store_object_len(object, 0)) < 0)
		return len;
	if ((rc = store_alarm_unindex(txn, dbs, object, (size_t)len)) != 0)
		return rc;
	k.mv_data = (void *)object;
	k.mv_size = (size_t)len;
	rc = mdb_del(txn, dbs->alarms, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : STORE_ERR(rc);
}

/*
 * Walks dbi from the first key >= prefix while keys start with prefix
 * (prefix_len 0: the whole DB). fn's non-zero return stops the walk.
 */
static int
store_walk(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t prefix_len,
    int (*fn)(MDB_val *k, MDB_val *v, void *arg), void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_cursor_op op;
	MDB_val k, v;
	int rc;

	if ((rc = STORE_ERR(mdb_cursor_open(txn, dbi, &cur))) != 0)
		goto out;
	k.mv_data = (void *)prefix;
	k.mv_size = prefix_len;
	op = prefix_len > 0 ? MDB_SET_RANGE : MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (prefix_len > 0 && (k.mv_size < prefix_len ||
		    memcmp(k.mv_data, prefix, prefix_len) != 0))
			break;
		/* fn's value goes back untouched, whatever its sign. */
		if ((rc = fn(&k, &v, arg)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : STORE_ERR(rc);
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	return rc;
}

struct store_alarm_walk {
	int	(*fn)(const char *object, int64_t at_ms, void *arg);
	void	*arg;
};

static int
store_alarm_step(MDB_val *k, MDB_val *v, void *arg)
{
	struct store_alarm_walk *w = arg;
	char object[STORE_KEY_MAX + 1];
	size_t len;

	if (k->mv_size <= 8 || k->mv_size > STORE_KEY_MAX)
		return -EBADMSG;
	len = k->mv_size - 8;
	memcpy(object, (const char *)k->mv_data + 8, len);
	object[len] = '\0';
	return w->fn(object, (int64_t)store_u64_decode(k->mv_data), w->arg);
}

int
store_alarm_foreach(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    int (*fn)(const char *object, int64_t at_ms, void *arg), void *arg)
{
	struct store_alarm_walk w = { fn, arg };

	return store_walk(txn, dbs->alarm_times, NULL, 0, store_alarm_step,
	    &w);
}

int
store_event_id_get(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, uint64_t *id)
{
	return store_object_u64_get(txn, dbs->event_ids, object, id);
}

int
store_event_id_put(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, uint64_t id)
{
	uint8_t be[8];
	MDB_val k, v;
	int len;

	if ((len = store_object_len(object, 0)) < 0)
		return len;
	store_u64_encode(be, id);
	k.mv_data = (void *)object;
	k.mv_size = (size_t)len;
	v.mv_data = be;
	v.mv_size = sizeof(be);
	return STORE_ERR(mdb_put(txn, dbs->event_ids, &k, &v, 0));
}

/* Encodes "object\0id" for the connections DB. */
static int
store_conn_key(char *buf, const char *object, const char *id, MDB_val *k)
{
	int n;

	if (object == NULL || id == NULL || *id == '\0')
		return -EINVAL;
	n = store_key_encode(buf, STORE_KEY_MAX, object, strlen(object), id,
	    strlen(id));
	if (n < 0)
		return n;
	k->mv_data = buf;
	k->mv_size = (size_t)n;
	return 0;
}

int
store_conn_put(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, const char *id, const char *json, size_t len)
{
	char buf[STORE_KEY_MAX];
	MDB_val k, v;
	int rc;

	if ((rc = store_conn_key(buf, object, id, &k)) != 0)
		return rc;
	v.mv_data = (void *)json;
	v.mv_size = len;
	return STORE_ERR(mdb_put(txn, dbs->connections, &k, &v, 0));
}

int
store_conn_del(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object, const char *id)
{
	char buf[STORE_KEY_MAX];
	MDB_val k;
	int rc;

	if ((rc = store_conn_key(buf, object, id, &k)) != 0)
		return rc;
	rc = mdb_del(txn, dbs->connections, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : STORE_ERR(rc);
}

struct store_conn_walk {
	int	(*fn)(const char *object, const char *id, const char *json,
		    size_t len, void *arg);
	void	*arg;
};

static int
store_conn_step(MDB_val *k, MDB_val *v, void *arg)
{
	struct store_conn_walk *w = arg;
	char object[STORE_KEY_MAX + 1], id[STORE_KEY_MAX + 1];
	const char *o;
	const void *i;
	size_t olen, ilen;

	if (k->mv_size > STORE_KEY_MAX ||
	    store_key_decode(k->mv_data, k->mv_size, &o, &olen, &i,
	    &ilen) != 0)
		return -EBADMSG;
	memcpy(object, o, olen);
	object[olen] = '\0';
	memcpy(id, i, ilen);
	id[ilen] = '\0';
	return w->fn(object, id, v->mv_data, v->mv_size, w->arg);
}

int
store_conn_foreach(MDB_txn *txn, const struct store_gateway_dbs *dbs,
    const char *object,
    int (*fn)(const char *object, const char *id, const char *json,
	size_t len, void *arg), void *arg)
{
	struct store_conn_walk w = { fn, arg };
	char prefix[STORE_KEY_MAX];
	int n = 0;

	if (object != NULL) {
		n = store_key_encode(prefix, sizeof(prefix), object,
		    strlen(object), NULL, 0);
		if (n < 0)
			return n;
	}
	return store_walk(txn, dbs->connections, prefix, (size_t)n,
	    store_conn_step, &w);
}

/* Encodes object's key into buf (STORE_KEY_MAX bytes) as an MDB_val. */
static int
store_kv_key(char *buf, const char *object, const void *key, size_t key_len,
    MDB_val *k)
{
	int n;

	if (object == NULL)
		return -EINVAL;
	n = store_key_encode(buf, STORE_KEY_MAX, object, strlen(object), key,
	    key_len);
	if (n < 0)
		return n;
	k->mv_data = buf;
	k->mv_size = (size_t)n;
	return 0;
}

int
store_kv_get(MDB_txn *txn, MDB_dbi dbi, const char *object, const void *key,
    size_t key_len, MDB_val *val)
{
	char buf[STORE_KEY_MAX];
	MDB_val k, v;
	int rc;

	if ((rc = store_kv_key(buf, object, key, key_len, &k)) != 0)
		return rc;
	if ((rc = mdb_get(txn, dbi, &k, &v)) != 0)
		return STORE_ERR(rc);
	*val = v;
	return 0;
}

int
store_kv_put(MDB_txn *txn, MDB_dbi dbi, const char *object, const void *key,
    size_t key_len, const void *val, size_t val_len)
{
	char buf[STORE_KEY_MAX];
	MDB_val k, v;
	int rc;

	if ((rc = store_kv_key(buf, object, key, key_len, &k)) != 0)
		return rc;
	v.mv_data = (void *)val;
	v.mv_size = val_len;
	return STORE_ERR(mdb_put(txn, dbi, &k, &v, 0));
}

int
store_kv_del(MDB_txn *txn, MDB_dbi dbi, const char *object, const void *key,
    size_t key_len)
{
	char buf[STORE_KEY_MAX];
	MDB_val k;
	int rc;

	if ((rc = store_kv_key(buf, object, key, key_len, &k)) != 0)
		return rc;
	rc = mdb_del(txn, dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : STORE_ERR(rc);
}

struct store_kv_walk {
	size_t	 skip;		/* bytes of "object\0" before the user key */
	int	(*fn)(const void *key, size_t key_len, const void *val,
		    size_t val_len, void *arg);
	void	*arg;
};

static int
store_kv_step(MDB_val *k, MDB_val *v, void *arg)
{
	struct store_kv_walk *w = arg;

	return w->fn((const char *)k->mv_data + w->skip, k->mv_size - w->skip,
	    v->mv_data, v->mv_size, w->arg);
}

int
store_kv_foreach(MDB_txn *txn, MDB_dbi dbi, const char *object,
    const void *prefix, size_t prefix_len,
    int (*fn)(const void *key, size_t key_len, const void *val,
	size_t val_len, void *arg), void *arg)
{
	struct store_kv_walk w = { 0, fn, arg };
	char buf[STORE_KEY_MAX];
	MDB_val k;
	int rc;

	if ((rc = store_kv_key(buf, object, prefix, prefix_len, &k)) != 0)
		return rc;
	w.skip = strlen(object) + 1;
	return store_walk(txn, dbi, k.mv_data, k.mv_size, store_kv_step, &w);
}

const char *
store_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= MDB_KEYEXIST && err <= MDB_LAST_ERRCODE)
		return mdb_strerror(err);
	/* Tolerate a caller that negated an MDB code once more. */
	if (-err >= MDB_KEYEXIST && -err <= MDB_LAST_ERRCODE)
		return mdb_strerror(-err);
	return strerror(err < 0 ? -err : err);
}
