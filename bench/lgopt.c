/*
 * lgopt: command line of the load generator. Numeric options come from a
 * table with their bounds, so every value is range-checked the same way;
 * the URL is parsed here and refused unless it names a loopback address,
 * because a load generator pointed at someone else's server is an attack.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgopt.h"

#define DEFAULT_URL	"ws://127.0.0.1:8788/websocket"
#define DEFAULT_MESSAGE	"{\"type\":\"ping\"}"
#define DEFAULT_EXPECT	"\"type\":\"pong\""
#define MESSAGE_MAX	(1 << 20)

enum { OPT_MODE = 1, OPT_URL, OPT_MESSAGE, OPT_EXPECT, OPT_SELF_TEST,
    OPT_HELP, OPT_NUMBER = 64 };

/* Numeric options: long or double, with their bounds. */
static const struct number {
	const char	*name;
	size_t		 off;
	int		 is_long;
	double		 min;
	double		 max;
} numbers[] = {
	{ "conns", offsetof(struct lgopt, conns), 1, 1, 100000 },
	{ "parallel", offsetof(struct lgopt, parallel), 1, 1, 10000 },
	{ "rounds", offsetof(struct lgopt, rounds), 1, 1, 100000 },
	{ "pending", offsetof(struct lgopt, pending), 1, 1, 100000 },
	{ "objects", offsetof(struct lgopt, objects), 1, 1, 100000 },
	{ "rate", offsetof(struct lgopt, rate), 0, 1, 1e7 },
	{ "duration", offsetof(struct lgopt, duration), 0, 0.01, 3600 },
	{ "warmup", offsetof(struct lgopt, warmup), 0, 0, 3600 },
	{ "hold", offsetof(struct lgopt, hold), 0, 0, 86400 },
	{ "timeout", offsetof(struct lgopt, timeout), 0, 0.01, 3600 },
};
#define NNUMBERS	(sizeof numbers / sizeof numbers[0])

static const char *const modes[] = { "closed", "idle", "connect", "wake" };

static void
lgopt_usage(FILE *f)
{
	fputs(
"Usage: loadgen --mode closed|idle|connect|wake [OPTION]...\n"
"WebSocket load generator for torpor (loopback targets only).\n"
"\n"
"Modes:\n"
"  closed   --conns C connections; each waits for its welcome, then sends\n"
"           the message and waits for one reply before the next, for\n"
"           --duration seconds after --warmup. Prints messages/s and the\n"
"           p50/p90/p99/max latency of a reply in microseconds.\n"
"  idle     opens --conns C connections, waits for every welcome, prints\n"
"           \"ready conns=C\", holds them for --hold seconds (a line on\n"
"           stdin ends the hold early; EOF does not), then closes them.\n"
"  connect  --parallel P concurrent cycles of open, welcome, close for\n"
"           --duration seconds; prints connects/s and the p50/p99 time\n"
"           from connect() to the welcome.\n"
"  wake     one connection; for each of --rounds rounds prints\n"
"           \"ready round=N\", waits for a line on stdin, sends the\n"
"           message and prints \"round=N latency_us=X\". A script makes\n"
"           the server's handler pool reach zero before writing the\n"
"           line, so X is the wake-from-zero latency of a message on a\n"
"           socket that was already open.\n"
"\n"
"Options:\n"
"  --url ws://HOST:PORT/PATH  target; HOST must be 127.0.0.0/8, [::1] or\n"
"                        localhost; default " DEFAULT_URL "\n"
"  --conns C             connections (closed, idle); default 1\n"
"  --objects N           spread the connections over N objects: the URL's\n"
"                        path holds one %d, which connection i (a slot in\n"
"                        connect mode) replaces with i % N, e.g.\n"
"                        --url ws://127.0.0.1:8788/rooms/r%d --objects 8\n"
"  --duration SECONDS    measured time (closed, connect); default 5\n"
"  --warmup SECONDS      unmeasured time before it; default 1\n"
"  --hold SECONDS        idle: how long to hold; default 0\n"
"  --parallel P          connect: cycles in flight; default 8\n"
"  --rounds N            wake: rounds; default 5\n"
"  --message TEXT        text message to send; default " DEFAULT_MESSAGE "\n"
"  --expect TEXT         a reply whose first 64 bytes lack TEXT is an error;\n"
"                        default " DEFAULT_EXPECT " with the default message,\n"
"                        none with --message; '' for none\n"
"  --rate R              connections opened per second while setting up;\n"
"                        default 20000\n"
"  --pending P           handshakes in flight while setting up; default 256\n"
"  --timeout SECONDS     bound on any single wait (connect to welcome, a\n"
"                        reply, a line on stdin); default 10\n"
"  --self-test           check SHA-1, the handshake and the framing; exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"Output: one machine-readable line on stdout (key=value ...), a human one\n"
"on stderr. Exit status 0; 1 if a connection failed (errors=N > 0) or the\n"
"run could not proceed (connection refused, unexpected close while\n"
"setting up, timeout); 2 on a usage error.\n", f);
}

/*
 * Splits the URL into Host header, host and path; port is set when given.
 * @return 0, or -1 when it is not ws://HOST[:PORT][/PATH].
 */
static int
lgopt_split(struct lgopt *o, const char *url, char *host, size_t hcap,
    long *port)
{
	const char	*auth = url + 5, *slash, *p, *end;
	char		*num_end;
	size_t		 alen, hlen;

	slash = strchr(auth, '/');
	alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
	if (alen == 0 || alen >= sizeof o->hostport)
		return -1;
	memcpy(o->hostport, auth, alen);
	o->hostport[alen] = '\0';
	end = auth + alen;
	if (auth[0] == '[') {
		/* an IPv6 literal keeps its colons inside the brackets */
		if ((p = memchr(auth, ']', alen)) == NULL)
			return -1;
		hlen = (size_t)(p - auth - 1);
		auth++;
		p++;
	} else {
		p = memchr(auth, ':', alen);
		if (p == NULL)
			p = end;
		hlen = (size_t)(p - auth);
	}
	if (hlen == 0 || hlen >= hcap)
		return -1;
	memcpy(host, auth, hlen);
	host[hlen] = '\0';
	if (p < end) {
		if (*p != ':')
			return -1;
		*port = strtol(p + 1, &num_end, 10);
		if (num_end != end || *port < 1 || *port > 65535)
			return -1;
	}
	snprintf(o->path, sizeof o->path, "%s", slash != NULL ? slash : "/");
	/* the path goes into the request line: no blanks or controls */
	for (p = o->path; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -1;
	return 0;
}

/*
 * Checks the path's %d against --objects: exactly one with it, none
 * without (a literal %d is no valid path, and surely a forgotten option).
 */
static int
lgopt_template(struct lgopt *o)
{
	const char	*hole = strstr(o->path, "%d");

	if (o->objects == 0 && hole == NULL)
		return 0;
	if (o->objects == 0) {
		fprintf(stderr, "loadgen: the URL's path '%s' has a %%d: give "
		    "--objects N\n", o->path);
		return -1;
	}
	if (hole == NULL || strstr(hole + 2, "%d") != NULL) {
		fprintf(stderr, "loadgen: --objects wants one %%d in the URL's "
		    "path, where the object number goes (got '%s')\n",
		    o->path);
		return -1;
	}
	o->path_hole = (size_t)(hole - o->path);
	return 0;
}

int
lgopt_path(const struct lgopt *o, size_t i, char *buf, size_t cap)
{
	int	n;

	if (o->objects == 0)
		n = snprintf(buf, cap, "%s", o->path);
	else
		n = snprintf(buf, cap, "%.*s%zu%s", (int)o->path_hole,
		    o->path, i % (size_t)o->objects,
		    o->path + o->path_hole + 2);
	return n >= 0 && (size_t)n < cap ? 0 : -1;
}

/* Fills o->addr from a numeric host; @return -1 unless it is loopback. */
static int
lgopt_loopback(struct lgopt *o, const char *host, long port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&o->addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&o->addr;

	memset(&o->addr, 0, sizeof o->addr);
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		o->addrlen = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		o->addrlen = sizeof *sin6;
		return 0;
	}
	return -1;	/* a name other than localhost, or not loopback */
}

/*
 * Parses a ws:// URL and checks that its host is a loopback address and
 * its path agrees with --objects.
 */
static int
lgopt_url(struct lgopt *o, const char *url)
{
	char	host[256];
	long	port = 80;

	if (strncmp(url, "ws://", 5) != 0) {
		fprintf(stderr, "loadgen: %s: only ws:// URLs (no TLS)\n", url);
		return -1;
	}
	if (lgopt_split(o, url, host, sizeof host, &port) < 0) {
		fprintf(stderr, "loadgen: bad URL '%s' (want "
		    "ws://HOST:PORT/PATH)\n", url);
		return -1;
	}
	if (lgopt_loopback(o, host, port) < 0) {
		fprintf(stderr, "loadgen: refusing host '%s': only loopback "
		    "addresses (127.0.0.0/8, ::1, localhost)\n", host);
		return -1;
	}
	return lgopt_template(o);
}

static int
lgopt_number(struct lgopt *o, const struct number *n, const char *arg)
{
	char	*end;
	double	 v = strtod(arg, &end);

	if (end == arg || *end != '\0' || !(v >= n->min && v <= n->max) ||
	    (n->is_long && v != (double)(long)v)) {
		fprintf(stderr, "loadgen: --%s %s: want %s from %g to %g\n",
		    n->name, arg, n->is_long ? "an integer" : "a number",
		    n->min, n->max);
		return -1;
	}
	if (n->is_long)
		*(long *)(void *)((char *)o + n->off) = (long)v;
	else
		*(double *)(void *)((char *)o + n->off) = v;
	return 0;
}

static int
lgopt_mode(struct lgopt *o, const char *arg)
{
	size_t	i;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(arg, modes[i]) == 0) {
			o->mode = (enum lg_mode)i;
			return 0;
		}
	fprintf(stderr, "loadgen: --mode %s: want closed, idle, connect or "
	    "wake\n", arg);
	return -1;
}

/* The non-numeric options; the numeric ones are appended from numbers[]. */
static const struct option fixed_options[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "url", required_argument, NULL, OPT_URL },
	{ "message", required_argument, NULL, OPT_MESSAGE },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "self-test", no_argument, NULL, OPT_SELF_TEST },
	{ "help", no_argument, NULL, OPT_HELP },
};
#define NFIXED	(sizeof fixed_options / sizeof fixed_options[0])

static void
lgopt_defaults(struct lgopt *o)
{
	memset(o, 0, sizeof *o);
	o->mode = MODE_CLOSED;
	o->conns = 1;
	o->parallel = 8;
	o->rounds = 5;
	o->pending = 256;
	o->rate = 20000;
	o->duration = 5;
	o->warmup = 1;
	o->timeout = 10;
	o->message = DEFAULT_MESSAGE;
}

int
lgopt_parse(struct lgopt *o, int argc, char **argv)
{
	struct option	 longopts[NFIXED + NNUMBERS + 1];
	const char	*url = DEFAULT_URL;
	int		 c, message_set = 0, expect_set = 0;
	size_t		 i;

	lgopt_defaults(o);
	memset(longopts, 0, sizeof longopts);
	memcpy(longopts, fixed_options, sizeof fixed_options);
	for (i = 0; i < NNUMBERS; i++)
		longopts[NFIXED + i] = (struct option){ numbers[i].name,
		    required_argument, NULL, OPT_NUMBER + (int)i };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c >= OPT_NUMBER && c < OPT_NUMBER + (int)NNUMBERS) {
			if (lgopt_number(o, &numbers[c - OPT_NUMBER],
			    optarg) < 0)
				return -1;
			continue;
		}
		switch (c) {
		case OPT_MODE:
			if (lgopt_mode(o, optarg) < 0)
				return -1;
			break;
		case OPT_URL:
			url = optarg;
			break;
		case OPT_MESSAGE:
			o->message = optarg;
			message_set = 1;
			break;
		case OPT_EXPECT:
			o->expect = optarg;
			expect_set = 1;
			break;
		case OPT_SELF_TEST:
			o->self_test = 1;
			break;
		case 'h':
		case OPT_HELP:
			lgopt_usage(stdout);
			return 1;
		default:
			fputs("Try 'loadgen --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n",
		    argv[optind]);
		return -1;
	}
	o->message_len = strlen(o->message);
	if (o->message_len > MESSAGE_MAX) {
		fprintf(stderr, "loadgen: --message longer than %d bytes\n",
		    MESSAGE_MAX);
		return -1;
	}
	/* the default check only makes sense for the default message */
	if (!expect_set && !message_set)
		o->expect = DEFAULT_EXPECT;
	if (o->expect != NULL && o->expect[0] == '\0')
		o->expect = NULL;
	if (o->self_test)
		return 0;
	return lgopt_url(o, url);
}
