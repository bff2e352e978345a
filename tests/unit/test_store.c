/*
 * Unit tests for store/: key encoding, the state env's key/values, the
 * gateway env's records (alarms with their time index, event ids,
 * connections), read-only opens and permission errors. Every test works
 * in a fresh directory under $TMPDIR, removed at the end.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"

static char tmpdir[256];
static const char *self_path = "/proc/self/exe";	/* to run --reader */

/* Collects what a walk saw as "a=1,b=2," text, easy to compare. */
struct seen {
	char	text[1024];
	int	count;
	int	stop_at;	/* stop (return 7) after this many, 0 = never */
};

static void
seen_add(struct seen *s, const char *k, size_t klen, const char *v,
    size_t vlen)
{
	size_t used = strlen(s->text);

	snprintf(s->text + used, sizeof(s->text) - used, "%.*s=%.*s,",
	    (int)klen, k, (int)vlen, v);
	s->count++;
}

static int
kv_seen(const void *key, size_t key_len, const void *val, size_t val_len,
    void *arg)
{
	struct seen *s = arg;

	seen_add(s, key, key_len, val, val_len);
	return s->stop_at != 0 && s->count >= s->stop_at ? 7 : 0;
}

static int
alarm_seen(const char *object, int64_t at_ms, void *arg)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)at_ms);
	seen_add(arg, object, strlen(object), v, strlen(v));
	return 0;
}

static int
conn_seen(const char *object, const char *id, const char *json, size_t len,
    void *arg)
{
	char k[256];

	snprintf(k, sizeof(k), "%s/%s", object, id);
	seen_add(arg, k, strlen(k), json, len);
	return 0;
}

static void
test_keys(void)
{
	char out[STORE_KEY_MAX + 16], big[STORE_KEY_MAX + 2];
	const char *obj;
	const void *key;
	size_t olen, klen;
	uint8_t be[8], be2[8];
	int n;

	n = store_key_encode(out, sizeof(out), "room", 4, "k1", 2);
	ok(n == 7 && memcmp(out, "room\0k1", 7) == 0, "encode room/k1");
	ok(store_key_decode(out, (size_t)n, &obj, &olen, &key, &klen) == 0 &&
	    olen == 4 && memcmp(obj, "room", 4) == 0 && klen == 2 &&
	    memcmp(key, "k1", 2) == 0, "decode round trip");
	n = store_key_encode(out, sizeof(out), "room", 4, "a\0b", 3);
	ok(n == 8 && store_key_decode(out, (size_t)n, &obj, &olen, &key,
	    &klen) == 0 && olen == 4 && klen == 3 &&
	    memcmp(key, "a\0b", 3) == 0, "user key may hold NUL bytes");
	n = store_key_encode(out, sizeof(out), "room", 4, NULL, 0);
	ok(n == 5 && memcmp(out, "room\0", 5) == 0, "empty user key: prefix");
	ok(store_key_encode(out, sizeof(out), "", 0, "k", 1) == -EINVAL,
	    "empty object refused");
	ok(store_key_encode(out, sizeof(out), "ro\0m", 4, "k", 1) == -EINVAL,
	    "object containing the separator refused");

	memset(big, 'x', sizeof(big));
	ok(store_key_encode(out, sizeof(out), big, STORE_KEY_MAX - 2, "k",
	    1) == STORE_KEY_MAX, "key of exactly STORE_KEY_MAX accepted");
	ok(store_key_encode(out, sizeof(out), big, STORE_KEY_MAX - 1, "k",
	    1) == -ENAMETOOLONG, "STORE_KEY_MAX + 1 refused");
	ok(store_key_encode(out, 6, "room", 4, "k1", 2) == -ENAMETOOLONG,
	    "output buffer too small refused");

	ok(store_key_decode("room", 4, &obj, &olen, &key, &klen) == -EINVAL,
	    "decode without separator fails");
	ok(store_key_decode("\0k", 2, &obj, &olen, &key, &klen) == -EINVAL,
	    "decode with empty object fails");
	ok(store_key_decode("r\0", 2, &obj, &olen, &key, &klen) == 0 &&
	    klen == 0, "decode with empty user key");

	store_u64_encode(be, 0x0102030405060708ULL);
	ok(memcmp(be, "\1\2\3\4\5\6\7\10", 8) == 0, "u64 is big-endian");
	ok(store_u64_decode(be) == 0x0102030405060708ULL, "u64 round trip");
	store_u64_encode(be, 255);
	store_u64_encode(be2, 256);
	ok(memcmp(be, be2, 8) < 0, "u64 encodings sort by value");
}

static void
test_misc(void)
{
	enum store_durability d;
	char out[16];

	ok(store_parse_durability("group", &d) == 0 &&
	    d == STORE_DURABILITY_GROUP, "parse durability group");
	ok(store_parse_durability("fast", &d) == -EINVAL, "bad durability");
	ok(strcmp(store_durability_name(STORE_DURABILITY_NONE), "none") == 0,
	    "durability name");
	ok(store_env_flags(STORE_DURABILITY_FULL) == 0 &&
	    store_env_flags(STORE_DURABILITY_GROUP) == MDB_NOSYNC,
	    "env flags by durability");
	ok(store_path(out, sizeof(out), "/a", "state") == 0 &&
	    strcmp(out, "/a/state") == 0, "store_path");
	ok(store_path(out, sizeof(out), "/a/long/dir", "gateway") ==
	    -ENAMETOOLONG, "store_path overflow");
	ok(strstr(store_strerror(MDB_NOTFOUND), "NOTFOUND") != NULL,
	    "strerror of an MDB code");
	ok(strcmp(store_strerror(-ENOENT), strerror(ENOENT)) == 0,
	    "strerror of -errno");
}

static void
test_kv(void)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct stat st;
	struct seen s;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val v;
	int rc;

	snprintf(dir, sizeof(dir), "%s/new/parents", tmpdir);
	rc = store_state_open(dir, STORE_DURABILITY_NONE, &env, &dbi);
	ok(rc == 0, "state env opened, parents created (%s)",
	    store_strerror(rc));
	if (rc != 0)
		return;
	store_path(sub, sizeof(sub), dir, STORE_STATE_SUBDIR);
	ok(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "state dir has mode 0700");
	ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "missing parent created with mode 0700");

	mdb_txn_begin(env, NULL, 0, &txn);
	ok(store_kv_put(txn, dbi, "a", "x", 1, "a-x", 3) == 0, "put a/x");
	store_kv_put(txn, dbi, "a", "y1", 2, "a-y1", 4);
	store_kv_put(txn, dbi, "a", "y2", 2, "a-y2", 4);
	store_kv_put(txn, dbi, "ab", "x", 1, "ab-x", 4);
	store_kv_put(txn, dbi, "ab", "y1", 2, "ab-y1", 5);
	store_kv_put(txn, dbi, "b", "", 0, "b-empty", 7);
	ok(mdb_txn_commit(txn) == 0, "commit");

	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	ok(store_kv_get(txn, dbi, "a", "y1", 2, &v) == 0 && v.mv_size == 4 &&
	    memcmp(v.mv_data, "a-y1", 4) == 0, "get a/y1");
	ok(store_kv_get(txn, dbi, "a", "zz", 2, &v) == MDB_NOTFOUND,
	    "get absent key: MDB_NOTFOUND");
	ok(store_kv_get(txn, dbi, "ab", "y2", 2, &v) == MDB_NOTFOUND,
	    "objects do not share keys");

	memset(&s, 0, sizeof(s));
	ok(store_kv_foreach(txn, dbi, "a", "", 0, kv_seen, &s) == 0 &&
	    strcmp(s.text, "x=a-x,y1=a-y1,y2=a-y2,") == 0,
	    "foreach a: only a's keys, in order (%s)", s.text);
	memset(&s, 0, sizeof(s));
	store_kv_foreach(txn, dbi, "ab", NULL, 0, kv_seen, &s);
	ok(strcmp(s.text, "x=ab-x,y1=ab-y1,") == 0,
	    "foreach ab: not a's (%s)", s.text);
	memset(&s, 0, sizeof(s));
	store_kv_foreach(txn, dbi, "a", "y", 1, kv_seen, &s);
	ok(strcmp(s.text, "y1=a-y1,y2=a-y2,") == 0, "foreach a prefix y (%s)",
	    s.text);
	memset(&s, 0, sizeof(s));
	store_kv_foreach(txn, dbi, "a", "q", 1, kv_seen, &s);
	ok(s.count == 0, "foreach with a prefix matching nothing");
	memset(&s, 0, sizeof(s));
	store_kv_foreach(txn, dbi, "zzz", "", 0, kv_seen, &s);
	ok(s.count == 0, "foreach past the last object");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	ok(store_kv_foreach(txn, dbi, "a", "", 0, kv_seen, &s) == 7 &&
	    s.count == 2, "foreach stops with fn's value");
	memset(&s, 0, sizeof(s));
	store_kv_foreach(txn, dbi, "b", "", 0, kv_seen, &s);
	ok(strcmp(s.text, "=b-empty,") == 0, "empty user key listed");
	mdb_txn_abort(txn);

	mdb_txn_begin(env, NULL, 0, &txn);
	ok(store_kv_del(txn, dbi, "a", "y1", 2) == 0, "del a/y1");
	ok(store_kv_del(txn, dbi, "a", "nope", 4) == 0, "del absent: 0");
	ok(store_kv_put(txn, dbi, "", "k", 1, "v", 1) == -EINVAL,
	    "put with empty object refused");
	mdb_txn_commit(txn);
	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	memset(&s, 0, sizeof(s));
	store_kv_foreach(txn, dbi, "a", "", 0, kv_seen, &s);
	ok(strcmp(s.text, "x=a-x,y2=a-y2,") == 0, "deleted key gone (%s)",
	    s.text);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

static int
count_entries(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;

	if (mdb_stat(txn, dbi, &st) != 0)
		return -1;
	return (int)st.ms_entries;
}

static void
test_gateway(void)
{
	struct store_gateway_dbs dbs, rdbs;
	MDB_env *env = NULL, *renv = NULL;
	MDB_txn *txn = NULL;
	struct seen s;
	int64_t at;
	uint64_t id;
	pid_t pid;
	int rc, status;

	rc = store_gateway_open(tmpdir, 0, &env, &dbs);
	ok(rc == 0, "gateway env opened (%s)", store_strerror(rc));
	if (rc != 0)
		return;

	mdb_txn_begin(env, NULL, 0, &txn);
	ok(store_alarm_put(txn, &dbs, "room-a", 300) == 0, "alarm a 300");
	store_alarm_put(txn, &dbs, "room-b", 100);
	store_alarm_put(txn, &dbs, "room-c", 200);
	memset(&s, 0, sizeof(s));
	store_alarm_foreach(txn, &dbs, alarm_seen, &s);
	ok(strcmp(s.text, "room-b=100,room-c=200,room-a=300,") == 0,
	    "alarms in time order (%s)", s.text);
	ok(store_alarm_put(txn, &dbs, "room-a", 50) == 0, "replace a: 50");
	memset(&s, 0, sizeof(s));
	store_alarm_foreach(txn, &dbs, alarm_seen, &s);
	ok(strcmp(s.text, "room-a=50,room-b=100,room-c=200,") == 0,
	    "replaced alarm moved, old time entry gone (%s)", s.text);
	ok(count_entries(txn, dbs.alarm_times) == 3 &&
	    count_entries(txn, dbs.alarms) == 3, "one index entry per alarm");
	ok(store_alarm_get(txn, &dbs, "room-a", &at) == 0 && at == 50,
	    "alarm get");
	ok(store_alarm_del(txn, &dbs, "room-b") == 0, "alarm del");
	ok(store_alarm_get(txn, &dbs, "room-b", &at) == MDB_NOTFOUND,
	    "deleted alarm: MDB_NOTFOUND");
	ok(count_entries(txn, dbs.alarm_times) == 2, "index entry deleted");
	ok(store_alarm_del(txn, &dbs, "room-b") == 0, "del absent alarm: 0");
	ok(store_alarm_put(txn, &dbs, "room-x", -5) == -EINVAL,
	    "negative alarm refused");

	ok(store_event_id_get(txn, &dbs, "room-a", &id) == MDB_NOTFOUND,
	    "no event id yet");
	ok(store_event_id_put(txn, &dbs, "room-a", 41) == 0 &&
	    store_event_id_put(txn, &dbs, "room-a", 42) == 0, "event id put");
	ok(store_event_id_get(txn, &dbs, "room-a", &id) == 0 && id == 42,
	    "event id get");

	ok(store_conn_put(txn, &dbs, "r", "id2", "{\"id\":\"id2\"}", 12) == 0,
	    "conn put");
	store_conn_put(txn, &dbs, "r", "id1", "{}", 2);
	store_conn_put(txn, &dbs, "r2", "id3", "{3}", 3);
	store_conn_put(txn, &dbs, "q", "id4", "{4}", 3);
	memset(&s, 0, sizeof(s));
	store_conn_foreach(txn, &dbs, "r", conn_seen, &s);
	ok(strcmp(s.text, "r/id1={},r/id2={\"id\":\"id2\"},") == 0,
	    "connections of r only (%s)", s.text);
	memset(&s, 0, sizeof(s));
	store_conn_foreach(txn, &dbs, NULL, conn_seen, &s);
	ok(strcmp(s.text, "q/id4={4},r/id1={},r/id2={\"id\":\"id2\"},"
	    "r2/id3={3},") == 0, "connections of all objects (%s)", s.text);
	ok(store_conn_del(txn, &dbs, "r", "id1") == 0 &&
	    store_conn_del(txn, &dbs, "r", "id1") == 0, "conn del, twice");
	memset(&s, 0, sizeof(s));
	store_conn_foreach(txn, &dbs, "r", conn_seen, &s);
	ok(s.count == 1, "deleted connection gone");
	ok(store_conn_put(txn, &dbs, "r", "", "{}", 2) == -EINVAL,
	    "empty connection id refused");
	ok(mdb_txn_commit(txn) == 0, "gateway commit");

	/*
	 * The second handle lives in a fresh process (this program run
	 * again): LMDB forbids opening one env twice in a process, and a
	 * forked child would inherit the writer's env.
	 */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(self_path, self_path, "--reader", tmpdir, (char *)NULL);
		_exit(127);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0,
	    "read-only second handle sees committed writes, cannot write");
	mdb_env_close(env);

	snprintf(tmpdir + strlen(tmpdir), 8, "/none");
	rc = store_gateway_open(tmpdir, 1, &renv, &rdbs);
	ok(rc == -ENOENT, "read-only open of a missing env: -ENOENT (%s)",
	    store_strerror(rc));
	tmpdir[strlen(tmpdir) - 5] = '\0';
	ok(access(tmpdir, F_OK) == 0, "read-only open created nothing");
}

/* The --reader process of test_gateway: 0 when all checks pass. */
static int
reader_main(const char *dir)
{
	struct store_gateway_dbs dbs;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	struct seen s;
	int64_t at = 0;
	int good = 1;

	if (store_gateway_open(dir, 1, &env, &dbs) != 0)
		return 2;
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0) {
		mdb_env_close(env);
		return 3;
	}
	memset(&s, 0, sizeof(s));
	store_conn_foreach(txn, &dbs, "r", conn_seen, &s);
	good &= strcmp(s.text, "r/id2={\"id\":\"id2\"},") == 0;
	good &= store_alarm_get(txn, &dbs, "room-a", &at) == 0 && at == 50;
	good &= store_conn_del(txn, &dbs, "r", "id2") != 0;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return good ? 0 : 4;
}

static void
test_eacces(void)
{
	char dir[PATH_MAX];
	MDB_env *env = NULL;
	MDB_dbi dbi;
	int rc;

	snprintf(dir, sizeof(dir), "%s/locked", tmpdir);
	mkdir(dir, 0500);
	rc = store_state_open(dir, STORE_DURABILITY_FULL, &env, &dbi);
	if (geteuid() == 0)
		ok(1, "unwritable dir # SKIP root bypasses permissions");
	else
		ok(rc == -EACCES, "unwritable dir: -EACCES (%s)",
		    store_strerror(rc));
	if (rc == 0)
		mdb_env_close(env);
	chmod(dir, 0700);
}

int
main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	char cmd[PATH_MAX + 16];

	if (argc == 3 && strcmp(argv[1], "--reader") == 0)
		return reader_main(argv[2]);
	if (argc > 0 && strchr(argv[0], '/') != NULL)
		self_path = argv[0];

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_store.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_keys();
	test_misc();
	test_kv();
	test_gateway();
	test_eacces();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
