/*
 * storehandler: the storage workload of bench/run.sh (issue 6). The
 * reference app keeps its per-connection state in attachments and never
 * writes object storage on a message; this handler does, on every one, so
 * the benchmark can price the storage path in each durability mode.
 *
 * For each message it reads the connection's counter ("count:<id>",
 * decimal text) and last message ("last:<id>") from its object's storage,
 * writes both back (the counter plus one, the message just received) and
 * answers {"type":"pong","count":N,"connectionId":ID,"previousBytes":L},
 * shaped like the reference app's pong so loadgen's reply check passes.
 * The two keys are written together, so one present without the other
 * means a write was lost: the event then fails, the client is closed with
 * 1011 and loadgen counts an error. A close deletes the connection's
 * keys, so a run's store stays small.
 *
 * run.sh serves it behind a gateway that routes /rooms/NAME to object NAME
 * and spreads the sockets over a few objects with `loadgen --objects`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <torpor.h>

#define KEY_MAX		64	/* "count:" or "last:", a 36-byte id */
#define REPLY_MAX	192
#define COUNT_DIGITS	20	/* the most a 64-bit counter needs */

/* Writes "<prefix><connection id>" into key; -EINVAL if it does not fit. */
static int
storehandler_key(char key[KEY_MAX], const char *prefix, const char *id)
{
	int	n = snprintf(key, KEY_MAX, "%s%s", prefix, id);

	return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

/* Reads the counter at key: 0 when absent, -EBADMSG when not a number. */
static int
storehandler_count(torpor_event *ev, const char *key, unsigned long long *n)
{
	const void		*val;
	const unsigned char	*p;
	size_t			 len, i;
	int			 rc;

	*n = 0;
	if ((rc = torpor_get(ev, key, &val, &len)) == -ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (len == 0 || len > COUNT_DIGITS)
		return -EBADMSG;
	p = val;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		*n = *n * 10 + (unsigned long long)(p[i] - '0');
	}
	return 0;
}

static int
on_connect(torpor_event *ev, void *user)
{
	char		 reply[REPLY_MAX];
	const char	*id = torpor_connection_id(ev);

	(void)user;
	if (id == NULL)
		return -EINVAL;
	/* no storage here: the workload is the messages */
	snprintf(reply, sizeof reply, "{\"type\":\"welcome\","
	    "\"connectionId\":\"%s\"}", id);
	return torpor_reply_text(ev, reply);
}

/* Read both keys, check they agree, write both back, reply with the count. */
static int
on_message(torpor_event *ev, void *user)
{
	char			 count_key[KEY_MAX], last_key[KEY_MAX];
	char			 num[COUNT_DIGITS + 1], reply[REPLY_MAX];
	const char		*id = torpor_connection_id(ev);
	const void		*payload, *last;
	size_t			 plen, last_len = 0;
	unsigned long long	 count;
	int			 rc, n;

	(void)user;
	if (id == NULL)
		return -EINVAL;
	if ((rc = storehandler_key(count_key, "count:", id)) != 0 ||
	    (rc = storehandler_key(last_key, "last:", id)) != 0 ||
	    (rc = storehandler_count(ev, count_key, &count)) != 0)
		return rc;
	rc = torpor_get(ev, last_key, &last, &last_len);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	/* the keys are written together: one without the other was lost */
	if ((rc == 0) != (count > 0))
		return -EIO;
	if (rc != 0)
		last_len = 0;
	count++;
	if ((payload = torpor_payload(ev, &plen)) == NULL)
		plen = 0;
	n = snprintf(num, sizeof num, "%llu", count);
	if ((rc = torpor_put(ev, count_key, num, (size_t)n)) != 0 ||
	    (rc = torpor_put(ev, last_key, payload != NULL ? payload : "",
	    plen)) != 0)
		return rc;
	snprintf(reply, sizeof reply, "{\"type\":\"pong\",\"count\":%llu,"
	    "\"connectionId\":\"%s\",\"previousBytes\":%zu}", count, id,
	    last_len);
	return torpor_reply_text(ev, reply);
}

static int
on_close(torpor_event *ev, void *user)
{
	char		 key[KEY_MAX];
	const char	*id = torpor_connection_id(ev);
	int		 rc;

	(void)user;
	if (id == NULL)
		return 0;
	if ((rc = storehandler_key(key, "count:", id)) != 0 ||
	    (rc = torpor_delete(ev, key)) != 0 ||
	    (rc = storehandler_key(key, "last:", id)) != 0)
		return rc;
	return torpor_delete(ev, key);
}

int
main(void)
{
	static const struct torpor_handlers handlers = {
		.on_connect = on_connect,
		.on_message = on_message,
		.on_close = on_close,
	};
	int	rc;

	if ((rc = torpor_run(&handlers, NULL)) < 0) {
		fprintf(stderr, "storehandler: %s\n", torpor_strerror(rc));
		return 1;
	}
	return 0;
}
