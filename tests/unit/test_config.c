/*
 * Unit tests for gateway/config.c: defaults, the boundaries of every
 * numeric option (walked from the option table itself, so a new option is
 * covered without editing this file), handler argument collection, and
 * the one-line error each bad value must produce. The .c is included to
 * reach the table and the static helpers.
 */
#include "config.c"

#include <fcntl.h>
#include <sys/wait.h>

#include "tap.h"

static char	out_text[16384];
static char	err_text[4096];

/* Reads what fd captured into buf (NUL-terminated) and closes it. */
static void
slurp(int fd, char *buf, size_t size)
{
	ssize_t	n;
	size_t	len = 0;

	lseek(fd, 0, SEEK_SET);
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static int
capture_start(int fd, int *saved)
{
	char	name[] = "/tmp/test_config.XXXXXX";
	int	tmp;

	if ((tmp = mkstemp(name)) < 0)
		abort();
	unlink(name);
	*saved = dup(fd);
	dup2(tmp, fd);
	return tmp;
}

static void
capture_stop(int fd, int saved)
{
	dup2(saved, fd);
	close(saved);
}

/* Runs config_parse on "torpor-gateway" + the NULL-terminated words. */
static int
parse_v(struct config *cfg, const char *first, va_list ap)
{
	char		*argv[64];
	const char	*w;
	int		 argc = 0, rc, tmp_out, tmp_err, saved_out, saved_err;

	argv[argc++] = (char *)"torpor-gateway";
	for (w = first; w != NULL && argc < 63; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	tmp_out = capture_start(1, &saved_out);
	tmp_err = capture_start(2, &saved_err);
	rc = config_parse(cfg, argc, argv);
	fflush(stdout);
	fflush(stderr);
	capture_stop(1, saved_out);
	capture_stop(2, saved_err);
	slurp(tmp_out, out_text, sizeof out_text);
	slurp(tmp_err, err_text, sizeof err_text);
	return rc;
}

static int
parse(struct config *cfg, const char *first, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, first);
	rc = parse_v(cfg, first, ap);
	va_end(ap);
	return rc;
}

/* One line on stderr, starting with the program and naming the option. */
static int
one_line_about(const char *option)
{
	char	prefix[128];
	char	*nl = strchr(err_text, '\n');

	snprintf(prefix, sizeof prefix, "torpor-gateway: %s", option);
	return strncmp(err_text, prefix, strlen(prefix)) == 0 && nl != NULL &&
	    nl[1] == '\0';
}

/* A refused value: -EINVAL, one line naming the option, cfg emptied. */
static void
refused(const char *option, const char *value, const char *needle)
{
	struct config	cfg;
	int		rc, good;

	rc = parse(&cfg, option, value, NULL);
	good = rc == -EINVAL && one_line_about(option) &&
	    (needle == NULL || strstr(err_text, needle) != NULL) &&
	    cfg.listen_host == NULL;
	err_text[strcspn(err_text, "\n")] = '\0';
	ok(good, "%s '%s' is refused with one line (%s)", option, value,
	    err_text[0] != '\0' ? err_text : "nothing printed");
}

static uint64_t
field_value(const struct config *cfg, const struct config_opt *o)
{
	const char	*field = (const char *)cfg + o->offset;

	if (o->size == sizeof(int))
		return (uint64_t)*(const int *)(const void *)field;
	return (uint64_t)*(const size_t *)(const void *)field;
}

static void
as_text(char *buf, size_t size, const struct config_opt *o, uint64_t v)
{
	if (o->kind == OPTIONS_SECONDS)
		options_format(buf, size, o->kind, v);
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

static void
test_defaults(void)
{
	struct config	 cfg;
	size_t		 i;
	int		 rc;

	rc = parse(&cfg, NULL);
	ok(rc == 0 && err_text[0] == '\0', "no option parses silently");
	ok(strcmp(cfg.listen_host, "127.0.0.1") == 0 &&
	    cfg.listen_port == 8788, "default listen 127.0.0.1:8788");
	ok(cfg.nroutes == 1 && strcmp(cfg.routes[0], "/websocket=test-room")
	    == 0, "default route /websocket=test-room");
	ok(cfg.handlers_min == 0 && cfg.handlers_max == 2, "default handlers 0:2");
	ok(cfg.idle_timeout_ms == 30000 && cfg.event_timeout_ms == 30000,
	    "default timeouts 30 s");
	ok(cfg.durability == STORE_DURABILITY_NONE, "default durability none");
	ok(cfg.log_level == LOG_LEVEL_INFO, "default log level info");
	ok(cfg.max_message == 1048576 && cfg.max_attachment == 16384 &&
	    cfg.max_name == 128 && cfg.send_queue_max == 4194304 &&
	    cfg.object_queue_max == 1024 && cfg.max_response == 16777216 &&
	    cfg.max_connections == 100000 && cfg.alarm_retries == 6,
	    "default limits");
	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (config_opts[i].kind == OPTIONS_OTHER)
			continue;
		ok(field_value(&cfg, &config_opts[i]) == config_opts[i].def,
		    "--%s defaults to the table's value", config_opts[i].name);
	}
	ok(cfg.default_app == 1, "the reference app is the default");
	/* This test runs from the build tree, like an uninstalled gateway. */
	ok(cfg.handler_argv != NULL && strcmp(cfg.handler_argv[0],
	    TORPOR_BUILDDIR "/examples/pingpong/pingpong") == 0 &&
	    cfg.handler_argv[1] == NULL, "build tree: pingpong from the build");
	ok(cfg.static_dir != NULL && strcmp(cfg.static_dir,
	    TORPOR_SRCDIR "/examples/pingpong/www") == 0,
	    "build tree: www from the source tree");
	ok(cfg.store_dir != NULL && cfg.store_dir[0] == '/' &&
	    cfg.run_dir != NULL && cfg.run_dir[0] == '/',
	    "default store and run dirs are absolute");
	config_free(&cfg);
	config_free(&cfg);
	ok(cfg.listen_host == NULL && cfg.routes == NULL &&
	    cfg.handler_argv == NULL, "config_free twice is safe");
}

/* config_default_dirs with its error line captured into err_text. */
static int
default_dirs_quiet(struct config *cfg, uid_t euid)
{
	int	saved, tmp, rc;

	fflush(stderr);
	tmp = capture_start(2, &saved);
	rc = config_default_dirs(cfg, euid);
	fflush(stderr);
	capture_stop(2, saved);
	slurp(tmp, err_text, sizeof err_text);
	return rc;
}

static void
test_default_dirs(void)
{
	struct config	cfg;
	char		long_dir[128];

	memset(&cfg, 0, sizeof cfg);
	ok(config_default_dirs(&cfg, 0) == 0 &&
	    strcmp(cfg.store_dir, "/var/lib/torpor") == 0 &&
	    strcmp(cfg.run_dir, "/run/torpor") == 0, "root: system dirs");
	config_free(&cfg);

	setenv("XDG_STATE_HOME", "/x/state", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	ok(config_default_dirs(&cfg, 1000) == 0 &&
	    strcmp(cfg.store_dir, "/x/state/torpor") == 0 &&
	    strcmp(cfg.run_dir, "/run/user/1000/torpor") == 0,
	    "user: XDG_STATE_HOME and XDG_RUNTIME_DIR");
	config_free(&cfg);

	setenv("XDG_STATE_HOME", "relative", 1);
	unsetenv("XDG_RUNTIME_DIR");
	setenv("HOME", "/home/u", 1);
	ok(config_default_dirs(&cfg, 1000) == 0 &&
	    strcmp(cfg.store_dir, "/home/u/.local/state/torpor") == 0 &&
	    strcmp(cfg.run_dir, "/tmp/torpor-1000") == 0,
	    "user: relative XDG ignored, HOME and /tmp/torpor-UID");
	config_free(&cfg);

	cfg.store_dir = xstrdup("/given");
	cfg.run_dir = xstrdup("/given-run");
	ok(config_default_dirs(&cfg, 1000) == 0 &&
	    strcmp(cfg.store_dir, "/given") == 0 &&
	    strcmp(cfg.run_dir, "/given-run") == 0, "given dirs are kept");
	config_free(&cfg);

	memset(long_dir, 'r', sizeof long_dir);
	long_dir[0] = '/';
	long_dir[CONFIG_RUN_DIR_MAX - 7] = '\0';	/* + "/torpor" = 80 */
	setenv("XDG_RUNTIME_DIR", long_dir, 1);
	ok(config_default_dirs(&cfg, 1000) == 0 &&
	    strlen(cfg.run_dir) == CONFIG_RUN_DIR_MAX, "80-byte run dir taken");
	config_free(&cfg);
	long_dir[CONFIG_RUN_DIR_MAX - 7] = 'r';
	long_dir[CONFIG_RUN_DIR_MAX - 6] = '\0';
	setenv("XDG_RUNTIME_DIR", long_dir, 1);
	ok(default_dirs_quiet(&cfg, 1000) == -EINVAL,
	    "81-byte run dir refused");
	ok(one_line_about("--run-dir") && strstr(err_text, "80 bytes"),
	    "the run dir error names the option and the limit");
	config_free(&cfg);
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_STATE_HOME");
}

static void
test_default_app(void)
{
	struct config	 cfg;
	char		*build = realpath(TORPOR_BUILDDIR, NULL);
	char		 exe[PATH_MAX + 32];

	ok(build != NULL, "the build dir exists");
	snprintf(exe, sizeof exe, "%s/gateway/torpor-gateway", build);
	ok(config_in_builddir(exe), "an exe under the build dir is uninstalled");
	snprintf(exe, sizeof exe, "%s-other/torpor-gateway", build);
	ok(!config_in_builddir(exe), "a sibling dir sharing the prefix is not");
	ok(!config_in_builddir("/usr/bin/torpor-gateway"),
	    "/usr/bin is installed");
	ok(!config_in_builddir(NULL), "unknown exe counts as installed");
	free(build);

	memset(&cfg, 0, sizeof cfg);
	config_default_app(&cfg, "/usr/bin/torpor-gateway");
	ok(cfg.default_app && strcmp(cfg.handler_argv[0],
	    TORPOR_PKGLIBEXECDIR "/pingpong") == 0 &&
	    cfg.handler_argv[1] == NULL && strcmp(cfg.static_dir,
	    TORPOR_PKGDATADIR "/www") == 0, "installed: pkglibexec and pkgdata");
	config_free(&cfg);
}

/* Max accepted, max+1 refused, min accepted, min-1 refused, junk refused. */
static void
test_numeric_bounds(void)
{
	const struct config_opt	*o;
	struct config		 cfg;
	char			 opt[64], val[64];
	size_t			 i;
	int			 rc;

	for (i = 0; i < CONFIG_NOPTS; i++) {
		o = &config_opts[i];
		if (o->kind == OPTIONS_OTHER)
			continue;
		snprintf(opt, sizeof opt, "--%s", o->name);

		as_text(val, sizeof val, o, o->max);
		rc = parse(&cfg, opt, val, NULL);
		ok(rc == 0 && field_value(&cfg, o) == o->max,
		    "%s %s (max) accepted", opt, val);
		config_free(&cfg);
		as_text(val, sizeof val, o, o->max + 1);
		refused(opt, val, "out of range");

		/* A one-byte object, so --max-object-name 1 is usable. */
		as_text(val, sizeof val, o, o->min);
		rc = parse(&cfg, opt, val, "--route", "/a=b", NULL);
		ok(rc == 0 && field_value(&cfg, o) == o->min,
		    "%s %s (min) accepted", opt, val);
		config_free(&cfg);
		if (o->min > 0) {
			as_text(val, sizeof val, o, o->min - 1);
			refused(opt, val, "out of range");
		}
		refused(opt, "-1", "accepted:");
		refused(opt, "abc", "accepted:");
		refused(opt, "", "accepted:");
		refused(opt, " 5", "accepted:");
		refused(opt, "0x10", "accepted:");
		refused(opt, "99999999999999999999999", "out of range");
	}
}

static void
test_named_limits(void)
{
	struct config	cfg;

	ok(parse(&cfg, "--max-message", "33554432", NULL) == 0 &&
	    cfg.max_message == 33554432, "--max-message 33554432 accepted");
	config_free(&cfg);
	refused("--max-message", "33554433", "1 to 32M bytes");
	refused("--max-message", "0", "1 to 32M bytes");
	ok(parse(&cfg, "--max-object-name", "255", NULL) == 0 &&
	    cfg.max_name == 255, "--max-object-name 255 accepted");
	config_free(&cfg);
	refused("--max-object-name", "256", "1 to 255 bytes");
	refused("--max-object-name", "0", "1 to 255 bytes");
	refused("--max-object-name", "8", "default route /websocket=test-room");
	ok(parse(&cfg, "--max-object-name", "9", NULL) == 0,
	    "--max-object-name 9 fits the default test-room");
	config_free(&cfg);
}

static void
test_sizes(void)
{
	static const struct {
		const char	*option, *value;
		size_t		 want;
	} cases[] = {
		{ "--max-message", "32M", 33554432 },
		{ "--max-message", "64K", 65536 },
		{ "--max-message", "1MiB", 1048576 },
		{ "--max-message", "16KiB", 16384 },
		{ "--max-message", "2k", 2048 },
		{ "--send-queue", "1G", 1073741824 },
		{ "--send-queue", "1024", 1024 },
		{ "--max-response", "1GiB", 1073741824 },
		{ "--max-attachment", "1M", 1048576 },
	};
	struct config	cfg;
	size_t		i, got;
	int		rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rc = parse(&cfg, cases[i].option, cases[i].value, NULL);
		got = rc != 0 ? 0 : strcmp(cases[i].option, "--max-message")
		    == 0 ? cfg.max_message : strcmp(cases[i].option,
		    "--send-queue") == 0 ? cfg.send_queue_max :
		    strcmp(cases[i].option, "--max-response") == 0 ?
		    cfg.max_response : cfg.max_attachment;
		ok(rc == 0 && got == cases[i].want, "%s %s = %zu",
		    cases[i].option, cases[i].value, cases[i].want);
		config_free(&cfg);
	}
	refused("--send-queue", "2G", "1K to 1G bytes");
	refused("--send-queue", "1023", "out of range");
	refused("--max-message", "1.5M", "a size");
	refused("--max-message", "10X", "a size");
	refused("--max-message", "10 K", "a size");
	refused("--max-message", "33M", "out of range");
	refused("--max-message", "18446744073709551615G", "out of range");
	refused("--max-attachment", "1025K", "1 to 1M bytes");
}

static void
test_seconds(void)
{
	static const struct {
		const char	*value;
		int		 ms;
	} cases[] = {
		{ "0.5", 500 }, { "0.001", 1 }, { "1.25", 1250 }, { "30", 30000 },
		{ "2.05", 2050 }, { "86400", 86400000 }, { "007", 7000 },
	};
	struct config	cfg;
	size_t		i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ok(parse(&cfg, "--idle-timeout", cases[i].value,
		    "--event-timeout", cases[i].value, NULL) == 0 &&
		    cfg.idle_timeout_ms == cases[i].ms &&
		    cfg.event_timeout_ms == cases[i].ms,
		    "timeouts %s s = %d ms", cases[i].value, cases[i].ms);
		config_free(&cfg);
	}
	refused("--idle-timeout", "0", "0.001 to 86400 seconds");
	refused("--idle-timeout", "0.0005", "a duration");
	refused("--idle-timeout", "0.0001", "a duration");
	refused("--idle-timeout", "1.", "a duration");
	refused("--idle-timeout", ".5", "a duration");
	refused("--idle-timeout", "1e3", "a duration");
	refused("--idle-timeout", "5s", "a duration");
	refused("--event-timeout", "86400.001", "out of range");
	refused("--event-timeout", "0.000", "out of range");
}

static void
test_listen(void)
{
	static const struct {
		const char	*value, *host;
		int		 port;
	} good[] = {
		{ "[::1]:9000", "::1", 9000 },
		{ "[::]:80", "::", 80 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "127.0.0.1:65535", "127.0.0.1", 65535 },
		{ "[2001:db8::42]:8788", "2001:db8::42", 8788 },
	};
	static const char *const bad[] = {
		"127.0.0.1:65536", "127.0.0.1:0", "::1:80", "localhost:80",
		"127.0.0.1", "[::1]", "[::1]80", "127.0.0.1:80x", ":8788",
		"[]:80", "127.0.0.1:", "127.0.0.256:80", "[127.0.0.1]:80",
		"127.0.0.1:-1", "",
	};
	struct config	cfg;
	size_t		i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ok(parse(&cfg, "--listen", good[i].value, NULL) == 0 &&
		    strcmp(cfg.listen_host, good[i].host) == 0 &&
		    cfg.listen_port == good[i].port, "--listen %s",
		    good[i].value);
		config_free(&cfg);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refused("--listen", bad[i], "port 1 to 65535");
}

static void
test_routes(void)
{
	struct config	 cfg;
	char		 name[300], spec[320];

	ok(parse(&cfg, "--route", "/a=one", "--route", "/rooms/*", NULL) == 0 &&
	    cfg.nroutes == 2 && strcmp(cfg.routes[0], "/a=one") == 0 &&
	    strcmp(cfg.routes[1], "/rooms/*") == 0,
	    "routes kept in order, no default added");
	config_free(&cfg);
	ok(parse(&cfg, "--route", "/*", NULL) == 0 && cfg.nroutes == 1,
	    "/* (every path) accepted");
	config_free(&cfg);
	refused("--route", "rooms=x", "PATH=OBJECT or PREFIX/*");
	refused("--route", "/a=", "PATH=OBJECT or PREFIX/*");
	refused("--route", "/a", "PATH=OBJECT or PREFIX/*");
	refused("--route", "/rooms*", "PATH=OBJECT or PREFIX/*");
	refused("--route", "", "PATH=OBJECT or PREFIX/*");

	memset(name, 'n', 256);
	name[128] = '\0';
	snprintf(spec, sizeof spec, "/a=%s", name);
	ok(parse(&cfg, "--route", spec, NULL) == 0, "128-byte object accepted");
	config_free(&cfg);
	name[128] = 'n';
	name[129] = '\0';
	snprintf(spec, sizeof spec, "/a=%s", name);
	refused("--route", spec, "1 to 128 bytes");
	ok(parse(&cfg, "--route", spec, "--max-object-name", "129", NULL) == 0,
	    "--max-object-name after --route still applies");
	config_free(&cfg);
}

/* Makes dir/name with mode; returns its path in buf. */
static const char *
make_file(char *buf, size_t size, const char *dir, const char *name,
    mode_t mode)
{
	int	fd;

	snprintf(buf, size, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, "#!/bin/sh\n", 10) != 10)
		abort();
	close(fd);
	chmod(buf, mode);
	return buf;
}

static void
test_handler(const char *dir)
{
	struct config	 cfg;
	char		 exe[PATH_MAX], plain[PATH_MAX], other[PATH_MAX];
	char		 cwd[PATH_MAX], want[PATH_MAX * 2];

	make_file(exe, sizeof exe, dir, "handler", 0755);
	make_file(plain, sizeof plain, dir, "plain", 0644);
	make_file(other, sizeof other, dir, "other", 0755);

	ok(parse(&cfg, "--handler", exe, "a", "b c", "--listen",
	    "127.0.0.1:9999", NULL) == 0 && strcmp(cfg.handler_argv[0], exe)
	    == 0 && strcmp(cfg.handler_argv[1], "a") == 0 &&
	    strcmp(cfg.handler_argv[2], "b c") == 0 &&
	    cfg.handler_argv[3] == NULL && cfg.listen_port == 9999,
	    "handler args collected up to the next option");
	ok(cfg.default_app == 0 && cfg.static_dir == NULL,
	    "--handler without --static serves no files");
	config_free(&cfg);

	ok(parse(&cfg, "--handler", exe, NULL) == 0 &&
	    cfg.handler_argv[1] == NULL, "handler without args");
	config_free(&cfg);
	ok(parse(&cfg, "--handler=" "/bin/sh", "-x", NULL) == -EINVAL,
	    "an argument starting with '-' is an option, not a handler arg");
	ok(parse(&cfg, "--handler", exe, "x", "--handler", other, "y", NULL)
	    == 0 && strcmp(cfg.handler_argv[0], other) == 0 &&
	    strcmp(cfg.handler_argv[1], "y") == 0 && cfg.handler_argv[2] ==
	    NULL, "the last --handler wins");
	config_free(&cfg);
	ok(parse(&cfg, "--handler", exe, "--static", dir, NULL) == 0 &&
	    cfg.default_app == 0 && strcmp(cfg.static_dir, dir) == 0,
	    "--handler with --static serves that dir");
	config_free(&cfg);
	ok(parse(&cfg, "--static", dir, NULL) == 0 && cfg.default_app == 1 &&
	    strcmp(cfg.static_dir, dir) == 0 && strstr(cfg.handler_argv[0],
	    "pingpong") != NULL, "--static alone keeps the reference handler");
	config_free(&cfg);

	if (getcwd(cwd, sizeof cwd) == NULL || chdir(dir) != 0)
		abort();
	snprintf(want, sizeof want, "%s/handler", dir);
	ok(parse(&cfg, "--handler", "handler", NULL) == 0 &&
	    strcmp(cfg.handler_argv[0], want) == 0,
	    "a relative handler path is made absolute");
	config_free(&cfg);
	ok(parse(&cfg, "--handler", ".//./handler", NULL) == 0 &&
	    strcmp(cfg.handler_argv[0], want) == 0,
	    "leading ./ steps are dropped");
	config_free(&cfg);
	ok(parse(&cfg, "--static", "./", NULL) == 0 &&
	    strcmp(cfg.static_dir, dir) == 0, "--static ./ is the cwd");
	config_free(&cfg);
	snprintf(want, sizeof want, "%s/st", dir);
	ok(parse(&cfg, "--store", "st", "--run-dir", "st", NULL) == 0 &&
	    strcmp(cfg.store_dir, want) == 0 && strcmp(cfg.run_dir, want) == 0,
	    "relative --store and --run-dir are made absolute");
	config_free(&cfg);
	if (chdir(cwd) != 0)
		abort();

	refused("--handler", plain, "not executable");
	refused("--handler", dir, "a directory");
	refused("--handler", "/nonexistent/handler", "No such file");
	refused("--handler", "", "executable file");
}

static void
test_dirs(const char *dir)
{
	struct config	 cfg;
	char		 file[PATH_MAX], run[128];

	make_file(file, sizeof file, dir, "notadir", 0644);
	ok(parse(&cfg, "--store", "/srv/torpor", "--run-dir", "/run/t",
	    "--static", dir, NULL) == 0 && strcmp(cfg.store_dir,
	    "/srv/torpor") == 0 && strcmp(cfg.run_dir, "/run/t") == 0 &&
	    strcmp(cfg.static_dir, dir) == 0, "--store, --run-dir, --static");
	config_free(&cfg);
	refused("--static", "/nonexistent/www", "existing directory");
	refused("--static", file, "not a directory");
	refused("--store", "", "empty");
	refused("--run-dir", "", "empty");
	refused("--static", "", "empty");

	memset(run, 'r', sizeof run);
	run[0] = '/';
	run[CONFIG_RUN_DIR_MAX] = '\0';
	ok(parse(&cfg, "--run-dir", run, NULL) == 0, "80-byte --run-dir");
	config_free(&cfg);
	run[CONFIG_RUN_DIR_MAX] = 'r';
	run[CONFIG_RUN_DIR_MAX + 1] = '\0';
	refused("--run-dir", run, "at most 80 bytes");
	ok(parse(&cfg, "--store", "/tmp/never-created-by-config", NULL) == 0 &&
	    access("/tmp/never-created-by-config", F_OK) != 0,
	    "config_parse creates no directory");
	config_free(&cfg);
}

static void
test_enums(void)
{
	struct config	cfg;

	ok(parse(&cfg, "--durability", "full", NULL) == 0 &&
	    cfg.durability == STORE_DURABILITY_FULL, "--durability full");
	config_free(&cfg);
	ok(parse(&cfg, "--durability", "none", NULL) == 0 &&
	    cfg.durability == STORE_DURABILITY_NONE, "--durability none");
	config_free(&cfg);
	ok(parse(&cfg, "--durability", "group", NULL) == 0 &&
	    cfg.durability == STORE_DURABILITY_GROUP, "--durability group");
	config_free(&cfg);
	refused("--durability", "fast", "full, group, none");
	ok(parse(&cfg, "--reload", NULL) == 0 && cfg.reload == 1 &&
	    cfg.reload_timeout_ms == 10000, "--reload, reload timeout 10 s");
	config_free(&cfg);
	ok(parse(&cfg, "--log-level", "debug", NULL) == 0 &&
	    cfg.log_level == LOG_LEVEL_DEBUG, "--log-level debug");
	config_free(&cfg);
	ok(parse(&cfg, "--log-level", "error", NULL) == 0 &&
	    cfg.log_level == LOG_LEVEL_ERROR, "--log-level error");
	config_free(&cfg);
	refused("--log-level", "loud", "error, warn, info, debug");
	ok(parse(&cfg, "--handlers", "0:1024", NULL) == 0 &&
	    cfg.handlers_min == 0 && cfg.handlers_max == 1024,
	    "--handlers 0:1024");
	config_free(&cfg);
	ok(parse(&cfg, "--handlers", "1024:1024", NULL) == 0 &&
	    cfg.handlers_min == 1024, "--handlers 1024:1024");
	config_free(&cfg);
	ok(parse(&cfg, "--handlers", "2:3", NULL) == 0 &&
	    cfg.handlers_min == 2 && cfg.handlers_max == 3, "--handlers 2:3");
	config_free(&cfg);
	refused("--handlers", "0:1025", "1 <= MAX <= 1024");
	refused("--handlers", "3:2", "0 <= MIN <= MAX");
	refused("--handlers", "0:0", "1 <= MAX");
	refused("--handlers", "2", "MIN:MAX");
	refused("--handlers", "-1:2", "MIN:MAX");
	refused("--handlers", "1:2:3", "MIN:MAX");
}

static void
test_misc(void)
{
	struct config	 cfg;
	char		 want[128], arg[64];
	size_t		 i;

	ok(parse(&cfg, "--help", NULL) == 1 && err_text[0] == '\0' &&
	    cfg.listen_host == NULL, "--help returns 1");
	for (i = 0; i < CONFIG_NOPTS; i++) {
		snprintf(arg, sizeof arg, "--%s", config_opts[i].name);
		ok(strstr(out_text, arg) != NULL, "usage lists %s", arg);
	}
	ok(strstr(out_text, "default 1M; 1 to 32M bytes") != NULL &&
	    strstr(out_text, "default 30; 0.001 to 86400 seconds") != NULL,
	    "usage shows defaults and ranges");
	ok(parse(&cfg, "-h", NULL) == 1 && strstr(out_text, "Usage:"),
	    "-h prints the usage");
	snprintf(want, sizeof want, "torpor-gateway %s\n", PACKAGE_VERSION);
	ok(parse(&cfg, "--version", NULL) == 1 && strcmp(out_text, want) == 0,
	    "--version prints 'torpor-gateway %s'", PACKAGE_VERSION);
	ok(parse(&cfg, "-V", NULL) == 1 && strncmp(out_text, want,
	    strlen(want)) == 0, "-V too");

	ok(parse(&cfg, "--bogus", NULL) == -EINVAL && one_line_about(
	    "unknown") && strstr(err_text, "--bogus"), "unknown long option");
	ok(parse(&cfg, "-x", NULL) == -EINVAL && strstr(err_text, "'-x'"),
	    "unknown short option");
	ok(parse(&cfg, "--listen", NULL) == -EINVAL && one_line_about(
	    "--listen needs an argument"), "missing argument");
	ok(parse(&cfg, "--help=x", NULL) == -EINVAL && strstr(err_text,
	    "--help=x"), "an argument to --help is refused");
	ok(parse(&cfg, "stray", NULL) == -EINVAL && one_line_about(
	    "unexpected argument 'stray'"), "a stray word is refused");
	ok(parse(&cfg, "--max-m", "2K", NULL) == 0 && cfg.max_message == 2048,
	    "an unambiguous prefix works");
	config_free(&cfg);
	ok(parse(&cfg, "--max", "2K", NULL) == -EINVAL,
	    "an ambiguous prefix is refused");
}

/* The man page documents every option the table has. */
static void
test_man_page(void)
{
	FILE	*fp = fopen(TORPOR_SRCDIR "/doc/torpor-gateway.8", "r");
	char	*text, roff[96], *d;
	size_t	 n, i;
	const char *s;

	ok(fp != NULL, "doc/torpor-gateway.8 exists");
	if (fp == NULL)
		return;
	text = xcalloc(1, 1 << 20);
	n = fread(text, 1, (1 << 20) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	for (i = 0; i < CONFIG_NOPTS; i++) {
		d = roff;
		*d++ = '\\';
		*d++ = '-';
		*d++ = '\\';
		*d++ = '-';
		for (s = config_opts[i].name; *s != '\0'; s++) {
			if (*s == '-')
				*d++ = '\\';
			*d++ = *s;
		}
		*d = '\0';
		ok(strstr(text, roff) != NULL, "man page documents --%s",
		    config_opts[i].name);
	}
	free(text);
}

int
main(void)
{
	char	dir[] = "/tmp/test_config.XXXXXX";
	char	cmd[64];

	if (mkdtemp(dir) == NULL)
		abort();
	test_defaults();
	test_default_dirs();
	test_default_app();
	test_numeric_bounds();
	test_named_limits();
	test_sizes();
	test_seconds();
	test_listen();
	test_routes();
	test_handler(dir);
	test_dirs(dir);
	test_enums();
	test_misc();
	test_man_page();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ok(0, "removing %s", dir);
	return tap_done();
}
