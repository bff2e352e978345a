/*
 * echo-baseline: the bare libwebsockets server that bench/run.sh measures
 * torpor against. It is set up like the gateway (libev loop, the same
 * rx_buffer_size, UTF-8 validation, no permessage-deflate) and speaks the
 * reference app's protocol shape: a welcome on connect, and for every
 * message a pong of the same size as torpor's ({"type":"pong","timestamp":
 * ISO-8601,"connectionId":UUID}), but answered in the loop itself, with no
 * handler process, no FastCGI hop and no storage. The gap between the two
 * is the price of torpor's model.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include <ev.h>
#include <libwebsockets.h>

#define REPLY_MAX	256
#define PENDING_MAX	1024	/* unanswered messages before we give up */

/* lws per-session data. */
struct session {
	char		id[37];		/* UUIDv4, like the gateway's ids */
	int		welcome;	/* welcome still to send */
	unsigned int	replies;	/* messages not answered yet */
};

/* A random version 4 UUID, as the gateway names its connections. */
static void
echo_uuid(char out[37])
{
	uint8_t	b[16];
	size_t	got = 0;
	ssize_t	n;

	while (got < sizeof b) {
		n = getrandom(b + got, sizeof b - got, 0);
		if (n < 0 && errno != EINTR)
			abort();	/* no entropy source: nothing sane to do */
		if (n > 0)
			got += (size_t)n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Now as JavaScript's toISOString() writes it: the reference app's format. */
static void
echo_timestamp(char out[32])
{
	struct timespec	ts;
	struct tm	tm;
	size_t		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Writes one queued frame: the welcome first, then one pong per message. */
static int
echo_writeable(struct lws *wsi, struct session *s)
{
	unsigned char	 buf[LWS_PRE + REPLY_MAX], *p = buf + LWS_PRE;
	char		 ts[32];
	int		 n;

	if (s->welcome) {
		n = snprintf((char *)p, REPLY_MAX, "{\"type\":\"welcome\","
		    "\"message\":\"Connected to Hibernatable WebSocket Server\","
		    "\"connectionId\":\"%s\",\"heartbeatInterval\":20000}",
		    s->id);
		s->welcome = 0;
	} else if (s->replies > 0) {
		echo_timestamp(ts);
		n = snprintf((char *)p, REPLY_MAX, "{\"type\":\"pong\","
		    "\"timestamp\":\"%s\",\"connectionId\":\"%s\"}", ts, s->id);
		s->replies--;
	} else
		return 0;
	if (lws_write(wsi, p, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	if (s->welcome || s->replies > 0)
		lws_callback_on_writable(wsi);
	return 0;
}

static int
echo_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct session	*s = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		echo_uuid(s->id);
		s->welcome = 1;
		s->replies = 0;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		/* one reply per message, however many fragments it came in */
		if (!lws_is_final_fragment(wsi))
			return 0;
		if (++s->replies > PENDING_MAX)
			return -1;	/* a client that sends but never reads */
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return echo_writeable(wsi, s);
	default:
		return 0;
	}
}

static void
echo_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void
echo_usage(FILE *f)
{
	fputs("Usage: echo-baseline --port N\n"
	    "Bare libwebsockets server on 127.0.0.1:N (libev loop): a welcome\n"
	    "on connect, a pong for every message. The baseline of\n"
	    "bench/run.sh. SIGINT or SIGTERM stops it.\n", f);
}

/* Sockets are what a baseline holding 10,000 connections runs out of. */
static void
echo_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_max != RLIM_INFINITY) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* @return the port, 0 after --help, -1 on a usage error (printed). */
static long
echo_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long	 port = -1;
	char	*end;
	int	 c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 1 ||
			    port > 65535)
				port = -2;
			break;
		case 'h':
			echo_usage(stdout);
			return 0;
		default:
			echo_usage(stderr);
			return -1;
		}
	}
	if (port < 1 || optind < argc) {
		fputs("echo-baseline: want --port N (1 to 65535)\n", stderr);
		return -1;
	}
	return port;
}

/* Serves on 127.0.0.1:port until SIGINT or SIGTERM; @return 0 or -1. */
static int
echo_serve(long port)
{
	struct lws_protocols		 protocols[2];
	struct lws_context_creation_info info;
	struct lws_context		*ctx = NULL;
	struct ev_loop			*loop;
	void				*foreign[1];
	ev_signal			 sigint, sigterm;
	int				 rc = -1;

	memset(protocols, 0, sizeof protocols);
	protocols[0].name = "echo-baseline";
	protocols[0].callback = echo_callback;
	protocols[0].per_session_data_size = sizeof(struct session);
	protocols[0].rx_buffer_size = 1024;	/* as the gateway */
	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		fputs("echo-baseline: cannot create the libev loop\n", stderr);
		return -1;
	}
	foreign[0] = loop;
	memset(&info, 0, sizeof info);
	info.foreign_loops = foreign;
	info.options = LWS_SERVER_OPTION_LIBEV |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_VALIDATE_UTF8;
	if ((ctx = lws_create_context(&info)) == NULL) {
		fputs("echo-baseline: cannot create the libwebsockets context "
		    "(is libwebsockets-evlib-ev installed?)\n", stderr);
		goto done;
	}
	info.port = (int)port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.vhost_name = "echo-baseline";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = 10;
	if (lws_create_vhost(ctx, &info) == NULL) {
		fprintf(stderr, "echo-baseline: cannot listen on 127.0.0.1:%ld\n",
		    port);
		goto done;
	}
	ev_signal_init(&sigint, echo_signal, SIGINT);
	ev_signal_init(&sigterm, echo_signal, SIGTERM);
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sigterm);
	fprintf(stderr, "echo-baseline: listening on 127.0.0.1:%ld\n", port);
	ev_run(loop, 0);
	ev_signal_stop(loop, &sigint);
	ev_signal_stop(loop, &sigterm);
	rc = 0;
done:
	if (ctx != NULL)
		lws_context_destroy(ctx);
	ev_loop_destroy(loop);
	return rc;
}

int
main(int argc, char **argv)
{
	long	port = echo_parse(argc, argv);

	if (port <= 0)
		return port == 0 ? 0 : 2;
	echo_nofile();
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	return echo_serve(port) == 0 ? 0 : 1;
}
