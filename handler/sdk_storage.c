/*
 * sdk_storage: object storage for handlers, with the semantics the
 * gateway's output gate relies on. Reads come from one LMDB snapshot,
 * taken at the event's first read; writes go to an in-memory buffer
 * sorted by key, which reads consult first (read-your-writes) and
 * torpor_list merges with the snapshot. The buffer reaches LMDB in one
 * short write transaction after the callback returned 0, before the
 * response is written, so the write lock is held for microseconds and a
 * failed event leaves no trace.
 *
 * Pointers handed to the callback stay valid until the event ends:
 * snapshot values live until the read transaction is reset, and buffered
 * entries replaced by a later write are retired, not freed, until then.
 *
 * In a batch every event opens a savepoint. An entry written after it
 * that replaces an earlier event's entry keeps that one as its shadow,
 * so a rollback swaps the shadows back and drops the event's new keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <lmdb.h>

#include "sdk_batch.h"
#include "sdk_event.h"
#include "sdk_storage.h"
#include "store.h"

/* Write buffer capacity (entries) kept between events. */
#define SDK_STORAGE_KEEP	1024

/* One buffered put or delete: key, NUL, value, NUL in one allocation. */
struct storage_entry {
	struct storage_entry	*next;		/* on the retired list */
	struct storage_entry	*shadow;	/* an earlier savepoint's */
	unsigned		 sp;		/* savepoint written in */
	size_t			 key_len;
	size_t			 val_len;
	int			 deleted;
	char			*val;
	char			 key[];
};

struct sdk_storage {
	MDB_env			*env;		/* state env */
	MDB_dbi			 dbi;
	char			*env_path;
	enum store_durability	 durability;
	MDB_txn			*rtxn;		/* the event's snapshot */
	int			 rtxn_live;

	MDB_env			*genv;		/* gateway env, read-only */
	struct store_gateway_dbs gdbs;
	char			*genv_path;
	MDB_txn			*gtxn;

	struct storage_entry	**w;		/* sorted by key */
	size_t			 nw;
	size_t			 wcap;
	struct storage_entry	*retired;
	unsigned		 sp;		/* current savepoint */

	const char		**tags;		/* torpor_connections scratch */
	size_t			 tags_cap;
};

int
sdk_storage_create(struct sdk_storage **sp)
{
	struct sdk_storage *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	*sp = s;
	return 0;
}

static void
storage_close_state(struct sdk_storage *s)
{
	if (s->rtxn != NULL)
		mdb_txn_abort(s->rtxn);
	s->rtxn = NULL;
	s->rtxn_live = 0;
	if (s->env != NULL)
		mdb_env_close(s->env);
	s->env = NULL;
	free(s->env_path);
	s->env_path = NULL;
}

static void
storage_close_gateway(struct sdk_storage *s)
{
	if (s->gtxn != NULL)
		mdb_txn_abort(s->gtxn);
	s->gtxn = NULL;
	if (s->genv != NULL)
		mdb_env_close(s->genv);
	s->genv = NULL;
	free(s->genv_path);
	s->genv_path = NULL;
}

void
sdk_storage_free(struct sdk_storage *s)
{
	if (s == NULL)
		return;
	sdk_storage_end(s);
	storage_close_state(s);
	storage_close_gateway(s);
	free(s->w);
	free(s->tags);
	free(s);
}

size_t
sdk_storage_pending(const struct sdk_storage *s)
{
	return s->nw;
}

static void
storage_free_retired(struct sdk_storage *s)
{
	struct storage_entry *e;

	while ((e = s->retired) != NULL) {
		s->retired = e->next;
		free(e);
	}
}

/* Puts an entry no longer buffered on the retired list. */
static void
storage_retire(struct sdk_storage *s, struct storage_entry *e)
{
	e->shadow = NULL;
	e->next = s->retired;
	s->retired = e;
}

void
sdk_storage_savepoint(struct sdk_storage *s)
{
	storage_free_retired(s);
	s->sp++;
}

void
sdk_storage_rollback(struct sdk_storage *s)
{
	struct storage_entry *e, *keep;
	size_t i, j;

	for (i = j = 0; i < s->nw; i++) {
		e = s->w[i];
		if (e->sp == s->sp) {
			keep = e->shadow;
			storage_retire(s, e);
			if ((e = keep) == NULL)
				continue;
		}
		s->w[j++] = e;
	}
	s->nw = j;
}

void
sdk_storage_end(struct sdk_storage *s)
{
	struct storage_entry *e;
	size_t i;

	if (s->rtxn_live)
		mdb_txn_reset(s->rtxn);
	s->rtxn_live = 0;
	for (i = 0; i < s->nw; i++) {
		while ((e = s->w[i]) != NULL) {
			s->w[i] = e->shadow;
			free(e);
		}
	}
	s->nw = 0;
	s->sp = 0;
	storage_free_retired(s);
	if (s->wcap > SDK_STORAGE_KEEP) {
		free(s->w);
		s->w = NULL;
		s->wcap = 0;
	}
}

/* A parameter of the event, falling back to the process environment
 * (spawned handlers inherit TORPOR_STORE and friends). */
static const char *
storage_param(const torpor_event *ev, const char *name)
{
	const char *v = torpor_param(ev, name);

	if (v == NULL || *v == '\0')
		v = getenv(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

/* Opens (or reopens, when the event names another one) the state env. */
static int
storage_state(struct sdk_storage *s, const torpor_event *ev)
{
	enum store_durability d = STORE_DURABILITY_FULL;
	const char *path, *dur;
	int rc;

	if ((path = storage_param(ev, "TORPOR_STORE")) == NULL)
		return -EINVAL;
	/* Unknown durability: be safe and sync every commit. */
	if ((dur = storage_param(ev, "TORPOR_DURABILITY")) != NULL &&
	    store_parse_durability(dur, &d) != 0)
		d = STORE_DURABILITY_FULL;
	if (s->env != NULL && strcmp(s->env_path, path) == 0 &&
	    s->durability == d)
		return 0;
	storage_close_state(s);
	if ((s->env_path = strdup(path)) == NULL)
		return -ENOMEM;
	if ((rc = store_state_open_at(path, d, &s->env, &s->dbi)) != 0) {
		s->env = NULL;
		storage_close_state(s);
		return rc;
	}
	s->durability = d;
	return 0;
}

/* The event's snapshot, begun (or renewed) at its first read. */
static int
storage_snapshot(struct sdk_storage *s, const torpor_event *ev,
    MDB_txn **txn)
{
	int rc;

	if ((rc = storage_state(s, ev)) != 0)
		return rc;
	if (!s->rtxn_live) {
		if (s->rtxn != NULL)
			rc = mdb_txn_renew(s->rtxn);
		else
			rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn);
		if (rc != 0)
			return STORE_ERR(rc);
		s->rtxn_live = 1;
	}
	*txn = s->rtxn;
	return 0;
}

/* Byte order, shorter first on a tie: the order of LMDB's keys. */
static int
storage_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Index of the first buffered key >= key; *found when it is equal. */
static size_t
storage_find(const struct sdk_storage *s, const char *key, size_t len,
    int *found)
{
	size_t lo = 0, hi = s->nw, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = storage_cmp(s->w[mid]->key, s->w[mid]->key_len, key, len);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Validates a user key of the event's object; returns its length. */
static int
storage_key(const torpor_event *ev, const char *key, size_t *len)
{
	if (ev == NULL || key == NULL || *key == '\0')
		return -EINVAL;
	*len = strlen(key);
	if (*len > STORE_KEY_MAX - 1 - strlen(torpor_object(ev)))
		return -ENAMETOOLONG;
	return 0;
}

/* Buffers a put (val may be NULL only when len is 0) or a delete. */
static int
storage_write(torpor_event *ev, const char *key, const void *val,
    size_t len, int deleted)
{
	struct sdk_storage *s;
	struct storage_entry *e, **w;
	size_t klen, i, ncap;
	int rc, found;

	if ((rc = storage_key(ev, key, &klen)) != 0)
		return rc;
	if (val == NULL && len > 0)
		return -EINVAL;
	s = sdk_event_storage(ev);
	if (len > SIZE_MAX - sizeof(*e) - klen - 2 ||
	    (e = malloc(sizeof(*e) + klen + len + 2)) == NULL)
		return -ENOMEM;
	e->next = NULL;
	e->shadow = NULL;
	e->sp = s->sp;
	e->key_len = klen;
	e->val_len = len;
	e->deleted = deleted;
	memcpy(e->key, key, klen + 1);
	e->val = e->key + klen + 1;
	if (len > 0)
		memcpy(e->val, val, len);
	e->val[len] = '\0';

	i = storage_find(s, key, klen, &found);
	if (found) {
		/*
		 * An earlier torpor_get may still point at the old value.
		 * An earlier event's entry stays as the shadow, for a
		 * rollback; this event's own is retired.
		 */
		if (s->w[i]->sp == s->sp) {
			e->shadow = s->w[i]->shadow;
			storage_retire(s, s->w[i]);
		} else
			e->shadow = s->w[i];
		s->w[i] = e;
		return 0;
	}
	if (s->nw == s->wcap) {
		ncap = s->wcap > 0 ? s->wcap * 2 : 16;
		if ((w = realloc(s->w, ncap * sizeof(*w))) == NULL) {
			free(e);
			return -ENOMEM;
		}
		s->w = w;
		s->wcap = ncap;
	}
	memmove(s->w + i + 1, s->w + i, (s->nw - i) * sizeof(*s->w));
	s->w[i] = e;
	s->nw++;
	return 0;
}

int
torpor_put(torpor_event *ev, const char *key, const void *val, size_t len)
{
	return storage_write(ev, key, val, len, 0);
}

int
torpor_delete(torpor_event *ev, const char *key)
{
	return storage_write(ev, key, "", 0, 1);
}

int
torpor_get(torpor_event *ev, const char *key, const void **val, size_t *len)
{
	struct sdk_storage *s;
	struct storage_entry *e;
	MDB_txn *txn;
	MDB_val v;
	size_t klen, i;
	int rc, found;

	if ((rc = storage_key(ev, key, &klen)) != 0)
		return rc;
	s = sdk_event_storage(ev);
	i = storage_find(s, key, klen, &found);
	if (found) {
		e = s->w[i];
		if (e->deleted)
			return -ENOENT;
		*val = e->val;
		*len = e->val_len;
		return 0;
	}
	if ((rc = storage_snapshot(s, ev, &txn)) != 0)
		return rc;
	rc = store_kv_get(txn, s->dbi, torpor_object(ev), key, klen, &v);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc != 0)
		return rc;
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

/* The state of one torpor_list: a merge of the buffer into a DB walk. */
struct storage_list {
	struct sdk_storage	*s;
	const char		*prefix;
	size_t			 prefix_len;
	int			(*fn)(const char *key, const void *val,
				    size_t len, void *arg);
	void			*arg;
	int			 started;	/* last holds a key */
	size_t			 last_len;
	char			 last[STORE_KEY_MAX + 1];
};

/*
 * The next buffered entry under the prefix after the last key passed on.
 * Looked up again each time, so that the callback may write meanwhile.
 */
static struct storage_entry *
storage_list_next(struct storage_list *l)
{
	struct storage_entry *e;
	size_t i;
	int found;

	if (l->started) {
		i = storage_find(l->s, l->last, l->last_len, &found);
		i += found;
	} else
		i = storage_find(l->s, l->prefix, l->prefix_len, &found);
	if (i >= l->s->nw)
		return NULL;
	e = l->s->w[i];
	if (e->key_len < l->prefix_len ||
	    memcmp(e->key, l->prefix, l->prefix_len) != 0)
		return NULL;
	return e;
}

/* Passes one key on (deleted = skipped) and remembers it as the last. */
static int
storage_list_emit(struct storage_list *l, const char *key, size_t key_len,
    const void *val, size_t val_len, int deleted)
{
	memcpy(l->last, key, key_len);
	l->last[key_len] = '\0';
	l->last_len = key_len;
	l->started = 1;
	if (deleted)
		return 0;
	return l->fn(l->last, val, val_len, l->arg);
}

static int
storage_list_buffered(struct storage_list *l, struct storage_entry *e)
{
	return storage_list_emit(l, e->key, e->key_len, e->val, e->val_len,
	    e->deleted);
}

/* For each DB key: first the buffered keys before it, then it (or the
 * buffered entry that replaces it). */
static int
storage_list_step(const void *key, size_t key_len, const void *val,
    size_t val_len, void *arg)
{
	struct storage_list *l = arg;
	struct storage_entry *e;
	int c, rc;

	while ((e = storage_list_next(l)) != NULL) {
		c = storage_cmp(e->key, e->key_len, key, key_len);
		if (c > 0)
			break;
		if ((rc = storage_list_buffered(l, e)) != 0 || c == 0)
			return rc;
	}
	return storage_list_emit(l, key, key_len, val, val_len, 0);
}

int
torpor_list(torpor_event *ev, const char *prefix,
    int (*fn)(const char *key, const void *val, size_t len, void *arg),
    void *arg)
{
	struct storage_list l;
	struct storage_entry *e;
	MDB_txn *txn;
	int rc;

	if (ev == NULL || fn == NULL)
		return -EINVAL;
	l.s = sdk_event_storage(ev);
	l.prefix = prefix != NULL ? prefix : "";
	l.prefix_len = strlen(l.prefix);
	l.fn = fn;
	l.arg = arg;
	l.started = 0;
	if (l.prefix_len > STORE_KEY_MAX - 1 - strlen(torpor_object(ev)))
		return -ENAMETOOLONG;
	if ((rc = storage_snapshot(l.s, ev, &txn)) != 0)
		return rc;
	rc = store_kv_foreach(txn, l.s->dbi, torpor_object(ev), l.prefix,
	    l.prefix_len, storage_list_step, &l);
	while (rc == 0 && (e = storage_list_next(&l)) != NULL)
		rc = storage_list_buffered(&l, e);
	return rc;
}

int
sdk_storage_commit(struct sdk_storage *s, const torpor_event *ev,
    const char **cause)
{
	const char *object = torpor_object(ev);
	struct storage_entry *e;
	MDB_txn *txn = NULL;
	size_t i;
	int rc = 0;

	if (s->nw == 0)
		goto out;
	*cause = "cannot open the state store";
	if ((rc = storage_state(s, ev)) != 0)
		goto out;
	*cause = "cannot begin the write transaction";
	if ((rc = STORE_ERR(mdb_txn_begin(s->env, NULL, 0, &txn))) != 0)
		goto out;
	*cause = "cannot write";
	for (i = 0; i < s->nw; i++) {
		e = s->w[i];
		if (e->deleted)
			rc = store_kv_del(txn, s->dbi, object, e->key,
			    e->key_len);
		else
			rc = store_kv_put(txn, s->dbi, object, e->key,
			    e->key_len, e->val, e->val_len);
		if (rc != 0)
			goto out;
	}
	*cause = "cannot commit";
	rc = STORE_ERR(mdb_txn_commit(txn));
	txn = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/* --- the object's connections, from the gateway env ------------------- */

struct storage_conns {
	struct sdk_storage	*s;
	const struct sdk_batch	*batch;
	int			(*fn)(const struct torpor_connection *c,
				    void *arg);
	void			*arg;
};

static const char *
storage_json_string(const cJSON *o, const char *name, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : def;
}

/* Decodes one registry record and passes it on; bad records are skipped. */
static int
storage_conns_step(const char *object, const char *id, const char *json,
    size_t len, void *arg)
{
	struct storage_conns *w = arg;
	struct torpor_connection c;
	const cJSON *tags, *t, *at, *list;
	const char **v;
	cJSON *rec;
	size_t n;
	int rc = 0;

	if ((rec = cJSON_ParseWithLength(json, len)) == NULL ||
	    !cJSON_IsObject(rec))
		goto out;
	memset(&c, 0, sizeof(c));
	c.id = id;
	c.attachment = storage_json_string(rec, "attachment", "");
	c.attachment_len = strlen(c.attachment);
	c.remote_addr = storage_json_string(rec, "remote", "");
	at = cJSON_GetObjectItemCaseSensitive(rec, "connectedAt");
	c.connected_at = cJSON_IsNumber(at) ? (int64_t)at->valuedouble : 0;
	tags = cJSON_GetObjectItemCaseSensitive(rec, "tags");
	n = cJSON_IsArray(tags) ? (size_t)cJSON_GetArraySize(tags) : 0;
	if (n > w->s->tags_cap) {
		if ((v = realloc(w->s->tags, n * sizeof(*v))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		w->s->tags = v;
		w->s->tags_cap = n;
	}
	list = n > 0 ? tags : NULL;
	cJSON_ArrayForEach(t, list) {
		if (cJSON_IsString(t))
			w->s->tags[c.ntags++] = t->valuestring;
	}
	c.tags = w->s->tags;
	/* What earlier events of a batch changed, as the registry would. */
	if (w->batch != NULL)
		sdk_batch_patch(w->batch, &c);
	rc = w->fn(&c, w->arg);
out:
	cJSON_Delete(rec);
	return rc;
}

/* Opens (or reopens, when the event names another one) the gateway env. */
static int
storage_gateway(struct sdk_storage *s, const torpor_event *ev)
{
	const char *path;
	int rc;

	if ((path = storage_param(ev, "TORPOR_GATEWAY_STORE")) == NULL)
		return -EINVAL;
	if (s->genv != NULL && strcmp(s->genv_path, path) == 0)
		return 0;
	storage_close_gateway(s);
	if ((s->genv_path = strdup(path)) == NULL)
		return -ENOMEM;
	if ((rc = store_gateway_open_at(path, 1, &s->genv, &s->gdbs)) != 0) {
		s->genv = NULL;
		storage_close_gateway(s);
		return rc;
	}
	return 0;
}

int
torpor_connections(torpor_event *ev,
    int (*fn)(const struct torpor_connection *c, void *arg), void *arg)
{
	struct storage_conns w;
	int rc;

	if (ev == NULL || fn == NULL)
		return -EINVAL;
	w.s = sdk_event_storage(ev);
	w.batch = sdk_event_batch(ev);
	w.fn = fn;
	w.arg = arg;
	if ((rc = storage_gateway(w.s, ev)) != 0)
		return rc;
	if (w.s->gtxn != NULL)
		rc = mdb_txn_renew(w.s->gtxn);
	else
		rc = mdb_txn_begin(w.s->genv, NULL, MDB_RDONLY, &w.s->gtxn);
	if (rc != 0)
		return STORE_ERR(rc);
	rc = store_conn_foreach(w.s->gtxn, &w.s->gdbs, torpor_object(ev),
	    storage_conns_step, &w);
	/* The gateway's pages are not pinned beyond this call. */
	mdb_txn_reset(w.s->gtxn);
	return rc;
}
