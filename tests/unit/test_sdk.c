/*
 * Unit tests for libtorpor without FastCGI: the event decoder, the write
 * buffer (read-your-writes, list merge, commit and discard), the response
 * encoder (header form or JSON, byte for byte), requests run end to end
 * through torpor_process, and batches: their decoding, the changes one
 * event leaves for the next, the rollback of a failed event and the batch
 * response. The SDK's .c files are included so that the hidden sdk_*
 * functions are reachable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../handler/sdk_event.c"
#include "../../handler/sdk_actions.c"
#include "../../handler/sdk_storage.c"
#include "../../handler/sdk_batch.c"
#include "../../handler/torpor.c"
#include "tap.h"

static char tmpdir[256];
static char state_param[300];
static char gateway_param[300];
static struct torpor_sdk sdk;

/* Decodes a request made of the common params plus extra ones. */
static int
load(const char *event, const char *object, char **extra, const void *body,
    size_t body_len)
{
	static char ev_param[64], obj_param[600];
	static char *envp[32];
	const char *cause = NULL;
	size_t n = 0;
	char *buf;
	int rc;

	snprintf(ev_param, sizeof(ev_param), "TORPOR_EVENT=%s", event);
	snprintf(obj_param, sizeof(obj_param), "TORPOR_OBJECT=%s", object);
	envp[n++] = ev_param;
	envp[n++] = obj_param;
	envp[n++] = state_param;
	envp[n++] = gateway_param;
	envp[n++] = "TORPOR_DURABILITY=none";
	while (extra != NULL && *extra != NULL && n < 31)
		envp[n++] = *extra++;
	envp[n] = NULL;
	if (sdk_event_body_reserve(sdk.ev, body_len, &buf) != 0)
		return -ENOMEM;
	memcpy(buf, body, body_len);
	if ((rc = sdk_event_load(sdk.ev, envp, body_len, &cause)) != 0)
		return rc;
	return sdk_event_select(sdk.ev, 0, &cause);
}

static int
load_message(const char *object)
{
	static char *extra[] = { "TORPOR_CONNECTION=c1", "TORPOR_FRAME=text",
	    NULL };

	return load("message", object, extra, "", 0);
}

/* Ends the event the way torpor_serve does. */
static void
finish(void)
{
	sdk_storage_end(sdk.storage);
	torpor_forget(&sdk);
}

/* Encodes the queued actions and compares with want, byte for byte. */
static int
encodes_as(const char *want, size_t want_len)
{
	const char *out;
	size_t len;

	if (sdk_actions_encode(sdk.actions, &out, &len) != 0)
		return 0;
	if (len != want_len || memcmp(out, want, len) != 0) {
		printf("# got  [%.*s]\n# want [%.*s]\n", (int)len, out,
		    (int)want_len, want);
		return 0;
	}
	return 1;
}

#define ENCODES_AS(s)	encodes_as(s, sizeof(s) - 1)

static void
test_event(void)
{
	static char *extra[] = { "TORPOR_CONNECTION=c1", "TORPOR_TAGS=a,,b",
	    "TORPOR_ATTACHMENT={\"x\":1}", "TORPOR_FRAME=binary",
	    "TORPOR_CONNECTIONS=3", "TORPOR_EVENT_ID=42", NULL };
	static char *close_extra[] = { "TORPOR_CONNECTION=c1",
	    "TORPOR_CLOSE_CLEAN=1", NULL };
	static char *alarm_extra[] = { "TORPOR_ALARM=1764355200000",
	    "TORPOR_ALARM_RETRY=2", NULL };
	const char *p;
	size_t len;

	ok(load("message", "room", extra, "a\0b", 3) == 0, "message decoded");
	ok(torpor_event_type(sdk.ev) == TORPOR_EVENT_MESSAGE &&
	    strcmp(torpor_object(sdk.ev), "room") == 0 &&
	    strcmp(torpor_connection_id(sdk.ev), "c1") == 0,
	    "type, object, id");
	p = torpor_payload(sdk.ev, &len);
	ok(len == 3 && memcmp(p, "a\0b", 3) == 0 && p[3] == '\0',
	    "payload is binary-safe and NUL-terminated");
	ok(torpor_is_binary(sdk.ev) == 1, "binary frame");
	ok(torpor_tag_count(sdk.ev) == 2 &&
	    strcmp(torpor_tag(sdk.ev, 0), "a") == 0 &&
	    strcmp(torpor_tag(sdk.ev, 1), "b") == 0 &&
	    torpor_tag(sdk.ev, 2) == NULL, "tags split at commas");
	p = torpor_attachment(sdk.ev, &len);
	ok(len == 7 && strcmp(p, "{\"x\":1}") == 0, "attachment");
	ok(torpor_connection_count(sdk.ev) == 3 &&
	    torpor_event_id(sdk.ev) == 42, "connections and event id");
	ok(torpor_alarm(sdk.ev) == -1, "no TORPOR_ALARM: -1");
	ok(torpor_close_code(sdk.ev) == 1005 &&
	    strcmp(torpor_close_reason(sdk.ev), "") == 0,
	    "close code defaults to 1005");
	ok(strcmp(torpor_param(sdk.ev, "TORPOR_EVENT_ID"), "42") == 0 &&
	    torpor_param(sdk.ev, "HTTP_NOPE") == NULL, "torpor_param");
	finish();

	ok(load("close", "room", close_extra, "", 0) == 0 &&
	    torpor_close_clean(sdk.ev) == 1 &&
	    torpor_close_code(sdk.ev) == 1005 &&
	    torpor_tag_count(sdk.ev) == 0 &&
	    strcmp(torpor_attachment(sdk.ev, NULL), "") == 0,
	    "close event without code, tags, attachment");
	finish();
	ok(load("alarm", "room", alarm_extra, "", 0) == 0 &&
	    torpor_event_type(sdk.ev) == TORPOR_EVENT_ALARM &&
	    torpor_alarm(sdk.ev) == 1764355200000LL &&
	    torpor_alarm_retry(sdk.ev) == 2 &&
	    torpor_connection_id(sdk.ev) == NULL, "alarm event");
	finish();
	ok(load("wakeup", "room", NULL, "", 0) == -ENOTSUP,
	    "unknown event type: -ENOTSUP");
	finish();
	ok(load("message", "", NULL, "", 0) == -EBADMSG,
	    "empty object: -EBADMSG");
	finish();
}

/* Collects "key=value," pairs from torpor_list. */
struct listed {
	char	text[512];
	int	n;
	int	stop_at;
};

static int
list_cb(const char *key, const void *val, size_t len, void *arg)
{
	struct listed *l = arg;
	size_t used = strlen(l->text);

	snprintf(l->text + used, sizeof(l->text) - used, "%s=%.*s,", key,
	    (int)len, (const char *)val);
	l->n++;
	return l->stop_at != 0 && l->n >= l->stop_at ? 9 : 0;
}

/* Writes during a walk must not disturb it. */
static int
list_writer_cb(const char *key, const void *val, size_t len, void *arg)
{
	if (strcmp(key, "a") == 0)
		torpor_put(arg, "a", "A2", 2);
	return 0;
}

static int
get_is(const char *key, const char *want)
{
	const void *v;
	size_t len;
	int rc;

	rc = torpor_get(sdk.ev, key, &v, &len);
	if (want == NULL)
		return rc == -ENOENT;
	return rc == 0 && len == strlen(want) && memcmp(v, want, len) == 0;
}

static void
seed_state(void)
{
	static const char *const kv[][3] = {
		{ "o", "a", "1" }, { "o", "b", "2" }, { "o", "c", "3" },
		{ "o", "d", "4" }, { "ob", "a", "x" }, { "n", "a", "y" },
	};
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t i;

	if (store_state_open_at(state_param + strlen("TORPOR_STORE="),
	    STORE_DURABILITY_NONE, &env, &dbi) != 0)
		return;
	mdb_txn_begin(env, NULL, 0, &txn);
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		store_kv_put(txn, dbi, kv[i][0], kv[i][1], strlen(kv[i][1]),
		    kv[i][2], strlen(kv[i][2]));
	mdb_txn_commit(txn);
	mdb_env_close(env);
}

static void
test_storage(void)
{
	char big[STORE_KEY_MAX + 1];
	struct listed l;
	const char *cause = NULL;
	const void *old;
	size_t len;

	seed_state();
	load_message("o");
	ok(get_is("a", "1"), "get from the snapshot");
	ok(get_is("zz", NULL), "absent key: -ENOENT");
	ok(torpor_put(sdk.ev, "b", "B", 1) == 0 && get_is("b", "B"),
	    "get sees a buffered put");
	torpor_get(sdk.ev, "b", &old, &len);
	ok(torpor_put(sdk.ev, "b", "B2", 2) == 0 && get_is("b", "B2") &&
	    memcmp(old, "B", 1) == 0, "overwrite; earlier pointer still valid");
	ok(torpor_delete(sdk.ev, "c") == 0 && get_is("c", NULL),
	    "get sees a buffered delete");
	ok(torpor_delete(sdk.ev, "never") == 0, "delete of an absent key: 0");
	torpor_put(sdk.ev, "bb", "BB", 2);
	torpor_put(sdk.ev, "e", "E", 1);
	torpor_put(sdk.ev, "0", "Z", 1);
	torpor_put(sdk.ev, "empty", NULL, 0);
	ok(get_is("empty", ""), "empty value");

	memset(&l, 0, sizeof(l));
	ok(torpor_list(sdk.ev, "", list_cb, &l) == 0 &&
	    strcmp(l.text, "0=Z,a=1,b=B2,bb=BB,d=4,e=E,empty=,") == 0,
	    "list merges buffer and snapshot in byte order (%s)", l.text);
	memset(&l, 0, sizeof(l));
	torpor_list(sdk.ev, "b", list_cb, &l);
	ok(strcmp(l.text, "b=B2,bb=BB,") == 0, "list with prefix (%s)",
	    l.text);
	memset(&l, 0, sizeof(l));
	torpor_list(sdk.ev, "c", list_cb, &l);
	ok(l.n == 0, "deleted key not listed under its prefix");
	memset(&l, 0, sizeof(l));
	l.stop_at = 3;
	ok(torpor_list(sdk.ev, NULL, list_cb, &l) == 9 && l.n == 3,
	    "list stops with fn's value");
	ok(torpor_list(sdk.ev, "", list_writer_cb, sdk.ev) == 0 &&
	    get_is("a", "A2"), "writing during a list");

	ok(torpor_put(sdk.ev, "", "v", 1) == -EINVAL, "empty key: -EINVAL");
	ok(torpor_put(sdk.ev, "k", NULL, 5) == -EINVAL &&
	    torpor_get(sdk.ev, NULL, &old, &len) == -EINVAL,
	    "NULL value with a length, NULL key: -EINVAL");
	memset(big, 'k', sizeof(big));
	big[STORE_KEY_MAX - 2] = '\0';	/* "o" + separator + this = max */
	ok(torpor_put(sdk.ev, big, "v", 1) == 0, "longest key accepted");
	big[STORE_KEY_MAX - 2] = 'k';
	big[STORE_KEY_MAX - 1] = '\0';
	ok(torpor_put(sdk.ev, big, "v", 1) == -ENAMETOOLONG &&
	    torpor_get(sdk.ev, big, &old, &len) == -ENAMETOOLONG,
	    "one byte more: -ENAMETOOLONG");
	ok(sdk_storage_commit(sdk.storage, sdk.ev, &cause) == 0, "commit");
	finish();

	load_message("o");
	ok(get_is("a", "A2") && get_is("b", "B2") && get_is("c", NULL) &&
	    get_is("e", "E"), "committed writes visible to the next event");
	torpor_put(sdk.ev, "lost", "x", 1);
	finish();
	load_message("o");
	ok(get_is("lost", NULL), "uncommitted writes discarded");
	finish();

	load_message("ob");
	memset(&l, 0, sizeof(l));
	torpor_list(sdk.ev, "", list_cb, &l);
	ok(strcmp(l.text, "a=x,") == 0, "object ob does not see o (%s)",
	    l.text);
	finish();
	load_message("n");
	memset(&l, 0, sizeof(l));
	torpor_list(sdk.ev, "", list_cb, &l);
	ok(strcmp(l.text, "a=y,") == 0, "object n sees only its keys (%s)",
	    l.text);
	finish();
}

static void
test_encoder(void)
{
	static char *alarm_extra[] = { NULL };
	char reason[130], tag[258];

	load_message("room");
	ok(ENCODES_AS("Status: 200 OK\r\nTorpor-Batch: 64\r\n\r\n"), "no actions");
	finish();

	/* The pingpong connect: welcome, attachment, alarm. */
	load_message("room");
	torpor_reply_text(sdk.ev, "{\"type\":\"welcome\"}");
	torpor_set_attachment(sdk.ev, NULL, "{\"lastPing\":1}", 14);
	torpor_set_alarm(sdk.ev, 1764355200000LL);
	ok(sdk_actions_header_form(sdk.actions), "reply+attachment+alarm: "
	    "header form");
	ok(ENCODES_AS("Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Torpor-Attachment: {\"lastPing\":1}\r\n"
	    "Torpor-Alarm: 1764355200000\r\n"
	    "\r\n"
	    "{\"type\":\"welcome\"}"), "header form bytes");
	finish();

	load_message("room");
	torpor_send(sdk.ev, "c1", "\0\1\2", 3, 1);
	torpor_set_tags(sdk.ev, "c1", (const char *const[]){ "a", "b" }, 2);
	torpor_close(sdk.ev, NULL, 4000, "bye now");
	torpor_clear_alarm(sdk.ev);
	ok(ENCODES_AS("Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Torpor-Tags: a,b\r\n"
	    "Torpor-Close: 4000 bye now\r\n"
	    "Torpor-Alarm: none\r\n"
	    "\r\n"
	    "\0\1\2"), "binary frame to own id, tags, close, clear alarm");
	finish();

	load_message("room");
	torpor_close(sdk.ev, NULL, 1000, "bye");
	torpor_reply_text(sdk.ev, "late");
	ok(!sdk_actions_header_form(sdk.actions) &&
	    ENCODES_AS("Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: application/vnd.torpor+json\r\n\r\n"
	    "[{\"action\":\"close\",\"code\":1000,\"reason\":\"bye\"},"
	    "{\"action\":\"send\",\"text\":\"late\"}]"),
	    "close before a reply: JSON in queued order");
	finish();

	load_message("room");
	torpor_reply_text(sdk.ev, "one");
	torpor_reply_text(sdk.ev, "two");
	ok(!sdk_actions_header_form(sdk.actions), "two replies: JSON");
	finish();

	load_message("room");
	torpor_set_attachment(sdk.ev, NULL, "x", 1);
	torpor_reply_text(sdk.ev, "hi");
	ok(!sdk_actions_header_form(sdk.actions), "reply not first: JSON");
	finish();

	load_message("room");
	torpor_reply_text(sdk.ev, "hi");
	torpor_set_attachment(sdk.ev, NULL, "a\nb", 3);
	ok(!sdk_actions_header_form(sdk.actions), "attachment with LF: JSON");
	finish();

	load_message("room");
	torpor_reply(sdk.ev, "", 0, 0);
	ok(!sdk_actions_header_form(sdk.actions), "empty frame: JSON");
	finish();

	load_message("room");
	torpor_broadcast(sdk.ev, "hi all", 6, 0, "c1");
	torpor_send(sdk.ev, "c2", "fo", 2, 1);
	torpor_send_tag(sdk.ev, "admin", "f", 1, 1);
	torpor_set_attachment(sdk.ev, "c2", NULL, 0);
	torpor_set_tags(sdk.ev, NULL, NULL, 0);
	torpor_close(sdk.ev, "c2", 3000, NULL);
	torpor_set_alarm(sdk.ev, 5);
	torpor_clear_alarm(sdk.ev);
	ok(ENCODES_AS("Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: application/vnd.torpor+json\r\n\r\n"
	    "[{\"action\":\"send\",\"text\":\"hi all\",\"object\":true,"
	    "\"except\":\"c1\"},"
	    "{\"action\":\"send\",\"binary\":\"Zm8=\",\"connection\":\"c2\"},"
	    "{\"action\":\"send\",\"binary\":\"Zg==\",\"tag\":\"admin\"},"
	    "{\"action\":\"attachment\",\"connection\":\"c2\","
	    "\"value\":null},"
	    "{\"action\":\"tags\",\"tags\":[]},"
	    "{\"action\":\"close\",\"connection\":\"c2\",\"code\":3000},"
	    "{\"action\":\"alarm\",\"at\":5},"
	    "{\"action\":\"alarm\",\"at\":null}]"), "every JSON action");
	finish();

	load_message("room");
	ok(torpor_close(sdk.ev, NULL, 999, NULL) == -EINVAL &&
	    torpor_close(sdk.ev, NULL, 1001, NULL) == -EINVAL &&
	    torpor_close(sdk.ev, NULL, 5000, NULL) == -EINVAL &&
	    torpor_close(sdk.ev, NULL, 4999, NULL) == 0,
	    "close codes: 1000 or 3000..4999");
	memset(reason, 'r', sizeof(reason));
	reason[124] = '\0';
	ok(torpor_close(sdk.ev, NULL, 1000, reason) == -EINVAL,
	    "124-byte reason refused");
	reason[123] = '\0';
	ok(torpor_close(sdk.ev, NULL, 1000, reason) == 0,
	    "123-byte reason accepted");
	ok(torpor_set_tags(sdk.ev, NULL, (const char *const[]){ "a,b" }, 1) ==
	    -EINVAL, "tag with a comma refused");
	ok(torpor_reply(sdk.ev, "a\0b", 3, 0) == -EINVAL &&
	    torpor_reply(sdk.ev, "a\0b", 3, 1) == 0,
	    "NUL: refused in text, fine in binary");
	ok(torpor_set_alarm(sdk.ev, -1) == -EINVAL &&
	    torpor_set_alarm(sdk.ev, ((int64_t)1 << 53) + 1) == -EINVAL,
	    "alarm outside 0..2^53 refused");
	ok(torpor_reply_text(sdk.ev, "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")
	    == 0, "UTF-8 text accepted (2, 3 and 4-byte forms)");
	ok(torpor_reply_text(sdk.ev, "\xc0\x80") == -EINVAL &&
	    torpor_reply_text(sdk.ev, "\xe0\x80\xaf") == -EINVAL &&
	    torpor_reply_text(sdk.ev, "\xed\xa0\x80") == -EINVAL &&
	    torpor_reply_text(sdk.ev, "\xf4\x90\x80\x80") == -EINVAL &&
	    torpor_reply_text(sdk.ev, "ab\xe2\x82") == -EINVAL &&
	    torpor_reply_text(sdk.ev, "\xff") == -EINVAL &&
	    torpor_reply(sdk.ev, "\xff", 1, 1) == 0,
	    "bad UTF-8 refused in text (overlong, surrogate, > U+10FFFF, "
	    "truncated), fine in binary");
	ok(torpor_close(sdk.ev, NULL, 1000, "\xc3") == -EINVAL,
	    "close reason must be UTF-8");
	ok(torpor_set_tags(sdk.ev, NULL, (const char *const[]){ "a b" }, 1) ==
	    -EINVAL && torpor_set_tags(sdk.ev, NULL,
	    (const char *const[]){ "" }, 1) == -EINVAL,
	    "tag bytes: visible ASCII, not empty");
	memset(tag, 't', sizeof(tag));
	tag[256] = '\0';
	ok(torpor_set_tags(sdk.ev, NULL, (const char *const[]){ tag }, 1) == 0,
	    "256-byte tag accepted");
	tag[256] = 't';
	tag[257] = '\0';
	ok(torpor_set_tags(sdk.ev, NULL, (const char *const[]){ tag }, 1) ==
	    -EINVAL, "257-byte tag refused");
	ok(torpor_set_attachment(sdk.ev, NULL, "a\0b", 3) == -EINVAL,
	    "attachment with NUL refused");
	finish();

	load_message("room");
	torpor_set_attachment(sdk.ev, NULL, "a\001b", 3);
	ok(!sdk_actions_header_form(sdk.actions),
	    "attachment with a control character: JSON");
	finish();
	load_message("room");
	torpor_set_attachment(sdk.ev, NULL, "ab ", 3);
	ok(!sdk_actions_header_form(sdk.actions),
	    "attachment with trailing space: JSON");
	finish();
	load_message("room");
	torpor_set_attachment(sdk.ev, NULL, "a\tb \xc3\xa9", 6);
	ok(sdk_actions_header_form(sdk.actions),
	    "attachment with inner tab, space, UTF-8: header form");
	finish();

	load("alarm", "room", alarm_extra, "", 0);
	ok(torpor_reply_text(sdk.ev, "x") == -EINVAL &&
	    torpor_close(sdk.ev, NULL, 1000, NULL) == -EINVAL &&
	    torpor_set_attachment(sdk.ev, NULL, "x", 1) == -EINVAL,
	    "alarm event: no sender to reply to");
	ok(torpor_send(sdk.ev, "c1", "x", 1, 0) == 0 &&
	    torpor_set_alarm(sdk.ev, 7) == 0, "alarm event: send by id, alarm");
	ok(ENCODES_AS("Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: application/vnd.torpor+json\r\n\r\n"
	    "[{\"action\":\"send\",\"text\":\"x\",\"connection\":\"c1\"},"
	    "{\"action\":\"alarm\",\"at\":7}]"), "alarm event response");
	finish();
}

static int
failing_cb(torpor_event *ev, void *user)
{
	torpor_put(ev, "fail", "x", 1);
	torpor_reply_text(ev, "must not be sent");
	return -EIO;
}

static int
counting_cb(torpor_event *ev, void *user)
{
	const void *v;
	size_t len;
	char buf[32];
	int n = 0;

	if (torpor_get(ev, "count", &v, &len) == 0)
		n = atoi(v);
	snprintf(buf, sizeof(buf), "%d", n + 1);
	torpor_put(ev, "count", buf, strlen(buf));
	return torpor_reply_text(ev, buf);
}

struct conns_seen {
	char	text[512];
};

static int
conn_cb(const struct torpor_connection *c, void *arg)
{
	struct conns_seen *s = arg;
	size_t used = strlen(s->text);

	snprintf(s->text + used, sizeof(s->text) - used,
	    "%s[%s](%zu tags:%s)%s@%lld;", c->id, c->attachment, c->ntags,
	    c->ntags > 0 ? c->tags[c->ntags - 1] : "", c->remote_addr,
	    (long long)c->connected_at);
	return 0;
}

static void
test_process(void)
{
	static const struct torpor_handlers none;
	static const struct torpor_handlers fail = { .on_message = failing_cb };
	static const struct torpor_handlers count = {
		.on_message = counting_cb };
	static char *envp[] = { "TORPOR_EVENT=message", "TORPOR_OBJECT=p",
	    "TORPOR_CONNECTION=c1", state_param, "TORPOR_DURABILITY=full",
	    NULL };
	static const char want[] = "Status: 500 Internal Server Error\r\n"
	    "Torpor-Batch: 64\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "on_message failed: Input/output error\n";
	static const char reply1[] = "Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n1";
	static const char rec1[] = "{\"id\":\"c1\",\"tags\":[\"a\",\"b\"],"
	    "\"attachment\":\"{}\",\"remote\":\"127.0.0.1\","
	    "\"connectedAt\":1764355200000}";
	static const char rec2[] = "{\"id\":\"c2\",\"tags\":[],"
	    "\"attachment\":null,\"remote\":\"::1\",\"connectedAt\":5}";
	struct store_gateway_dbs dbs;
	struct conns_seen s;
	MDB_env *env;
	MDB_txn *txn;
	const char *out;
	size_t len;

	torpor_process(&sdk, &fail, NULL, envp, 0, &out, &len);
	ok(len == sizeof(want) - 1 && memcmp(out, want, len) == 0,
	    "failing callback: 500 naming the cause, no actions");
	torpor_forget(&sdk);
	torpor_process(&sdk, &count, NULL, envp, 0, &out, &len);
	ok(len == sizeof(reply1) - 1 && memcmp(out, reply1, len) == 0,
	    "counter reply 1, header form");
	torpor_forget(&sdk);
	torpor_process(&sdk, &count, NULL, envp, 0, &out, &len);
	ok(len > 1 && out[len - 1] == '2', "counter committed, reply 2");
	torpor_forget(&sdk);
	load_message("p");
	ok(get_is("fail", NULL), "failed event's write was discarded");
	finish();
	torpor_process(&sdk, &none, NULL, envp, 0, &out, &len);
	ok(len == 36 && memcmp(out,
	    "Status: 200 OK\r\nTorpor-Batch: 64\r\n\r\n", 36) == 0,
	    "no callback: acknowledged");
	torpor_forget(&sdk);

	/* The registry as the gateway writes it, then closed again. */
	if (store_gateway_open_at(strchr(gateway_param, '=') + 1, 0, &env,
	    &dbs) == 0) {
		mdb_txn_begin(env, NULL, 0, &txn);
		store_conn_put(txn, &dbs, "room", "c1", rec1,
		    sizeof(rec1) - 1);
		store_conn_put(txn, &dbs, "room", "c2", rec2,
		    sizeof(rec2) - 1);
		store_conn_put(txn, &dbs, "room2", "c3", "{}", 2);
		mdb_txn_commit(txn);
		mdb_env_close(env);
	}
	load_message("room");
	memset(&s, 0, sizeof(s));
	ok(torpor_connections(sdk.ev, conn_cb, &s) == 0 &&
	    strcmp(s.text, "c1[{}](2 tags:b)127.0.0.1@1764355200000;"
	    "c2[](0 tags:)::1@5;") == 0, "torpor_connections (%s)", s.text);
	finish();
}

/* --- batches ---------------------------------------------------------- */

/* A batch request of k events: the common params, then extra. */
static char **
batch_envp(int k, const char *object, const char *store, char **extra)
{
	static char k_param[32], obj_param[600], store_param[300];
	static char *envp[160];
	size_t n = 0;

	snprintf(k_param, sizeof(k_param), "TORPOR_BATCH=%d", k);
	snprintf(obj_param, sizeof(obj_param), "TORPOR_OBJECT=%s", object);
	snprintf(store_param, sizeof(store_param), "TORPOR_STORE=%s", store);
	envp[n++] = "REQUEST_METHOD=POST";
	envp[n++] = k_param;
	envp[n++] = obj_param;
	envp[n++] = store != NULL ? store_param : state_param;
	envp[n++] = gateway_param;
	envp[n++] = "TORPOR_DURABILITY=none";
	envp[n++] = "CONTENT_TYPE=application/vnd.torpor-batch";
	while (extra != NULL && *extra != NULL && n < 159)
		envp[n++] = *extra++;
	envp[n] = NULL;
	return envp;
}

/* Puts body into the event's buffer and loads the batch. */
static int
load_batch(char **envp, const void *body, size_t body_len)
{
	const char *cause = NULL;
	char *buf;

	if (sdk_event_body_reserve(sdk.ev, body_len, &buf) != 0)
		return -ENOMEM;
	memcpy(buf, body, body_len);
	return sdk_event_load(sdk.ev, envp, body_len, &cause);
}

static int
select_ok(size_t i)
{
	const char *cause = NULL;

	return sdk_event_select(sdk.ev, i, &cause) == 0;
}

static int
payload_is(const char *want)
{
	const char *p;
	size_t len;

	p = torpor_payload(sdk.ev, &len);
	return len == strlen(want) && memcmp(p, want, len) == 0 &&
	    p[len] == '\0';
}

static void
test_batch_decode(void)
{
	/* Event 2's params first: the order of params means nothing. */
	static char *extra[] = {
		"TORPOR_EVENT_2=close", "TORPOR_CONNECTION_2=c2",
		"TORPOR_CLOSE_CODE_2=4001", "TORPOR_CLOSE_REASON_2=bye",
		"TORPOR_CLOSE_CLEAN_2=1", "TORPOR_LENGTH_2=0",
		"TORPOR_EVENT_ID_2=9", "REMOTE_ADDR_2=::1",
		"TORPOR_EVENT_0=message", "TORPOR_CONNECTION_0=c1",
		"TORPOR_FRAME_0=text", "TORPOR_LENGTH_0=5",
		"TORPOR_EVENT_ID_0=7", "TORPOR_CONNECTIONS_0=2",
		"TORPOR_TAGS_0=a,b", "TORPOR_ATTACHMENT_0={}",
		"TORPOR_ALARM_0=1000", "REMOTE_ADDR_0=10.0.0.1",
		"QUERY_STRING_0=x=1", "TORPOR_FUTURE_0=f0",
		"TORPOR_EVENT_1=message", "TORPOR_CONNECTION_1=c2",
		"TORPOR_FRAME_1=binary", "TORPOR_LENGTH_1=3",
		"TORPOR_EVENT_ID_1=8", "TORPOR_EVENT_01=nope",
		"TORPOR_EVENT_3=alarm", "TORPOR_LENGTH_3=0",
		"TORPOR_ALARM_3=1000", "TORPOR_ALARM_RETRY_3=2",
		"TORPOR_EVENT=connect", "TORPOR_FUTURE=shared",
		"CONTENT_LENGTH=8", NULL };
	static char *short_len[] = { "TORPOR_EVENT_0=message",
	    "TORPOR_LENGTH_0=2", "TORPOR_EVENT_1=message",
	    "TORPOR_LENGTH_1=2", NULL };
	static char *no_len[] = { "TORPOR_EVENT_0=message",
	    "TORPOR_LENGTH_0=4", "TORPOR_EVENT_1=message", NULL };
	static char *bad_event[] = { "TORPOR_LENGTH_0=0",
	    "TORPOR_EVENT_1=wakeup", "TORPOR_LENGTH_1=0", NULL };
	const char *cause = NULL, *p;
	size_t len;

	ok(load_batch(batch_envp(4, "room", NULL, extra), "hello\0\1\2", 8)
	    == 0 && sdk_event_batched(sdk.ev) && sdk_event_count(sdk.ev) == 4,
	    "batch of 4 decoded");
	ok(select_ok(0) && torpor_event_type(sdk.ev) == TORPOR_EVENT_MESSAGE &&
	    strcmp(torpor_connection_id(sdk.ev), "c1") == 0 &&
	    torpor_event_id(sdk.ev) == 7 && torpor_connection_count(sdk.ev)
	    == 2 && torpor_is_binary(sdk.ev) == 0 &&
	    torpor_alarm(sdk.ev) == 1000, "event 0: type, id, counts, alarm");
	ok(payload_is("hello"), "event 0: payload slice, NUL-terminated");
	ok(torpor_tag_count(sdk.ev) == 2 &&
	    strcmp(torpor_tag(sdk.ev, 1), "b") == 0 &&
	    strcmp(torpor_attachment(sdk.ev, NULL), "{}") == 0,
	    "event 0: tags, attachment");
	ok(strcmp(torpor_param(sdk.ev, "REMOTE_ADDR"), "10.0.0.1") == 0 &&
	    strcmp(torpor_param(sdk.ev, "QUERY_STRING"), "x=1") == 0 &&
	    strcmp(torpor_param(sdk.ev, "CONTENT_LENGTH"), "5") == 0 &&
	    strcmp(torpor_param(sdk.ev, "CONTENT_TYPE"),
	    "text/plain; charset=utf-8") == 0 &&
	    strcmp(torpor_param(sdk.ev, "TORPOR_STORE"),
	    strchr(state_param, '=') + 1) == 0 &&
	    strcmp(torpor_param(sdk.ev, "TORPOR_BATCH"), "4") == 0,
	    "event 0: torpor_param per event and per request");
	ok(strcmp(torpor_param(sdk.ev, "TORPOR_FUTURE"), "f0") == 0 &&
	    strcmp(torpor_param(sdk.ev, "TORPOR_EVENT"), "message") == 0,
	    "unknown names: NAME_i first; unsuffixed per-event names unused");
	ok(select_ok(1) && strcmp(torpor_connection_id(sdk.ev), "c2") == 0 &&
	    torpor_event_id(sdk.ev) == 8 && torpor_is_binary(sdk.ev) == 1 &&
	    torpor_alarm(sdk.ev) == -1 && torpor_tag_count(sdk.ev) == 0,
	    "event 1: its own fields, no alarm, no tags");
	p = torpor_payload(sdk.ev, &len);
	ok(len == 3 && memcmp(p, "\0\1\2", 3) == 0 && p[3] == '\0' &&
	    strcmp(torpor_param(sdk.ev, "CONTENT_TYPE"),
	    "application/octet-stream") == 0 &&
	    strcmp(torpor_param(sdk.ev, "TORPOR_FUTURE"), "shared") == 0,
	    "event 1: binary slice; unknown name falls back to NAME");
	ok(select_ok(2) && torpor_event_type(sdk.ev) == TORPOR_EVENT_CLOSE &&
	    torpor_close_code(sdk.ev) == 4001 && torpor_close_clean(sdk.ev) &&
	    strcmp(torpor_close_reason(sdk.ev), "bye") == 0 &&
	    strcmp(torpor_param(sdk.ev, "REMOTE_ADDR"), "::1") == 0 &&
	    payload_is("") && torpor_param(sdk.ev, "CONTENT_TYPE") == NULL,
	    "event 2: close fields, empty payload");
	ok(select_ok(3) && torpor_event_type(sdk.ev) == TORPOR_EVENT_ALARM &&
	    torpor_alarm_retry(sdk.ev) == 2 && torpor_alarm(sdk.ev) == 1000 &&
	    torpor_connection_id(sdk.ev) == NULL, "event 3: alarm");
	ok(select_ok(0) && payload_is("hello") && select_ok(1) &&
	    memcmp(torpor_payload(sdk.ev, NULL), "\0\1\2", 3) == 0,
	    "selecting again: borrowed NUL bytes given back");
	ok(sdk_event_select(sdk.ev, 4, &cause) == -EINVAL, "no event 4");
	finish();

	ok(load_batch(batch_envp(0, "room", NULL, NULL), "", 0) == -EBADMSG &&
	    load_batch(batch_envp(SDK_EVENT_BATCH_MAX + 1, "room", NULL,
	    NULL), "", 0) == -EBADMSG,
	    "TORPOR_BATCH 0 or over 64: -EBADMSG");
	finish();
	ok(load_batch(batch_envp(2, "room", NULL, short_len), "abcde", 5) ==
	    -EBADMSG, "lengths not adding up: -EBADMSG");
	finish();
	ok(load_batch(batch_envp(2, "room", NULL, no_len), "abcd", 4) ==
	    -EBADMSG, "missing TORPOR_LENGTH_1: -EBADMSG");
	finish();
	ok(load_batch(batch_envp(2, "room", NULL, bad_event), "", 0) == 0 &&
	    sdk_event_select(sdk.ev, 0, &cause) == -EBADMSG &&
	    sdk_event_select(sdk.ev, 1, &cause) == -ENOTSUP,
	    "per event: no TORPOR_EVENT_0 -EBADMSG, unknown type -ENOTSUP");
	finish();
}

static void
test_savepoint(void)
{
	load_message("sp");
	sdk_storage_savepoint(sdk.storage);
	torpor_put(sdk.ev, "a", "1", 1);
	torpor_put(sdk.ev, "b", "1", 1);
	sdk_storage_savepoint(sdk.storage);
	torpor_put(sdk.ev, "a", "2", 1);
	torpor_put(sdk.ev, "a", "3", 1);
	torpor_delete(sdk.ev, "b");
	torpor_put(sdk.ev, "c", "1", 1);
	ok(get_is("a", "3") && get_is("b", NULL) && get_is("c", "1"),
	    "second savepoint sees its own writes");
	sdk_storage_rollback(sdk.storage);
	ok(get_is("a", "1") && get_is("b", "1") && get_is("c", NULL) &&
	    sdk_storage_pending(sdk.storage) == 2,
	    "rollback: the first savepoint's writes are back, c is gone");
	sdk_storage_savepoint(sdk.storage);
	torpor_put(sdk.ev, "d", "1", 1);
	sdk_storage_rollback(sdk.storage);
	sdk_storage_rollback(sdk.storage);
	ok(get_is("d", NULL) && get_is("a", "1"),
	    "rollback twice: nothing more undone");
	finish();
}

/* Takes "id[attachment](tags);" of each connection of a torpor_connections. */
static int
conn_brief_cb(const struct torpor_connection *c, void *arg)
{
	struct conns_seen *s = arg;
	size_t used = strlen(s->text), i;

	used += (size_t)snprintf(s->text + used, sizeof(s->text) - used,
	    "%s[%s](", c->id, c->attachment);
	for (i = 0; i < c->ntags && used < sizeof(s->text); i++)
		used += (size_t)snprintf(s->text + used, sizeof(s->text) - used,
		    "%s%s", i > 0 ? "," : "", c->tags[i]);
	if (used < sizeof(s->text))
		snprintf(s->text + used, sizeof(s->text) - used, ");");
	return 0;
}

/* What an event saw of its connection and the alarm, typed and raw. */
static int
reply_seen(torpor_event *ev)
{
	const char *pa = torpor_param(ev, "TORPOR_ALARM");
	char out[512], tags[300] = "";
	size_t i;

	for (i = 0; i < torpor_tag_count(ev); i++)
		snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags),
		    "%s%s", i > 0 ? "," : "", torpor_tag(ev, i));
	snprintf(out, sizeof(out), "att=%s tags=%zu:%s alarm=%lld p=%s/%s/%s",
	    torpor_attachment(ev, NULL), torpor_tag_count(ev), tags,
	    (long long)torpor_alarm(ev), torpor_param(ev, "TORPOR_ATTACHMENT"),
	    torpor_param(ev, "TORPOR_TAGS"), pa != NULL ? pa : "-");
	return torpor_reply_text(ev, out);
}

/* The batch tests' handler: the message says what to do. */
static int
script_cb(torpor_event *ev, void *user)
{
	static const char *const tags[] = { "x", "y" };
	const char *cmd = torpor_payload(ev, NULL);
	struct conns_seen s;

	if (strcmp(cmd, "inc") == 0)
		return counting_cb(ev, user);
	if (strcmp(cmd, "fail") == 0) {
		torpor_put(ev, "count", "999", 3);
		torpor_put(ev, "failkey", "x", 1);
		torpor_set_attachment(ev, NULL, "F", 1);
		torpor_set_tags(ev, NULL, tags, 1);
		torpor_set_alarm(ev, 7);
		torpor_reply_text(ev, "must not be sent");
		return -EIO;
	}
	if (strcmp(cmd, "set") == 0) {
		torpor_set_attachment(ev, NULL, "{\"k\":1}", 7);
		torpor_set_tags(ev, NULL, tags, 2);
		torpor_set_alarm(ev, 5000);
		torpor_set_attachment(ev, "c2", "P", 1);
		return 0;
	}
	if (strcmp(cmd, "conns") == 0) {
		memset(&s, 0, sizeof(s));
		torpor_connections(ev, conn_brief_cb, &s);
		return torpor_reply_text(ev, s.text);
	}
	return reply_seen(ev);
}

/* Runs a batch through torpor_process; *out is the whole response. */
static void
run_batch(const struct torpor_handlers *h, char **envp, const char *body,
    const char **out, size_t *len)
{
	char *buf;

	if (sdk_event_body_reserve(sdk.ev, strlen(body), &buf) == 0)
		memcpy(buf, body, strlen(body));
	torpor_process(&sdk, h, NULL, envp, strlen(body), out, len);
}

/* Parses a batch response's body, after its headers. */
static cJSON *
batch_parse(const char *out, size_t len)
{
	static const char head[] = "Status: 200 OK\r\nTorpor-Batch: 64\r\n"
	    "Content-Type: application/vnd.torpor-batch+json\r\n\r\n";

	if (len < sizeof(head) - 1 || memcmp(out, head, sizeof(head) - 1) != 0)
		return NULL;
	return cJSON_ParseWithLength(out + sizeof(head) - 1,
	    len - (sizeof(head) - 1));
}

/* Element i's status, and the text of its first action ("" or "-"). */
static int
batch_status(const cJSON *root, int i)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(root, i), "status");

	return cJSON_IsNumber(st) ? st->valueint : -1;
}

static const char *
batch_text(const cJSON *root, int i)
{
	const cJSON *e = cJSON_GetArrayItem(root, i), *acts, *t;

	acts = cJSON_GetObjectItemCaseSensitive(e, "actions");
	if (!cJSON_IsArray(acts))
		return "-";
	t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(acts, 0),
	    "text");
	return cJSON_IsString(t) ? t->valuestring : "";
}

static int
batch_naction(const cJSON *root, int i)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(root, i), "actions"));
}

static void
test_batch_process(void)
{
	static const struct torpor_handlers script = {
		.on_message = script_cb };
	/* Every event as the gateway encodes it: its values at that time. */
#define MSG(i, conn, len) \
	"TORPOR_EVENT_" #i "=message", "TORPOR_CONNECTION_" #i "=" conn, \
	"TORPOR_FRAME_" #i "=text", "TORPOR_LENGTH_" #i "=" #len, \
	"TORPOR_ATTACHMENT_" #i "=old", "TORPOR_TAGS_" #i "=g", \
	"TORPOR_ALARM_" #i "=1000", "TORPOR_EVENT_ID_" #i "=1" #i
	static char *extra[] = {
		MSG(0, "c1", 3), MSG(1, "c1", 4), MSG(2, "c1", 3),
		MSG(3, "c1", 3), MSG(4, "c1", 3), MSG(5, "c1", 3),
		MSG(6, "c2", 3), MSG(7, "c2", 5),
		"TORPOR_EVENT_8=alarm", "TORPOR_LENGTH_8=0",
		"TORPOR_ALARM_8=1000", "TORPOR_EVENT_ID_8=18",
		MSG(9, "c1", 3), NULL };
	static char *two[] = { MSG(0, "c1", 3), MSG(1, "c1", 3), NULL };
	static char *served[] = { "TORPOR_EVENT_0=alarm", "TORPOR_LENGTH_0=0",
	    "TORPOR_ALARM_0=1000", MSG(1, "c1", 3), NULL };
	static char *odd[] = { "TORPOR_LENGTH_0=0", "TORPOR_EVENT_1=wakeup",
	    "TORPOR_LENGTH_1=0", MSG(2, "c1", 3), NULL };
#undef MSG
	static const char body[] = "inc" "fail" "see" "inc" "set" "see"
	    "see" "conns" "see";
	static const char want_two[] = "Status: 200 OK\r\n"
	    "Torpor-Batch: 64\r\n"
	    "Content-Type: application/vnd.torpor-batch+json\r\n\r\n"
	    "[{\"status\":200,\"actions\":[{\"action\":\"send\",\"text\":\"1\"}]},"
	    "{\"status\":200,\"actions\":[{\"action\":\"send\",\"text\":\"2\"}]}]";
	static const char want_fail[] = "Status: 500 Internal Server Error\r\n"
	    "Torpor-Batch: 64\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "cannot open the state store: ";
	static const char rec[] = "{\"id\":\"%s\",\"tags\":[\"g\"],"
	    "\"attachment\":\"old\",\"remote\":\"::1\",\"connectedAt\":1}";
	struct store_gateway_dbs dbs;
	char recbuf[200];
	const char *out, *e;
	MDB_env *env;
	MDB_txn *txn;
	cJSON *root;
	size_t len;

	/* The registry of object bt: c1 and c2, as the gateway wrote it. */
	if (store_gateway_open_at(strchr(gateway_param, '=') + 1, 0, &env,
	    &dbs) == 0) {
		mdb_txn_begin(env, NULL, 0, &txn);
		snprintf(recbuf, sizeof(recbuf), rec, "c1");
		store_conn_put(txn, &dbs, "bt", "c1", recbuf, strlen(recbuf));
		snprintf(recbuf, sizeof(recbuf), rec, "c2");
		store_conn_put(txn, &dbs, "bt", "c2", recbuf, strlen(recbuf));
		mdb_txn_commit(txn);
		mdb_env_close(env);
	}

	run_batch(&script, batch_envp(10, "bt", NULL, extra), body, &out,
	    &len);
	root = batch_parse(out, len);
	ok(cJSON_IsArray(root) && cJSON_GetArraySize(root) == 10,
	    "batch response: headers, then an array of 10 elements");
	ok(batch_status(root, 0) == 200 &&
	    strcmp(batch_text(root, 0), "1") == 0, "event 0 counts 1");
	e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(root, 1), "error"));
	ok(batch_status(root, 1) == 500 && e != NULL &&
	    strcmp(e, "on_message failed: Input/output error") == 0 &&
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 1),
	    "actions") == NULL, "failed event: status 500, error, no actions");
	ok(strcmp(batch_text(root, 2),
	    "att=old tags=1:g alarm=1000 p=old/g/1000") == 0,
	    "after a failed event: none of its changes (%s)",
	    batch_text(root, 2));
	ok(strcmp(batch_text(root, 3), "2") == 0,
	    "failed event's writes rolled back: the count goes on from 1");
	ok(batch_status(root, 4) == 200 && batch_naction(root, 4) == 4,
	    "set: four actions in the element");
	ok(strcmp(batch_text(root, 5), "att={\"k\":1} tags=2:x,y alarm=5000 "
	    "p={\"k\":1}/x,y/5000") == 0,
	    "next event sees its new attachment, tags, alarm (%s)",
	    batch_text(root, 5));
	ok(strcmp(batch_text(root, 6),
	    "att=P tags=1:g alarm=5000 p=P/g/5000") == 0,
	    "another connection sees what was set for it (%s)",
	    batch_text(root, 6));
	ok(strcmp(batch_text(root, 7),
	    "c1[{\"k\":1}](x,y);c2[P](g);") == 0,
	    "torpor_connections shows the changes too (%s)",
	    batch_text(root, 7));
	ok(batch_status(root, 8) == 200 && batch_naction(root, 8) == 0,
	    "alarm event without callback: acknowledged");
	ok(strcmp(batch_text(root, 9), "att={\"k\":1} tags=2:x,y alarm=5000 "
	    "p={\"k\":1}/x,y/5000") == 0,
	    "alarm event after the alarm was moved: the new one stays (%s)",
	    batch_text(root, 9));
	cJSON_Delete(root);
	torpor_forget(&sdk);
	load_message("bt");
	ok(get_is("count", "2") && get_is("failkey", NULL),
	    "one commit: successful events' writes, not the failed one's");
	finish();

	run_batch(&script, batch_envp(2, "bx", NULL, two), "incinc", &out,
	    &len);
	ok(len == sizeof(want_two) - 1 && memcmp(out, want_two, len) == 0,
	    "two counters: the batch response byte for byte");
	torpor_forget(&sdk);

	run_batch(&script, batch_envp(2, "ba", NULL, served), "see", &out,
	    &len);
	root = batch_parse(out, len);
	ok(strcmp(batch_text(root, 1), "att=old tags=1:g alarm=-1 "
	    "p=old/g/-") == 0, "after a served alarm the alarm is gone (%s)",
	    batch_text(root, 1));
	cJSON_Delete(root);
	torpor_forget(&sdk);

	run_batch(&script, batch_envp(3, "bo", NULL, odd), "inc", &out, &len);
	root = batch_parse(out, len);
	e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(root, 0), "error"));
	ok(batch_status(root, 0) == 500 && e != NULL &&
	    strcmp(e, "bad request: no TORPOR_EVENT parameter") == 0 &&
	    batch_status(root, 1) == 200 && batch_naction(root, 1) == 0 &&
	    strcmp(batch_text(root, 2), "1") == 0,
	    "no TORPOR_EVENT_0: 500; unknown type: acknowledged; then on");
	cJSON_Delete(root);
	torpor_forget(&sdk);

	run_batch(&script, batch_envp(2, "bf", "/dev/null/state", two),
	    "incinc", &out, &len);
	ok(len > sizeof(want_fail) - 1 &&
	    memcmp(out, want_fail, sizeof(want_fail) - 1) == 0,
	    "commit failed: the whole batch fails with 500");
	torpor_forget(&sdk);

	run_batch(&script, batch_envp(2, "bx", NULL, two), "incin", &out,
	    &len);
	ok(len > 0 && strstr(out, "Status: 500") == out &&
	    strstr(out, "\r\n\r\nbad request: bad or missing TORPOR_LENGTH_i")
	    != NULL,
	    "body shorter than the lengths: 500 bad request");
	torpor_forget(&sdk);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_sdk.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL || torpor_sdk_init(&sdk) != 0) {
		printf("Bail out! setup: %s\n", strerror(errno));
		return 1;
	}
	snprintf(state_param, sizeof(state_param), "TORPOR_STORE=%s/state",
	    tmpdir);
	snprintf(gateway_param, sizeof(gateway_param),
	    "TORPOR_GATEWAY_STORE=%s/gateway", tmpdir);
	test_event();
	test_storage();
	test_encoder();
	test_process();
	test_batch_decode();
	test_savepoint();
	test_batch_process();
	torpor_sdk_free(&sdk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
