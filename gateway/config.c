/*
 * config: the command line of torpor-gateway. One table describes every
 * option (name, argument, default, range, help), so parsing, defaults and
 * --help cannot disagree; the syntax of the values (sizes, durations,
 * HOST:PORT) is options.c's. Parsing checks what can be checked early (an
 * executable handler, an existing static dir) and creates nothing: the
 * gateway makes its run and store directories when it starts.
 */
#ifdef HAVE_CONFIG_H
/*
 * Angle brackets skip this file's own directory, so this is autoconf's
 * config.h from the build dir (-I. precedes -I$(top_srcdir)/gateway on
 * automake's compile line), not the gateway's config.h next to us.
 */
#include <config.h>
#endif
#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION is not defined: build through configure and make"
#endif

#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "options.h"
#include "xmalloc.h"

#if !defined(TORPOR_BUILDDIR) || !defined(TORPOR_SRCDIR) || \
    !defined(TORPOR_PKGLIBEXECDIR) || !defined(TORPOR_PKGDATADIR)
#error "the TORPOR_* directory macros come from Makefile.am"
#endif

#define CONFIG_PROG		"torpor-gateway"
#define CONFIG_LISTEN_HOST	"127.0.0.1"
#define CONFIG_LISTEN_PORT	8788
#define CONFIG_ROUTE		"/websocket=test-room"
#define CONFIG_HANDLERS_MAX	1024
#define CONFIG_USAGE_COL	28	/* where help text starts in --help */
/*
 * Handler sockets live in the run dir and sun_path holds 108 bytes; 80
 * leaves room for the socket file names whatever the pool calls them.
 */
#define CONFIG_RUN_DIR_MAX	80

enum {
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_LISTEN = 256,
	OPT_ROUTE,
	OPT_HANDLER,
	OPT_HANDLERS,
	OPT_IDLE_TIMEOUT,
	OPT_EVENT_TIMEOUT,
	OPT_RUN_DIR,
	OPT_STORE,
	OPT_STATIC,
	OPT_DURABILITY,
	OPT_LOG_LEVEL,
	OPT_MAX_MESSAGE,
	OPT_MAX_ATTACHMENT,
	OPT_MAX_OBJECT_NAME,
	OPT_SEND_QUEUE,
	OPT_SEND_TIMEOUT,
	OPT_MAX_HANDSHAKES,
	OPT_OBJECT_QUEUE,
	OPT_MAX_RESPONSE,
	OPT_MAX_CONNECTIONS,
	OPT_ALARM_RETRIES,
	OPT_RELOAD,
	OPT_RELOAD_TIMEOUT,
	OPT_TRUST_PROXY,
	OPT_HANDLER_ADDR,
	OPT_HANDLER_STDERR,
	OPT_HANDLER_CONNS,
	OPT_LOG_FORMAT,
	OPT_ADMIN_ALLOW,
	OPT_MAX_PER_IP,
	OPT_ALLOW_ORIGIN,
	OPT_SUBPROTOCOL,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_MAX_HEADER,
	OPT_MAX_TAGS,
	OPT_MAX_TAG_BYTES,
	OPT_HANDLER_PARAM,
	OPT_USER,
};

struct config_opt {
	const char	*name;
	const char	*arg;		/* metavariable; NULL: takes none */
	int		 id;
	const char	*help;		/* lines of at most 50 columns */
	/* Numeric options only: */
	enum options_kind kind;
	uint64_t	 min;
	uint64_t	 max;
	uint64_t	 def;
	const char	*units;
	size_t		 offset;	/* of the field in struct config */
	size_t		 size;		/* sizeof(int) or sizeof(size_t) */
};

#define FIELD(f) \
	.offset = offsetof(struct config, f), \
	.size = sizeof(((struct config *)0)->f)
#define KIB	OPTIONS_KIB
#define MIB	OPTIONS_MIB
#define GIB	OPTIONS_GIB

static const struct config_opt config_opts[] = {
	{ .name = "listen", .arg = "HOST:PORT|unix:PATH", .id = OPT_LISTEN,
	  .help = "address to serve HTTP and WebSocket on, or a\n"
	      "unix socket (behind nginx); default\n"
	      "127.0.0.1:8788; IPv6 as [::1]:8788" },
	{ .name = "trust-proxy", .arg = "ADDR", .id = OPT_TRUST_PROXY,
	  .help = "believe X-Real-IP / X-Forwarded-For from this\n"
	      "peer address ('unix': unix-socket peers);\n"
	      "repeatable; default: trust nobody" },
	{ .name = "route", .arg = "PATH=OBJECT|PREFIX/*", .id = OPT_ROUTE,
	  .help = "map PATH to OBJECT, or each path under PREFIX\n"
	      "to the object named by the rest; repeatable;\n"
	      "default /websocket=test-room" },
	{ .name = "handler", .arg = "PATH [ARG]...", .id = OPT_HANDLER,
	  .help = "handler program; the words after PATH that do\n"
	      "not start with '-' are its arguments;\n"
	      "default: the reference app (pingpong)" },
	{ .name = "handler-addr", .arg = "unix:PATH|tcp:HOST:PORT",
	  .id = OPT_HANDLER_ADDR,
	  .help = "external mode: connect to a running FastCGI\n"
	      "server (PHP-FPM...) instead of spawning handlers" },
	{ .name = "handler-stderr", .arg = "fail|log", .id = OPT_HANDLER_STDERR,
	  .help = "a request during which the handler wrote to\n"
	      "FastCGI's stderr stream: fail it (close 1011)\n"
	      "or only log the lines; default fail" },
	{ .name = "handler-param", .arg = "NAME=VALUE", .id = OPT_HANDLER_PARAM,
	  .help = "a FastCGI param sent with every request (PHP-FPM\n"
	      "needs SCRIPT_FILENAME); repeatable" },
	{ .name = "user", .arg = "NAME", .id = OPT_USER,
	  .help = "started as root: run handler processes as this\n"
	      "user (and its group); default: as the gateway" },
	{ .name = "handler-conns", .arg = "N", .id = OPT_HANDLER_CONNS,
	  .help = "external mode: connections (requests in flight)\n"
	      "to the FastCGI server",
	  .kind = OPTIONS_COUNT, .min = 1, .max = 1024, .def = 4,
	  .units = "connections", FIELD(handler_conns) },
	{ .name = "handlers", .arg = "MIN:MAX", .id = OPT_HANDLERS,
	  .help = "processes kept (MIN; 0: hibernate) and allowed\n"
	      "(MAX); default 0:2; 0 <= MIN <= MAX <= 1024" },
	{ .name = "idle-timeout", .arg = "SECONDS", .id = OPT_IDLE_TIMEOUT,
	  .help = "retire processes above MIN idle this long",
	  .kind = OPTIONS_SECONDS, .min = 1, .max = 86400000, .def = 30000,
	  .units = "seconds", FIELD(idle_timeout_ms) },
	{ .name = "event-timeout", .arg = "SECONDS", .id = OPT_EVENT_TIMEOUT,
	  .help = "kill a handler that has not answered by then\n"
	      "(the connection gets close 1011)",
	  .kind = OPTIONS_SECONDS, .min = 1, .max = 86400000, .def = 30000,
	  .units = "seconds", FIELD(event_timeout_ms) },
	{ .name = "reload-timeout", .arg = "SECONDS", .id = OPT_RELOAD_TIMEOUT,
	  .help = "how long a reload's new handler may take to\n"
	      "answer before the reload fails",
	  .kind = OPTIONS_SECONDS, .min = 1, .max = 3600000, .def = 10000,
	  .units = "seconds", FIELD(reload_timeout_ms) },
	{ .name = "reload", .id = OPT_RELOAD,
	  .help = "do not serve: tell the gateway using --run-dir\n"
	      "to start a new handler generation (as SIGHUP)\n"
	      "and exit 0 when it serves, 1 if it failed" },
	{ .name = "run-dir", .arg = "DIR", .id = OPT_RUN_DIR,
	  .help = "handler sockets, mode 0700, at most 80 bytes;\n"
	      "default /run/torpor as root, else\n"
	      "$XDG_RUNTIME_DIR/torpor or /tmp/torpor-UID" },
	{ .name = "store", .arg = "DIR", .id = OPT_STORE,
	  .help = "LMDB store (DIR/state, DIR/gateway); default\n"
	      "/var/lib/torpor as root, else\n"
	      "$XDG_STATE_HOME/torpor or ~/.local/state/torpor" },
	{ .name = "static", .arg = "DIR", .id = OPT_STATIC,
	  .help = "files served at /; default: the reference app's\n"
	      "page, or none when --handler is given" },
	{ .name = "durability", .arg = "full|group|none", .id = OPT_DURABILITY,
	  .help = "full: every commit syncs; group: replies wait\n"
	      "for a shared sync; none: no sync; default none" },
	{ .name = "log-level", .arg = "LEVEL", .id = OPT_LOG_LEVEL,
	  .help = "error, warn, info or debug; default info" },
	{ .name = "log-format", .arg = "text|json", .id = OPT_LOG_FORMAT,
	  .help = "log lines as key=value text or JSON objects;\n"
	      "default text" },
	{ .name = "admin-allow", .arg = "ADDR", .id = OPT_ADMIN_ALLOW,
	  .help = "peer address allowed to read /metrics and\n"
	      "/status; repeatable; default 127.0.0.1 and ::1" },
	{ .name = "max-message", .arg = "BYTES", .id = OPT_MAX_MESSAGE,
	  .help = "largest client message (larger: close 1009)",
	  .kind = OPTIONS_BYTES, .min = 1, .max = 32 * MIB, .def = MIB,
	  .units = "bytes", FIELD(max_message) },
	{ .name = "max-attachment", .arg = "BYTES", .id = OPT_MAX_ATTACHMENT,
	  .help = "largest attachment a handler may set (larger:\n"
	      "the response is refused, close 1011)",
	  .kind = OPTIONS_BYTES, .min = 1, .max = MIB, .def = 16 * KIB,
	  .units = "bytes", FIELD(max_attachment) },
	{ .name = "max-object-name", .arg = "BYTES", .id = OPT_MAX_OBJECT_NAME,
	  .help = "longest object name (longer: HTTP 400)",
	  .kind = OPTIONS_BYTES, .min = 1, .max = 255, .def = 128,
	  .units = "bytes", FIELD(max_name) },
	{ .name = "send-queue", .arg = "BYTES", .id = OPT_SEND_QUEUE,
	  .help = "bytes queued for a slow client (more: close 1008)",
	  .kind = OPTIONS_BYTES, .min = KIB, .max = GIB, .def = 4 * MIB,
	  .units = "bytes", FIELD(send_queue_max) },
	{ .name = "send-timeout", .arg = "SECONDS", .id = OPT_SEND_TIMEOUT,
	  .help = "drop a client whose output made no progress\n"
	      "for this long (it does not read)",
	  .kind = OPTIONS_SECONDS, .min = 1000, .max = 3600000, .def = 60000,
	  .units = "seconds", FIELD(send_timeout_ms) },
	{ .name = "object-queue", .arg = "EVENTS", .id = OPT_OBJECT_QUEUE,
	  .help = "events queued per object (more: reading paused)",
	  .kind = OPTIONS_COUNT, .min = 1, .max = 1048576, .def = 1024,
	  .units = "events", FIELD(object_queue_max) },
	{ .name = "max-response", .arg = "BYTES", .id = OPT_MAX_RESPONSE,
	  .help = "largest handler response (larger: close 1011)",
	  .kind = OPTIONS_BYTES, .min = KIB, .max = GIB, .def = 16 * MIB,
	  .units = "bytes", FIELD(max_response) },
	{ .name = "max-connections", .arg = "N", .id = OPT_MAX_CONNECTIONS,
	  .help = "open WebSocket connections (more: HTTP 503)",
	  .kind = OPTIONS_COUNT, .min = 1, .max = 10000000, .def = 100000,
	  .units = "connections", FIELD(max_connections) },
	{ .name = "max-connections-per-ip", .arg = "N", .id = OPT_MAX_PER_IP,
	  .help = "open WebSockets and requests in progress from\n"
	      "one client address (more: HTTP 503)",
	  .kind = OPTIONS_COUNT, .min = 1, .max = 10000000, .def = 1000,
	  .units = "connections", FIELD(max_per_ip) },
	{ .name = "max-handshakes", .arg = "N", .id = OPT_MAX_HANDSHAKES,
	  .help = "connections still sending their request (more:\n"
	      "HTTP 503 at once)",
	  .kind = OPTIONS_COUNT, .min = 1, .max = 10000000, .def = 10000,
	  .units = "connections", FIELD(max_handshakes) },
	{ .name = "allow-origin", .arg = "ORIGIN", .id = OPT_ALLOW_ORIGIN,
	  .help = "accept upgrades only with this Origin header\n"
	      "(scheme://host[:port]); repeatable; others get\n"
	      "HTTP 403; default: any origin" },
	{ .name = "subprotocol", .arg = "NAME", .id = OPT_SUBPROTOCOL,
	  .help = "a WebSocket subprotocol the handlers speak; the\n"
	      "first one a client offers is chosen; repeatable;\n"
	      "default: none chosen" },
	{ .name = "handshake-timeout", .arg = "SECONDS",
	  .id = OPT_HANDSHAKE_TIMEOUT,
	  .help = "drop a connection whose HTTP request or upgrade\n"
	      "is not complete by then",
	  .kind = OPTIONS_SECONDS, .min = 1000, .max = 3600000, .def = 10000,
	  .units = "seconds", FIELD(handshake_timeout_ms) },
	{ .name = "max-header-bytes", .arg = "BYTES", .id = OPT_MAX_HEADER,
	  .help = "request header data kept per request (more:\n"
	      "HTTP 431 or the connection is dropped)",
	  .kind = OPTIONS_BYTES, .min = KIB, .max = 64 * KIB, .def = 4 * KIB,
	  .units = "bytes", FIELD(max_header) },
	{ .name = "max-tags", .arg = "N", .id = OPT_MAX_TAGS,
	  .help = "tags a handler may give one connection (more:\n"
	      "the response is refused, close 1011)",
	  .kind = OPTIONS_COUNT, .min = 1, .max = 1000, .def = 10,
	  .units = "tags", FIELD(max_tags) },
	{ .name = "max-tag-bytes", .arg = "BYTES", .id = OPT_MAX_TAG_BYTES,
	  .help = "longest tag (longer: the response is refused,\n"
	      "close 1011)",
	  .kind = OPTIONS_BYTES, .min = 1, .max = 4096, .def = 256,
	  .units = "bytes", FIELD(max_tag_len) },
	{ .name = "alarm-retries", .arg = "N", .id = OPT_ALARM_RETRIES,
	  .help = "retries of a failed alarm, backing off from 2 s",
	  .kind = OPTIONS_COUNT, .min = 0, .max = 100, .def = 6,
	  .units = "retries", FIELD(alarm_retries) },
	{ .name = "help", .id = OPT_HELP,
	  .help = "print this help and exit" },
	{ .name = "version", .id = OPT_VERSION,
	  .help = "print the version and exit" },
};

#define CONFIG_NOPTS	(sizeof config_opts / sizeof config_opts[0])

static void __attribute__((format(printf, 1, 2)))
config_error(const char *fmt, ...)
{
	va_list	ap;

	fputs(CONFIG_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
config_store_number(struct config *cfg, const struct config_opt *o,
    uint64_t v)
{
	char	*field = (char *)cfg + o->offset;

	if (o->size == sizeof(int))
		*(int *)(void *)field = (int)v;
	else
		*(size_t *)(void *)field = (size_t)v;
}

static int
config_set_number(struct config *cfg, const struct config_opt *o,
    const char *arg)
{
	char		 lo[32], hi[32];
	uint64_t	 v;
	int		 rc;

	options_format(lo, sizeof lo, o->kind, o->min);
	options_format(hi, sizeof hi, o->kind, o->max);
	rc = options_parse(o->kind, arg, &v);
	if (rc == -EINVAL) {
		config_error("--%s: '%s' is not %s; accepted: %s to %s %s",
		    o->name, arg, options_kind_form(o->kind), lo, hi, o->units);
		return -EINVAL;
	}
	if (rc != 0 || v < o->min || v > o->max) {
		config_error("--%s: '%s' is out of range; accepted: %s to %s %s",
		    o->name, arg, lo, hi, o->units);
		return -EINVAL;
	}
	config_store_number(cfg, o, v);
	return 0;
}

static int
config_set_listen(struct config *cfg, const char *arg)
{
	char	host[INET6_ADDRSTRLEN];
	int	port;

	if (strncmp(arg, "unix:", 5) == 0) {
		if (arg[5] != '/' || strlen(arg + 5) >= 108) {
			config_error("--listen: '%s' is invalid; a unix socket "
			    "needs an absolute path of at most 107 bytes", arg);
			return -EINVAL;
		}
		free(cfg->listen_unix);
		cfg->listen_unix = xstrdup(arg + 5);
		return 0;
	}
	if (options_parse_listen(arg, host, sizeof host, &port) != 0) {
		config_error("--listen: '%s' is invalid; accepted: "
		    "IPV4:PORT or [IPV6]:PORT, numeric address, port 1 to "
		    "65535", arg);
		return -EINVAL;
	}
	free(cfg->listen_host);
	cfg->listen_host = xstrdup(host);
	cfg->listen_port = port;
	return 0;
}

/* Appends a copy of s to a repeatable option's list. */
static void
config_list_add(char ***list, size_t *n, const char *s)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = xstrdup(s);
}

/* The form only; the router checks the bytes of paths and names. */
static int
config_add_proxy(struct config *cfg, const char *arg)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (strcmp(arg, "unix") != 0 && inet_pton(AF_INET, arg, &a4) != 1 &&
	    inet_pton(AF_INET6, arg, &a6) != 1) {
		config_error("--trust-proxy: '%s' is invalid; accepted: a "
		    "numeric IPv4 or IPv6 address, or unix", arg);
		return -EINVAL;
	}
	config_list_add(&cfg->trusted_proxies, &cfg->ntrusted_proxies, arg);
	return 0;
}

static int
config_add_admin(struct config *cfg, const char *arg)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (strcmp(arg, "unix") != 0 && inet_pton(AF_INET, arg, &a4) != 1 &&
	    inet_pton(AF_INET6, arg, &a6) != 1) {
		config_error("--admin-allow: '%s' is invalid; accepted: a "
		    "numeric IPv4 or IPv6 address, or unix", arg);
		return -EINVAL;
	}
	config_list_add(&cfg->admin_allow, &cfg->nadmin_allow, arg);
	return 0;
}

static int
config_set_handler_addr(struct config *cfg, const char *arg)
{
	char	host[INET6_ADDRSTRLEN];
	int	port;

	if (!(strncmp(arg, "unix:", 5) == 0 && arg[5] == '/' &&
	    strlen(arg + 5) < 108) && !(strncmp(arg, "tcp:", 4) == 0 &&
	    options_parse_listen(arg + 4, host, sizeof host, &port) == 0)) {
		config_error("--handler-addr: '%s' is invalid; accepted: "
		    "unix:/ABSOLUTE/PATH or tcp:HOST:PORT (numeric)", arg);
		return -EINVAL;
	}
	free(cfg->handler_addr);
	cfg->handler_addr = xstrdup(arg);
	return 0;
}

static int
config_add_route(struct config *cfg, const char *arg)
{
	const char	*eq = strchr(arg, '=');
	size_t		 len = strlen(arg);
	int		 valid;

	if (eq != NULL)
		valid = arg[0] == '/' && eq[1] != '\0';
	else
		valid = arg[0] == '/' && len >= 2 && arg[len - 2] == '/' &&
		    arg[len - 1] == '*';
	if (!valid) {
		config_error("--route: '%s' is invalid; accepted: PATH=OBJECT "
		    "or PREFIX/*, PATH and PREFIX starting with '/'", arg);
		return -EINVAL;
	}
	config_list_add(&cfg->routes, &cfg->nroutes, arg);
	return 0;
}

static int
config_set_handlers(struct config *cfg, const char *arg)
{
	const char	*s = arg;
	uint64_t	 lo, hi;

	if (options_digits(&s, &lo) != 0 || *s++ != ':' ||
	    options_digits(&s, &hi) != 0 || *s != '\0' || lo > hi || hi < 1 ||
	    hi > CONFIG_HANDLERS_MAX) {
		config_error("--handlers: '%s' is invalid; accepted: MIN:MAX "
		    "with 0 <= MIN <= MAX and 1 <= MAX <= %d", arg,
		    CONFIG_HANDLERS_MAX);
		return -EINVAL;
	}
	cfg->handlers_min = (int)lo;
	cfg->handlers_max = (int)hi;
	return 0;
}

/*
 * Makes path absolute against the current directory (without resolving
 * symlinks, so a handler path that is a symlink is followed at each
 * spawn). Returns NULL with errno set when the cwd cannot be read.
 */
static char *
config_abspath(const char *path)
{
	char	*cwd, *abs;

	if (path[0] == '/')
		return xstrdup(path);
	if ((cwd = get_current_dir_name()) == NULL)
		return NULL;
	/* "./app" reads better in logs and ps as "/cwd/app". */
	while (path[0] == '.' && path[1] == '/') {
		for (path += 2; *path == '/'; path++)
			;
	}
	xasprintf(&abs, "%s%s%s", cwd, *path != '\0' &&
	    cwd[strlen(cwd) - 1] != '/' ? "/" : "", path);
	free(cwd);
	return abs;
}

/* Sets *dst to the absolute form of arg; want_dir: it must exist now. */
static int
config_set_dir(char **dst, const char *option, const char *arg, int want_dir)
{
	struct stat	 st;
	const char	*why = NULL;
	char		*abs;

	if (arg[0] == '\0') {
		config_error("--%s: the directory name is empty", option);
		return -EINVAL;
	}
	if (want_dir && stat(arg, &st) != 0)
		why = strerror(errno);
	else if (want_dir && !S_ISDIR(st.st_mode))
		why = "not a directory";
	if (why != NULL) {
		config_error("--%s: '%s': %s; accepted: an existing directory",
		    option, arg, why);
		return -EINVAL;
	}
	if ((abs = config_abspath(arg)) == NULL) {
		config_error("--%s: '%s': cannot read the current directory: "
		    "%s", option, arg, strerror(errno));
		return -EINVAL;
	}
	free(*dst);
	*dst = abs;
	return 0;
}

static void
config_free_argv(char **argv)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* path must be an executable file now, so a typo fails at start, not later. */
static int
config_set_handler(struct config *cfg, const char *path, char **args,
    size_t nargs)
{
	struct stat	 st;
	const char	*why = NULL;
	char		**argv;
	size_t		 i;

	if (stat(path, &st) != 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "a directory";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (access(path, X_OK) != 0)
		why = "not executable";
	if (why != NULL) {
		config_error("--handler: '%s': %s; accepted: the path of an "
		    "executable file", path, why);
		return -EINVAL;
	}
	argv = xcalloc(nargs + 2, sizeof *argv);
	if ((argv[0] = config_abspath(path)) == NULL) {
		config_error("--handler: '%s': cannot read the current "
		    "directory: %s", path, strerror(errno));
		free(argv);
		return -EINVAL;
	}
	for (i = 0; i < nargs; i++)
		argv[i + 1] = xstrdup(args[i]);
	config_free_argv(cfg->handler_argv);
	cfg->handler_argv = argv;
	return 0;
}

static int
config_set_durability(struct config *cfg, const char *arg)
{
	enum store_durability	d;

	if (store_parse_durability(arg, &d) != 0) {
		config_error("--durability: '%s' is invalid; accepted: full, "
		    "group, none", arg);
		return -EINVAL;
	}
	cfg->durability = d;
	return 0;
}

static int
config_set_log_level(struct config *cfg, const char *arg)
{
	if (log_parse_level(arg, &cfg->log_level) != 0) {
		config_error("--log-level: '%s' is invalid; accepted: error, "
		    "warn, info, debug", arg);
		return -EINVAL;
	}
	return 0;
}

static const struct config_opt *
config_find(int id)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (config_opts[i].id == id)
			return &config_opts[i];
	}
	return NULL;
}

static void
config_defaults(struct config *cfg)
{
	size_t	i;

	cfg->listen_host = xstrdup(CONFIG_LISTEN_HOST);
	cfg->listen_port = CONFIG_LISTEN_PORT;
	cfg->handlers_min = 0;
	cfg->handlers_max = 2;
	cfg->durability = STORE_DURABILITY_NONE;
	cfg->stderr_fails = 1;
	cfg->log_level = LOG_LEVEL_INFO;
	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (config_opts[i].kind != OPTIONS_OTHER)
			config_store_number(cfg, &config_opts[i],
			    config_opts[i].def);
	}
}

/* An absolute, non-empty environment value, as the XDG spec requires. */
static const char *
config_env_dir(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && v[0] == '/' ? v : NULL;
}

/*
 * Picks the store and run dirs not given on the command line: system
 * paths for root, per-user XDG paths otherwise. euid is a parameter so
 * the tests can take both branches.
 */
static int
config_default_dirs(struct config *cfg, uid_t euid)
{
	const char	*base;
	struct passwd	*pw;

	if (cfg->store_dir == NULL && euid == 0)
		cfg->store_dir = xstrdup("/var/lib/torpor");
	else if (cfg->store_dir == NULL) {
		if ((base = config_env_dir("XDG_STATE_HOME")) != NULL)
			xasprintf(&cfg->store_dir, "%s/torpor", base);
		else {
			if ((base = config_env_dir("HOME")) == NULL &&
			    (pw = getpwuid(euid)) != NULL &&
			    pw->pw_dir[0] == '/')
				base = pw->pw_dir;
			if (base == NULL) {
				config_error("no default store directory (HOME "
				    "is not set); use --store DIR");
				return -EINVAL;
			}
			xasprintf(&cfg->store_dir, "%s/.local/state/torpor",
			    base);
		}
	}
	if (cfg->run_dir == NULL && euid == 0)
		cfg->run_dir = xstrdup("/run/torpor");
	else if (cfg->run_dir == NULL) {
		if ((base = config_env_dir("XDG_RUNTIME_DIR")) != NULL)
			xasprintf(&cfg->run_dir, "%s/torpor", base);
		else
			xasprintf(&cfg->run_dir, "/tmp/torpor-%lu",
			    (unsigned long)euid);
	}
	if (strlen(cfg->run_dir) > CONFIG_RUN_DIR_MAX) {
		config_error("--run-dir: '%s' is too long for unix socket "
		    "paths; accepted: at most %d bytes", cfg->run_dir,
		    CONFIG_RUN_DIR_MAX);
		return -EINVAL;
	}
	return 0;
}

/*
 * Whether exe lies in the build tree, so an uninstalled gateway runs the
 * reference app next to it rather than an older installed copy.
 */
static int
config_in_builddir(const char *exe)
{
	char	*build;
	size_t	 n;
	int	 inside;

	if (exe == NULL || (build = realpath(TORPOR_BUILDDIR, NULL)) == NULL)
		return 0;
	n = strlen(build);
	inside = strncmp(exe, build, n) == 0 && exe[n] == '/';
	free(build);
	return inside;
}

/* With no --handler: the reference app, from the build tree or installed. */
static void
config_default_app(struct config *cfg, const char *exe)
{
	int	build = config_in_builddir(exe);

	if (cfg->handler_argv != NULL || cfg->handler_addr != NULL)
		return;
	cfg->default_app = 1;
	cfg->handler_argv = xcalloc(2, sizeof *cfg->handler_argv);
	cfg->handler_argv[0] = xstrdup(build ?
	    TORPOR_BUILDDIR "/examples/pingpong/pingpong" :
	    TORPOR_PKGLIBEXECDIR "/pingpong");
	if (cfg->static_dir == NULL)
		cfg->static_dir = xstrdup(build ?
		    TORPOR_SRCDIR "/examples/pingpong/www" :
		    TORPOR_PKGDATADIR "/www");
}

/* Object names are checked once --max-object-name is known. */
static int
config_check_routes(const struct config *cfg, int defaulted)
{
	const char	*eq;
	size_t		 i;

	for (i = 0; i < cfg->nroutes; i++) {
		eq = strchr(cfg->routes[i], '=');
		if (eq == NULL || strlen(eq + 1) <= cfg->max_name)
			continue;
		if (defaulted)
			config_error("--max-object-name: %zu is too small for "
			    "the default route %s; accepted: at least %zu "
			    "bytes, or give --route", cfg->max_name,
			    cfg->routes[i], strlen(eq + 1));
		else
			config_error("--route: object '%s' is longer than "
			    "--max-object-name; accepted: 1 to %zu bytes",
			    eq + 1, cfg->max_name);
		return -EINVAL;
	}
	return 0;
}

static int
config_finish(struct config *cfg)
{
	char	 exe[PATH_MAX];
	ssize_t	 n;
	int	 rc, defaulted = cfg->nroutes == 0;

	if (defaulted && (rc = config_add_route(cfg, CONFIG_ROUTE)) != 0)
		return rc;
	if ((rc = config_check_routes(cfg, defaulted)) != 0)
		return rc;
	if (cfg->nadmin_allow == 0 &&
	    ((rc = config_add_admin(cfg, "127.0.0.1")) != 0 ||
	    (rc = config_add_admin(cfg, "::1")) != 0))
		return rc;
	if ((rc = config_default_dirs(cfg, geteuid())) != 0)
		return rc;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0)
		exe[n] = '\0';
	config_default_app(cfg, n > 0 ? exe : NULL);
	return 0;
}

static int
config_option(struct config *cfg, int c, const char *arg)
{
	const struct config_opt	*o;

	switch (c) {
	case OPT_LISTEN:
		return config_set_listen(cfg, arg);
	case OPT_ROUTE:
		return config_add_route(cfg, arg);
	case OPT_HANDLERS:
		return config_set_handlers(cfg, arg);
	case OPT_RUN_DIR:
		return config_set_dir(&cfg->run_dir, "run-dir", arg, 0);
	case OPT_STORE:
		return config_set_dir(&cfg->store_dir, "store", arg, 0);
	case OPT_STATIC:
		return config_set_dir(&cfg->static_dir, "static", arg, 1);
	case OPT_DURABILITY:
		return config_set_durability(cfg, arg);
	case OPT_LOG_LEVEL:
		return config_set_log_level(cfg, arg);
	case OPT_RELOAD:
		cfg->reload = 1;
		return 0;
	case OPT_TRUST_PROXY:
		return config_add_proxy(cfg, arg);
	case OPT_ADMIN_ALLOW:
		return config_add_admin(cfg, arg);
	case OPT_USER:
		free(cfg->user);
		cfg->user = xstrdup(arg);
		return 0;
	case OPT_HANDLER_PARAM:
		if (strchr(arg, '=') == NULL || arg[0] == '=' ||
		    strncmp(arg, "TORPOR_", 7) == 0) {
			config_error("--handler-param: '%s' is invalid; accepted: "
			    "NAME=VALUE, NAME not starting with TORPOR_", arg);
			return -EINVAL;
		}
		config_list_add(&cfg->handler_params, &cfg->nhandler_params, arg);
		return 0;
	case OPT_ALLOW_ORIGIN:
		if (arg[0] == '\0' || strchr(arg, ' ') != NULL) {
			config_error("--allow-origin: '%s' is invalid; accepted: "
			    "an origin like https://example.com", arg);
			return -EINVAL;
		}
		config_list_add(&cfg->origins, &cfg->norigins, arg);
		return 0;
	case OPT_SUBPROTOCOL:
		/* RFC 6455 4.1: a token (RFC 2616 2.2) */
		if (arg[0] == '\0' || arg[strspn(arg, "!#$%&'*+-.^_`|~"
		    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz")] != '\0') {
			config_error("--subprotocol: '%s' is invalid; accepted: "
			    "a token such as chat.v2", arg);
			return -EINVAL;
		}
		config_list_add(&cfg->subprotocols, &cfg->nsubprotocols, arg);
		return 0;
	case OPT_LOG_FORMAT:
		if (log_parse_format(arg, &cfg->log_format) != 0) {
			config_error("--log-format: '%s' is invalid; accepted: "
			    "text, json", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_HANDLER_ADDR:
		return config_set_handler_addr(cfg, arg);
	case OPT_HANDLER_STDERR:
		if (strcmp(arg, "fail") != 0 && strcmp(arg, "log") != 0) {
			config_error("--handler-stderr: '%s' is invalid; "
			    "accepted: fail, log", arg);
			return -EINVAL;
		}
		cfg->stderr_fails = strcmp(arg, "fail") == 0;
		return 0;
	}
	if ((o = config_find(c)) == NULL || o->kind == OPTIONS_OTHER) {
		config_error("internal error: option %d has no parser", c);
		return -EINVAL;
	}
	return config_set_number(cfg, o, arg);
}

int
config_parse(struct config *cfg, int argc, char **argv)
{
	struct option	 longopts[CONFIG_NOPTS + 1];
	size_t		 i, nargs;
	int		 c, rc = -EINVAL;

	memset(cfg, 0, sizeof *cfg);
	config_defaults(cfg);
	memset(longopts, 0, sizeof longopts);
	for (i = 0; i < CONFIG_NOPTS; i++) {
		longopts[i].name = config_opts[i].name;
		longopts[i].has_arg = config_opts[i].arg != NULL ?
		    required_argument : no_argument;
		longopts[i].val = config_opts[i].id;
	}
	/*
	 * optind = 0 makes glibc start over, so this can run more than once;
	 * '+' stops permutation, which lets --handler take the words after
	 * it as the handler's arguments; ':' reports a missing argument.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			config_usage(stdout);
			rc = 1;
			goto out;
		case OPT_VERSION:
			printf("%s %s\n", CONFIG_PROG, PACKAGE_VERSION);
			rc = 1;
			goto out;
		case ':':
			config_error("%s needs an argument (try --help)",
			    argv[optind - 1]);
			goto out;
		case '?':
			/* optopt is unreliable for long options. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				config_error("unknown, ambiguous or misused "
				    "option '%s' (try --help)",
				    argv[optind - 1]);
			else
				config_error("unknown option '-%c' (try "
				    "--help)", optopt);
			goto out;
		case OPT_HANDLER:
			for (nargs = 0; optind + (int)nargs < argc &&
			    argv[optind + nargs][0] != '-'; nargs++)
				;
			rc = config_set_handler(cfg, optarg, argv + optind,
			    nargs);
			optind += (int)nargs;
			break;
		default:
			rc = config_option(cfg, c, optarg);
			break;
		}
		if (rc != 0)
			goto out;
		rc = -EINVAL;
	}
	if (optind < argc) {
		config_error("unexpected argument '%s' (handler arguments go "
		    "right after --handler PATH)", argv[optind]);
		goto out;
	}
	rc = config_finish(cfg);
out:
	if (rc != 0)
		config_free(cfg);
	return rc;
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	free(cfg->listen_host);
	free(cfg->listen_unix);
	free(cfg->handler_addr);
	free(cfg->user);
	for (i = 0; i < cfg->ntrusted_proxies; i++)
		free(cfg->trusted_proxies[i]);
	free(cfg->trusted_proxies);
	for (i = 0; i < cfg->nadmin_allow; i++)
		free(cfg->admin_allow[i]);
	free(cfg->admin_allow);
	for (i = 0; i < cfg->norigins; i++)
		free(cfg->origins[i]);
	free(cfg->origins);
	for (i = 0; i < cfg->nsubprotocols; i++)
		free(cfg->subprotocols[i]);
	free(cfg->subprotocols);
	for (i = 0; i < cfg->nhandler_params; i++)
		free(cfg->handler_params[i]);
	free(cfg->handler_params);
	for (i = 0; i < cfg->nroutes; i++)
		free(cfg->routes[i]);
	free(cfg->routes);
	config_free_argv(cfg->handler_argv);
	free(cfg->run_dir);
	free(cfg->store_dir);
	free(cfg->static_dir);
	memset(cfg, 0, sizeof *cfg);
}

/* Prints help text, indenting every line after the first to the column. */
static void
config_usage_text(FILE *fp, const char *text)
{
	for (; *text != '\0'; text++) {
		fputc(*text, fp);
		if (*text == '\n')
			fprintf(fp, "%*s", CONFIG_USAGE_COL, "");
	}
	fputc('\n', fp);
}

void
config_usage(FILE *fp)
{
	const struct config_opt	*o;
	char			 left[64], lo[32], hi[32], def[32];
	size_t			 i;
	int			 n;

	fprintf(fp,
	    "Usage: %s [OPTION]... [--handler PATH [ARG]...]\n"
	    "Holds WebSocket connections and hands each event to a FastCGI\n"
	    "handler process started on demand. With --handlers 0:MAX no\n"
	    "handler runs while nothing happens, yet every socket stays open.\n"
	    "With no option it serves the reference app on\n"
	    "http://127.0.0.1:8788/.\n\nOptions:\n", CONFIG_PROG);
	for (i = 0; i < CONFIG_NOPTS; i++) {
		o = &config_opts[i];
		if (o->id == OPT_HELP || o->id == OPT_VERSION)
			snprintf(left, sizeof left, "-%c, --%s", o->id,
			    o->name);
		else
			snprintf(left, sizeof left, "--%s%s%s", o->name,
			    o->arg != NULL ? " " : "",
			    o->arg != NULL ? o->arg : "");
		n = fprintf(fp, "  %s", left);
		if (n >= CONFIG_USAGE_COL)
			fprintf(fp, "\n%*s", CONFIG_USAGE_COL, "");
		else
			fprintf(fp, "%*s", CONFIG_USAGE_COL - n, "");
		config_usage_text(fp, o->help);
		if (o->kind == OPTIONS_OTHER)
			continue;
		options_format(lo, sizeof lo, o->kind, o->min);
		options_format(hi, sizeof hi, o->kind, o->max);
		options_format(def, sizeof def, o->kind, o->def);
		fprintf(fp, "%*sdefault %s; %s to %s %s\n", CONFIG_USAGE_COL, "",
		    def, lo, hi, o->units);
	}
	fprintf(fp, "\nSizes take K, M or G suffixes (1K = 1024 bytes); "
	    "durations are seconds\nwith up to 3 decimals. See "
	    "torpor-gateway(8).\n");
}
