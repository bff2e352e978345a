/*
 * registry: connections by id (uthash), linked into their object's list,
 * and mirrored into the gateway env. Dirty conns are collected on a list
 * and written in one transaction per flush, so a burst of attachment
 * changes costs one commit, not one per message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cjson/cJSON.h>
#include <uthash.h>

#include "buf.h"
#include "log.h"
#include "object.h"
#include "registry.h"
#include "xmalloc.h"

struct conn {
	struct registry	*reg;
	char		 id[CONN_ID_LEN + 1];
	struct object	*obj;
	char		*attachment;
	size_t		 attachment_len;
	char		**tags;
	size_t		 ntags;
	char		*tags_joined;
	char		*remote;
	char		*uri;
	int		 refused;
	int		 accepted;
	int64_t		 connected_at;
	int		 open;
	int		 refs;
	int		 dirty;		/* on reg->dirty, needs a put */
	int		 removed;	/* on reg->dirty, needs a delete */
	void		*server_data;
	struct conn	*obj_next;
	struct conn	*obj_prev;
	struct conn	*dirty_next;
	UT_hash_handle	 hh;
};

/* Open connections per client address, for --max-connections-per-ip. */
struct remote_count {
	char		*addr;
	size_t		 n;
	UT_hash_handle	 hh;
};

static void	registry_remote_add(struct registry *, const char *, int);

struct registry {
	struct remote_count		*remotes;
	MDB_env				*env;
	const struct store_gateway_dbs	*dbs;
	struct conn			*by_id;
	size_t				 count;
	struct conn			*dirty;
	struct buf			 record;	/* reused */
	uint8_t				 rnd[256];
	size_t				 rnd_left;
};

struct registry *
registry_create(MDB_env *env, const struct store_gateway_dbs *dbs)
{
	struct registry	*reg = xcalloc(1, sizeof *reg);

	reg->env = env;
	reg->dbs = dbs;
	return reg;
}

static void
conn_free(struct conn *c)
{
	size_t	i;

	for (i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	free(c->tags_joined);
	free(c->attachment);
	free(c->remote);
	free(c->uri);
	free(c);
}

void
registry_free(struct registry *reg)
{
	struct conn	*c, *tmp;

	struct remote_count	*rc, *rtmp;

	if (reg == NULL)
		return;
	/* changes never written (a stop): the list holds a reference each */
	while ((c = reg->dirty) != NULL) {
		reg->dirty = c->dirty_next;
		c->dirty = c->removed = 0;
		if (c->open)
			c->refs--;	/* freed below, from the table */
		else
			conn_unref(c);
	}
	HASH_ITER(hh, reg->by_id, c, tmp) {
		HASH_DEL(reg->by_id, c);
		conn_free(c);
	}
	HASH_ITER(hh, reg->remotes, rc, rtmp) {
		HASH_DEL(reg->remotes, rc);
		free(rc->addr);
		free(rc);
	}
	buf_free(&reg->record);
	free(reg);
}

/*
 * Random bytes from a small pool refilled by getrandom(2), which never
 * blocks once the kernel pool is ready.
 */
static void
registry_random(struct registry *reg, uint8_t *out, size_t n)
{
	ssize_t	got;

	if (reg->rnd_left < n) {
		got = getrandom(reg->rnd, sizeof reg->rnd, GRND_NONBLOCK);
		if (got != (ssize_t)sizeof reg->rnd)
			fatal("getrandom failed: %s", strerror(errno));
		reg->rnd_left = sizeof reg->rnd;
	}
	memcpy(out, reg->rnd + sizeof reg->rnd - reg->rnd_left, n);
	reg->rnd_left -= n;
}

static void
registry_uuid(struct registry *reg, char out[CONN_ID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 b[16];
	size_t			 i, o = 0;

	registry_random(reg, b, sizeof b);
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0xf];
	}
	out[o] = '\0';
}

static void
registry_mark(struct conn *c)
{
	if (c->dirty || c->removed)
		return;
	c->dirty = 1;
	conn_ref(c);
	c->dirty_next = c->reg->dirty;
	c->reg->dirty = c;
}

struct conn *
registry_add(struct registry *reg, struct object *obj,
    const char *remote, int64_t now_ms)
{
	struct conn	*c = xcalloc(1, sizeof *c), **head;

	c->reg = reg;
	do {
		registry_uuid(reg, c->id);
	} while (registry_find(reg, c->id) != NULL);
	c->obj = obj;
	c->remote = xstrdup(remote != NULL ? remote : "");
	c->connected_at = now_ms;
	c->tags_joined = xstrdup("");
	c->open = 1;
	c->refs = 1;
	HASH_ADD_STR(reg->by_id, id, c);
	reg->count++;
	registry_remote_add(reg, c->remote, 1);
	head = object_conn_head(obj);
	c->obj_next = *head;
	if (*head != NULL)
		(*head)->obj_prev = c;
	*head = c;
	object_conn_count_add(obj, 1);
	registry_mark(c);
	return c;
}

struct conn *
registry_find(struct registry *reg, const char *id)
{
	struct conn	*c;

	HASH_FIND_STR(reg->by_id, id, c);
	return c;
}

size_t
registry_count(const struct registry *reg)
{
	return reg->count;
}

size_t
registry_count_remote(const struct registry *reg, const char *remote)
{
	struct remote_count	*rc;

	HASH_FIND_STR(reg->remotes, remote, rc);
	return rc != NULL ? rc->n : 0;
}

static void
registry_remote_add(struct registry *reg, const char *remote, int delta)
{
	struct remote_count	*rc;

	HASH_FIND_STR(reg->remotes, remote, rc);
	if (rc == NULL) {
		if (delta < 0)
			return;
		rc = xcalloc(1, sizeof *rc);
		rc->addr = xstrdup(remote);
		HASH_ADD_KEYPTR(hh, reg->remotes, rc->addr, strlen(rc->addr),
		    rc);
	}
	if (delta < 0 && rc->n > 0)
		rc->n--;
	else if (delta > 0)
		rc->n++;
	if (rc->n == 0) {
		HASH_DEL(reg->remotes, rc);
		free(rc->addr);
		free(rc);
	}
}

void
registry_hold_remote(struct registry *reg, const char *remote, int delta)
{
	registry_remote_add(reg, remote, delta);
}

/* Appends s as a JSON string: quotes, backslashes and controls escaped. */
static void
record_str(struct buf *b, const char *s, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, run = 0;
	unsigned char		c;

	buf_append_byte(b, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			buf_append_byte(b, '\\');
			buf_append_byte(b, c);
		} else {
			buf_append_str(b, "\\u00");
			buf_append_byte(b, (uint8_t)hex[c >> 4]);
			buf_append_byte(b, (uint8_t)hex[c & 15]);
		}
	}
	buf_append(b, s + run, n - run);
	buf_append_byte(b, '"');
}

/*
 * The connection's record for the gateway env (doc/PROTOCOL.md 8.3),
 * built by hand into a reused buffer: it is written for every attachment
 * change, so once per message of an app like the reference one.
 */
static void
conn_record(const struct conn *c, struct buf *b)
{
	size_t	i;

	buf_reset(b);
	buf_append_str(b, "{\"id\":");
	record_str(b, c->id, strlen(c->id));
	buf_append_str(b, ",\"tags\":[");
	for (i = 0; i < c->ntags; i++) {
		if (i > 0)
			buf_append_byte(b, ',');
		record_str(b, c->tags[i], strlen(c->tags[i]));
	}
	buf_append_str(b, "],\"attachment\":");
	record_str(b, c->attachment != NULL ? c->attachment : "",
	    c->attachment_len);
	buf_append_str(b, ",\"remote\":");
	record_str(b, c->remote, strlen(c->remote));
	buf_printf(b, ",\"connectedAt\":%lld}", (long long)c->connected_at);
}

int
registry_flush(struct registry *reg)
{
	struct conn	*c;
	MDB_txn		*txn = NULL;
	int		 rc = 0;

	if (reg->dirty == NULL || reg->env == NULL)
		return 0;
	rc = mdb_txn_begin(reg->env, NULL, 0, &txn);
	if (rc != 0) {
		rc = STORE_ERR(rc);
		goto out;
	}
	while ((c = reg->dirty) != NULL) {
		reg->dirty = c->dirty_next;
		if (c->open && c->accepted) {
			conn_record(c, &reg->record);
			rc = store_conn_put(txn, reg->dbs, object_name(c->obj),
			    c->id, (const char *)buf_head(&reg->record),
			    buf_size(&reg->record));
		} else if (!c->open)
			rc = store_conn_del(txn, reg->dbs, object_name(c->obj),
			    c->id);
		c->dirty = c->removed = 0;
		conn_unref(c);
		if (rc != 0)
			goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		rc = STORE_ERR(rc);
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0)
		log_error("registry mirror write failed: %s",
		    store_strerror(rc));
	return rc;
}

struct replay_item {
	char			*object;
	char			*id;
	char			*json;
	size_t			 len;
	struct replay_item	*next;
};

static int
registry_replay_collect(const char *object, const char *id,
    const char *json, size_t len, void *arg)
{
	struct replay_item	**list = arg, *it = xcalloc(1, sizeof *it);

	it->object = xstrdup(object);
	it->id = xstrdup(id);
	it->json = xmemdup(json, len);
	it->len = len;
	it->next = *list;
	*list = it;
	return 0;
}

int
registry_replay(struct registry *reg,
    void (*fn)(const char *, const char *, const char *, size_t, void *),
    void *arg)
{
	struct replay_item	*list = NULL, *it;
	MDB_txn			*txn = NULL;
	int			 rc;

	/* collect and drop first: fn opens transactions of its own */
	rc = mdb_txn_begin(reg->env, NULL, 0, &txn);
	if (rc != 0) {
		rc = STORE_ERR(rc);
		goto out;
	}
	rc = store_conn_foreach(txn, reg->dbs, NULL, registry_replay_collect,
	    &list);
	if (rc != 0)
		goto out;
	rc = mdb_drop(txn, reg->dbs->connections, 0);
	if (rc != 0) {
		rc = STORE_ERR(rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		rc = STORE_ERR(rc);
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	while ((it = list) != NULL) {
		list = it->next;
		if (rc == 0)
			fn(it->object, it->id, it->json, it->len, arg);
		free(it->object);
		free(it->id);
		free(it->json);
		free(it);
	}
	return rc;
}

void
registry_adopt_record(struct conn *c, const char *id, const char *json,
    size_t len)
{
	cJSON	*root, *v, *t;
	char	*tags[16];
	size_t	 n = 0;

	if (strlen(id) == CONN_ID_LEN && registry_find(c->reg, id) == NULL) {
		HASH_DEL(c->reg->by_id, c);
		memcpy(c->id, id, CONN_ID_LEN + 1);
		HASH_ADD_STR(c->reg->by_id, id, c);
	}
	root = cJSON_ParseWithLength(json, len);
	if (root == NULL)
		return;
	v = cJSON_GetObjectItemCaseSensitive(root, "attachment");
	if (cJSON_IsString(v))
		conn_set_attachment(c, v->valuestring, strlen(v->valuestring));
	v = cJSON_GetObjectItemCaseSensitive(root, "remote");
	if (cJSON_IsString(v)) {
		registry_remote_add(c->reg, c->remote, -1);
		free(c->remote);
		c->remote = xstrdup(v->valuestring);
		registry_remote_add(c->reg, c->remote, 1);
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "connectedAt");
	if (cJSON_IsNumber(v))
		c->connected_at = (int64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(root, "tags");
	cJSON_ArrayForEach(t, v) {
		if (cJSON_IsString(t) && n < sizeof tags / sizeof tags[0])
			tags[n++] = t->valuestring;
	}
	if (n > 0)
		conn_set_tags(c, tags, n);
	cJSON_Delete(root);
}

void
conn_detach(struct conn *c)
{
	struct conn	**head;

	if (!c->open)
		return;
	c->open = 0;
	HASH_DEL(c->reg->by_id, c);
	c->reg->count--;
	registry_remote_add(c->reg, c->remote, -1);
	head = object_conn_head(c->obj);
	if (c->obj_prev != NULL)
		c->obj_prev->obj_next = c->obj_next;
	else
		*head = c->obj_next;
	if (c->obj_next != NULL)
		c->obj_next->obj_prev = c->obj_prev;
	c->obj_next = c->obj_prev = NULL;
	object_conn_count_add(c->obj, -1);
	if (!c->dirty) {
		c->removed = 1;
		conn_ref(c);
		c->dirty_next = c->reg->dirty;
		c->reg->dirty = c;
	}
	conn_unref(c);
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	conn_free(c);
}

const char *
conn_id(const struct conn *c)
{
	return c->id;
}

struct object *
conn_object(const struct conn *c)
{
	return c->obj;
}

int
conn_is_open(const struct conn *c)
{
	return c->open;
}

const char *
conn_remote(const struct conn *c)
{
	return c->remote;
}

const char *
conn_attachment(const struct conn *c, size_t *len)
{
	if (len != NULL)
		*len = c->attachment_len;
	return c->attachment != NULL ? c->attachment : "";
}

const char *
conn_tags(const struct conn *c)
{
	return c->tags_joined;
}

int
conn_has_tag(const struct conn *c, const char *tag)
{
	size_t	i;

	for (i = 0; i < c->ntags; i++)
		if (strcmp(c->tags[i], tag) == 0)
			return 1;
	return 0;
}

void
conn_set_attachment(struct conn *c, const char *v, size_t len)
{
	if (c->attachment_len == len && c->attachment != NULL &&
	    memcmp(c->attachment, v, len) == 0)
		return;	/* unchanged: no mirror write */
	free(c->attachment);
	c->attachment = xmalloc(len + 1);
	memcpy(c->attachment, v, len);
	c->attachment[len] = '\0';
	c->attachment_len = len;
	if (c->open)
		registry_mark(c);
}

void
conn_set_tags(struct conn *c, char *const *tags, size_t n)
{
	size_t	i, total = 1;

	for (i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	free(c->tags_joined);
	c->tags = n > 0 ? xcalloc(n, sizeof *c->tags) : NULL;
	for (i = 0; i < n; i++) {
		c->tags[i] = xstrdup(tags[i]);
		total += strlen(tags[i]) + 1;
	}
	c->ntags = n;
	c->tags_joined = xcalloc(1, total);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(c->tags_joined, ",");
		strcat(c->tags_joined, tags[i]);
	}
	if (c->open)
		registry_mark(c);
}

const char *
conn_uri(const struct conn *c)
{
	return c->uri != NULL ? c->uri : "/";
}

void
conn_set_uri(struct conn *c, const char *uri)
{
	free(c->uri);
	c->uri = xstrdup(uri);
}

int
conn_accepted(const struct conn *c)
{
	return c->accepted;
}

void
conn_set_accepted(struct conn *c)
{
	if (c->accepted)
		return;
	c->accepted = 1;
	if (c->open)
		registry_mark(c);
}

int
conn_refused(const struct conn *c)
{
	return c->refused;
}

void
conn_set_refused(struct conn *c)
{
	c->refused = 1;
}

void *
conn_server_data(struct conn *c)
{
	return c->server_data;
}

void
conn_set_server_data(struct conn *c, void *p)
{
	c->server_data = p;
}

struct conn *
conn_first_of(struct object *obj)
{
	return *object_conn_head(obj);
}

struct conn *
conn_next_of(struct conn *c)
{
	return c->obj_next;
}
