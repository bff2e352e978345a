/*
 * badhandler: a FastCGI responder that misbehaves on purpose, for the
 * end-to-end tests of the gateway's failure handling (tests/e2e/
 * test_failures.py). It is plain libfcgi, not the torpor SDK, so that what
 * reaches the gateway is exactly what is written here.
 *
 * Usage: badhandler MODE, with the FastCGI listening socket as fd 0 (the
 * gateway's spawn mode, or cgi-fcgi -start). Whatever the mode, a connect
 * event is answered with the text frame "welcome" and close/alarm/error
 * events with an empty 200. Message events, by mode:
 *
 *   crash-on-message  "crash": abort() halfway through writing the response
 *                     (the headers are cut); anything else is echoed
 *   status500         Status 500 for every message
 *   garbage           bytes that are not a CGI response, every message
 *   garbage-records   bytes that are not FastCGI records, written straight
 *                     onto the connection, every message
 *   slow              "slow": sleep 30 s before echoing (longer than the
 *                     event timeout the tests set); anything else is echoed
 *   echo              every message is echoed (a well-behaved control)
 *
 * The modes below misbehave on the message "bad" only and echo anything
 * else, so that a test can check that the other connections of the same
 * object are still served:
 *
 *   truncated         half a CGI header section ("Status: 200 OK\r\n
 *                     Content-Ty"), then a normal end of the request
 *   oversized         a valid response with a 64 KiB text body (for a
 *                     gateway run with a small --max-response)
 *   bad-status        "Status: abc"
 *   no-colon          a header line without a colon
 *   bad-close         "Torpor-Close: 99999"
 *   bad-actions       an actions-form body that is not valid JSON
 *   silent            no answer at all: sleeps 30 s (past the event
 *                     timeout the tests set), then ends the request empty
 *   stderr            writes STDERR_LINE to FastCGI's error stream and
 *                     STDERR_FD2_LINE to file descriptor 2, then echoes
 *                     (a good answer that must still be applied)
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#define BODY_MAX	(16 * 1024 * 1024)
#define SLOW_SECONDS	30
#define OVERSIZED_BYTES	(64 * 1024)
#define STDERR_LINE	"badhandler: a warning on the FastCGI error stream"
#define STDERR_FD2_LINE	"badhandler: a warning on file descriptor 2"

static const char ok_empty[] = "Status: 200 OK\r\n\r\n";
static const char ok_text[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";

struct mode {
	const char	*name;
	void		(*on_message)(FCGX_Request *, const char *, size_t);
};

/* Writes len bytes to a FastCGI stream; libfcgi takes an int length. */
static void
reply_put(FCGX_Stream *out, const char *data, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (FCGX_PutStr(data, n, out) != n)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void
reply_text(FCGX_Request *req, const char *body, size_t len)
{
	reply_put(req->out, ok_text, sizeof ok_text - 1);
	reply_put(req->out, body, len);
}

static int
payload_is(const char *body, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(body, word, len) == 0;
}

static void
message_echo(FCGX_Request *req, const char *body, size_t len)
{
	reply_text(req, body, len);
}

/*
 * Dies with part of the response already on the wire, so the gateway sees
 * a STDOUT record and then end-of-file instead of FCGI_END_REQUEST.
 */
static void
message_crash(FCGX_Request *req, const char *body, size_t len)
{
	static const char partial[] = "Status: 200 OK\r\nContent-";

	if (!payload_is(body, len, "crash")) {
		reply_text(req, body, len);
		return;
	}
	reply_put(req->out, partial, sizeof partial - 1);
	FCGX_FFlush(req->out);
	abort();
}

static void
message_status500(FCGX_Request *req, const char *body, size_t len)
{
	static const char r[] = "Status: 500 Internal Server Error\r\n"
	    "Content-Type: text/plain\r\n\r\nfailed on purpose";

	reply_put(req->out, r, sizeof r - 1);
}

/* No header line, no colon, no end of headers, a NUL and invalid UTF-8. */
static void
message_garbage(FCGX_Request *req, const char *body, size_t len)
{
	static const char junk[] = "\x01\x02 this is not a CGI response \xff"
	    "\xfe\x00 <<<>>> \x7f";

	reply_put(req->out, junk, sizeof junk - 1);
}

/*
 * Writes past libfcgi, onto the connection itself: the first byte is not
 * FastCGI version 1, so no record decoder can take it for a record.
 */
static void
message_garbage_records(FCGX_Request *req, const char *body, size_t len)
{
	static const char junk[] = "HTTP/1.0 200 OK\r\n\r\nnot FastCGI at all";
	ssize_t n;

	do
		n = write(req->ipcFd, junk, sizeof junk - 1);
	while (n < 0 && errno == EINTR);
}

static void
message_slow(FCGX_Request *req, const char *body, size_t len)
{
	struct timespec ts = { SLOW_SECONDS, 0 };

	if (payload_is(body, len, "slow")) {
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	reply_text(req, body, len);
}

/* Echoes anything but "bad"; returns 1 when the caller must misbehave. */
static int
echo_unless_bad(FCGX_Request *req, const char *body, size_t len)
{
	if (payload_is(body, len, "bad"))
		return 1;
	reply_text(req, body, len);
	return 0;
}

/* The request ends normally (FCGI_END_REQUEST) after half a header. */
static void
message_truncated(FCGX_Request *req, const char *body, size_t len)
{
	static const char half[] = "Status: 200 OK\r\nContent-Ty";

	if (echo_unless_bad(req, body, len))
		reply_put(req->out, half, sizeof half - 1);
}

static void
message_oversized(FCGX_Request *req, const char *body, size_t len)
{
	char	*big;

	if (!echo_unless_bad(req, body, len))
		return;
	if ((big = malloc(OVERSIZED_BYTES)) == NULL)
		abort();
	memset(big, 'x', OVERSIZED_BYTES);
	reply_text(req, big, OVERSIZED_BYTES);
	free(big);
}

static void
message_bad_status(FCGX_Request *req, const char *body, size_t len)
{
	static const char r[] = "Status: abc\r\n"
	    "Content-Type: text/plain\r\n\r\nbad status";

	if (echo_unless_bad(req, body, len))
		reply_put(req->out, r, sizeof r - 1);
}

static void
message_no_colon(FCGX_Request *req, const char *body, size_t len)
{
	static const char r[] = "Status: 200 OK\r\n"
	    "this header line has no colon\r\n"
	    "Content-Type: text/plain\r\n\r\nno colon";

	if (echo_unless_bad(req, body, len))
		reply_put(req->out, r, sizeof r - 1);
}

static void
message_bad_close(FCGX_Request *req, const char *body, size_t len)
{
	static const char r[] = "Status: 200 OK\r\nTorpor-Close: 99999\r\n"
	    "Content-Type: text/plain\r\n\r\nbad close code";

	if (echo_unless_bad(req, body, len))
		reply_put(req->out, r, sizeof r - 1);
}

/* An unterminated array: the first action is fine, the JSON is not. */
static void
message_bad_actions(FCGX_Request *req, const char *body, size_t len)
{
	static const char r[] = "Status: 200 OK\r\n"
	    "Content-Type: application/vnd.torpor+json\r\n\r\n"
	    "[{\"action\": \"send\", \"text\": \"never sent\"}, {\"action\":";

	if (echo_unless_bad(req, body, len))
		reply_put(req->out, r, sizeof r - 1);
}

static void
message_silent(FCGX_Request *req, const char *body, size_t len)
{
	struct timespec ts = { SLOW_SECONDS, 0 };

	if (!echo_unless_bad(req, body, len))
		return;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
message_stderr(FCGX_Request *req, const char *body, size_t len)
{
	static const char fd2[] = STDERR_FD2_LINE "\n";
	ssize_t n;

	if (payload_is(body, len, "bad")) {
		FCGX_PutS(STDERR_LINE "\n", req->err);
		FCGX_FFlush(req->err);
		do
			n = write(2, fd2, sizeof fd2 - 1);
		while (n < 0 && errno == EINTR);
	}
	reply_text(req, body, len);
}

static const struct mode modes[] = {
	{ "crash-on-message",	message_crash },
	{ "status500",		message_status500 },
	{ "garbage",		message_garbage },
	{ "garbage-records",	message_garbage_records },
	{ "slow",		message_slow },
	{ "echo",		message_echo },
	{ "truncated",		message_truncated },
	{ "oversized",		message_oversized },
	{ "bad-status",		message_bad_status },
	{ "no-colon",		message_no_colon },
	{ "bad-close",		message_bad_close },
	{ "bad-actions",	message_bad_actions },
	{ "silent",		message_silent },
	{ "stderr",		message_stderr },
};

/*
 * Reads the request body (CONTENT_LENGTH bytes at most BODY_MAX) into a
 * NUL-terminated buffer the caller frees. Returns 0 or -errno.
 */
static int
body_read(FCGX_Request *req, char **out, size_t *outlen)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	unsigned long	 want = cl != NULL ? strtoul(cl, NULL, 10) : 0;
	char		*buf = NULL;
	size_t		 got = 0;
	int		 n;

	if (want > BODY_MAX)
		return -E2BIG;
	if ((buf = malloc(want + 1)) == NULL)
		return -ENOMEM;
	while (got < want) {
		n = FCGX_GetStr(buf + got, (int)(want - got), req->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	return 0;
}

static void
request_handle(FCGX_Request *req, const struct mode *mode)
{
	const char	*event = FCGX_GetParam("TORPOR_EVENT", req->envp);
	char		*body = NULL;
	size_t		 len = 0;
	static const char welcome[] = "welcome";

	if (event != NULL && strcmp(event, "connect") == 0) {
		reply_text(req, welcome, sizeof welcome - 1);
		return;
	}
	if (event == NULL || strcmp(event, "message") != 0) {
		reply_put(req->out, ok_empty, sizeof ok_empty - 1);
		return;
	}
	if (body_read(req, &body, &len) != 0) {
		static const char r[] = "Status: 413 Payload Too Large\r\n\r\n";

		reply_put(req->out, r, sizeof r - 1);
		return;
	}
	mode->on_message(req, body, len);
	free(body);
}

static const struct mode *
mode_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (strcmp(modes[i].name, name) == 0)
			return &modes[i];
	}
	return NULL;
}

static void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: badhandler MODE\nmodes:");
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
		fprintf(stderr, " %s", modes[i].name);
	fputc('\n', stderr);
}

int
main(int argc, char **argv)
{
	const struct mode	*mode;
	FCGX_Request		 req;
	struct rlimit		 nocore = { 0, 0 };

	if (argc != 2 || (mode = mode_find(argv[1])) == NULL) {
		usage();
		return 2;
	}
	/* abort() on purpose must not leave core files behind. */
	setrlimit(RLIMIT_CORE, &nocore);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "badhandler: FCGX_Init failed\n");
		return 1;
	}
	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		fprintf(stderr, "badhandler: FCGX_InitRequest failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		request_handle(&req, mode);
		FCGX_Finish_r(&req);
	}
	return 0;
}
