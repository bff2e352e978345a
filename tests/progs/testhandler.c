/*
 * testhandler: a handler on the torpor SDK for end-to-end tests of hot
 * swap, durability, alarm retries and close replay. Built twice, as
 * testhandler-v1 and testhandler-v2, differing only in TESTHANDLER_VERSION
 * so a test can see which generation answered.
 *
 * Messages (text):
 *   "inc"          increments the object's stored counter "n" and replies
 *                  "n=N v=VERSION"
 *   "get"          replies "n=N v=VERSION" without writing
 *   "alarm MS"     sets the object's alarm MS from now, replies "ok"
 *   "remote"       replies "remote=ADDR", ADDR the REMOTE_ADDR it was given
 *   "fail"         increments "n" like "inc", then fails (-EIO): the write
 *                  must be lost and the connection closed with 1011
 *   "tags N L"     gives the connection N tags of L bytes each, replies "ok"
 *   "flood N SIZE" broadcasts N text frames of SIZE bytes each to the whole
 *                  object (sender included), frame I starting "I/N "
 *   "attach N"     sets the connection's attachment to N bytes, replies "ok"
 *   anything else  replies "v=VERSION " followed by the text
 * Connect: with a header "X-Show-Params: NAME,NAME..." in the upgrade
 * request, replies "NAME=VALUE" lines (VALUE "(none)" when absent) for
 * those FastCGI params, so a test sees the HTTP_* params the gateway sent.
 * Environment:
 *   TESTHANDLER_LOG        append one line per close and alarm event
 *   ALARM_FAIL_TIMES       fail that many alarm runs before succeeding
 *                          (counted by TORPOR_ALARM_RETRY), "always" too
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <torpor.h>

#ifndef TESTHANDLER_VERSION
#define TESTHANDLER_VERSION 1
#endif

/* One line per event, so a test can read what the handler saw. */
static void
testhandler_log(const char *kind, const char *who, long a, long b)
{
	const char	*path = getenv("TESTHANDLER_LOG");
	FILE		*fp;

	if (path == NULL || (fp = fopen(path, "a")) == NULL)
		return;
	fprintf(fp, "%s %s %ld %ld\n", kind, who, a, b);
	fclose(fp);
}

static long
testhandler_counter(torpor_event *ev)
{
	const void	*val;
	size_t		 len;
	char		 num[32];

	if (torpor_get(ev, "n", &val, &len) != 0 || len >= sizeof num)
		return 0;
	memcpy(num, val, len);
	num[len] = '\0';
	return atol(num);
}

/* "N L": N distinct tags of L bytes, to probe the gateway's tag limits. */
static int
testhandler_tags(torpor_event *ev, const char *arg)
{
	char		 tagbuf[32][512];
	const char	*tags[32];
	long		 n, l, i;
	int		 rc;

	n = strtol(arg, (char **)&arg, 10);
	l = strtol(arg, NULL, 10);
	if (n < 1 || n > 32 || l < 4 || l >= 512)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		memset(tagbuf[i], 'x', (size_t)l);
		snprintf(tagbuf[i], 4, "%03ld", i);
		tagbuf[i][3] = 'x';
		tagbuf[i][l] = '\0';
		tags[i] = tagbuf[i];
	}
	rc = torpor_set_tags(ev, NULL, tags, (size_t)n);
	return rc;
}

/* "N SIZE": N frames of SIZE bytes to every connection of the object. */
static int
testhandler_flood(torpor_event *ev, const char *arg, size_t len)
{
	char	 args[64], *frame, *end;
	long	 n, size, i;
	int	 rc = 0, head;

	if (len >= sizeof args)
		return -EINVAL;
	memcpy(args, arg, len);
	args[len] = '\0';
	n = strtol(args, &end, 10);
	size = strtol(end, NULL, 10);
	if (n < 1 || n > 100000 || size < 16 || size > 16L * 1024 * 1024)
		return -EINVAL;
	if ((frame = malloc((size_t)size + 1)) == NULL)
		return -ENOMEM;
	memset(frame, '.', (size_t)size);
	for (i = 0; i < n && rc == 0; i++) {
		head = snprintf(frame, 16, "%ld/%ld ", i, n);
		frame[head] = '.';	/* snprintf's NUL */
		rc = torpor_broadcast(ev, frame, (size_t)size, 0, NULL);
	}
	free(frame);
	return rc;
}

/* "N": an attachment of exactly N bytes, to probe --max-attachment. */
static int
testhandler_attach(torpor_event *ev, const char *arg, size_t len)
{
	char	 args[32], *value;
	long	 n;
	int	 rc;

	if (len >= sizeof args)
		return -EINVAL;
	memcpy(args, arg, len);
	args[len] = '\0';
	n = strtol(args, NULL, 10);
	if (n < 1 || n > 16L * 1024 * 1024)
		return -EINVAL;
	if ((value = malloc((size_t)n)) == NULL)
		return -ENOMEM;
	memset(value, 'a', (size_t)n);
	rc = torpor_set_attachment(ev, NULL, value, (size_t)n);
	free(value);
	return rc;
}

static int
on_message(torpor_event *ev, void *user)
{
	const char	*text, *addr;
	size_t		 len;
	char		 out[256], num[32];
	long		 n;

	(void)user;
	text = torpor_payload(ev, &len);
	if (len == 3 && memcmp(text, "inc", 3) == 0) {
		n = testhandler_counter(ev) + 1;
		snprintf(num, sizeof num, "%ld", n);
		if (torpor_put(ev, "n", num, strlen(num)) != 0)
			return -EIO;
		snprintf(out, sizeof out, "n=%ld v=%d", n, TESTHANDLER_VERSION);
	} else if (len == 4 && memcmp(text, "fail", 4) == 0) {
		n = testhandler_counter(ev) + 1;
		snprintf(num, sizeof num, "%ld", n);
		torpor_put(ev, "n", num, strlen(num));
		return -EIO;
	} else if (len == 3 && memcmp(text, "get", 3) == 0) {
		snprintf(out, sizeof out, "n=%ld v=%d", testhandler_counter(ev),
		    TESTHANDLER_VERSION);
	} else if (len > 6 && memcmp(text, "alarm ", 6) == 0) {
		torpor_set_alarm(ev, torpor_now_ms() + atol(text + 6));
		snprintf(out, sizeof out, "ok");
	} else if (len > 5 && memcmp(text, "tags ", 5) == 0) {
		if (testhandler_tags(ev, text + 5) != 0)
			return -EINVAL;
		snprintf(out, sizeof out, "ok");
	} else if (len > 6 && memcmp(text, "flood ", 6) == 0) {
		return testhandler_flood(ev, text + 6, len - 6);
	} else if (len > 7 && memcmp(text, "attach ", 7) == 0) {
		if (testhandler_attach(ev, text + 7, len - 7) != 0)
			return -EINVAL;
		snprintf(out, sizeof out, "ok");
	} else if (len == 6 && memcmp(text, "remote", 6) == 0) {
		addr = torpor_param(ev, "REMOTE_ADDR");
		snprintf(out, sizeof out, "remote=%s",
		    addr != NULL ? addr : "(none)");
	} else
		snprintf(out, sizeof out, "v=%d %.*s", TESTHANDLER_VERSION,
		    (int)(len > 200 ? 200 : len), text);
	return torpor_reply_text(ev, out);
}

static int
on_connect(torpor_event *ev, void *user)
{
	const char	*names = torpor_param(ev, "HTTP_X_SHOW_PARAMS"), *v;
	char		 out[4096], name[128];
	size_t		 used = 0, n;

	(void)user;
	while (names != NULL && *names != '\0' && used < sizeof out) {
		n = strcspn(names, ",");
		if (n > 0 && n < sizeof name) {
			memcpy(name, names, n);
			name[n] = '\0';
			v = torpor_param(ev, name);
			used += (size_t)snprintf(out + used, sizeof out - used,
			    "%s=%s\n", name, v != NULL ? v : "(none)");
		}
		names += n + (names[n] == ',');
	}
	return used > 0 && used < sizeof out ?
	    torpor_reply_text(ev, out) : 0;
}

static int
on_close(torpor_event *ev, void *user)
{
	(void)user;
	testhandler_log("close", torpor_connection_id(ev),
	    torpor_close_code(ev), torpor_close_clean(ev));
	return 0;
}

static int
on_alarm(torpor_event *ev, void *user)
{
	const char	*fail = getenv("ALARM_FAIL_TIMES");
	int		 retry = torpor_alarm_retry(ev);

	(void)user;
	testhandler_log("alarm", torpor_object(ev), retry, 0);
	if (fail != NULL && (strcmp(fail, "always") == 0 ||
	    retry < atoi(fail)))
		return -EAGAIN;
	return 0;
}

int
main(void)
{
	static const struct torpor_handlers handlers = {
		.on_connect = on_connect,
		.on_message = on_message,
		.on_close = on_close,
		.on_alarm = on_alarm,
	};

	return torpor_run(&handlers, NULL) == 0 ? 0 : 1;
}
