/*
 * loadgen: torpor's load generator. One thread, one epoll set, every socket
 * non-blocking (lgconn.c), RFC 6455 framing of its own (wsproto.c),
 * latencies in a fixed histogram (hist.c): the hot loop allocates nothing,
 * so the generator stays cheap next to the server it measures on the same
 * machine.
 *
 * A run has three phases. Setup opens the connections, at a bounded rate
 * and with a bounded number of handshakes in flight, and waits for each
 * one's first message, the server's welcome. Run does what the mode asks:
 * closed-loop messages, holding idle sockets, wake rounds driven by lines
 * on stdin, or (with no setup) connect/close cycles. Drain sends close
 * frames and waits, with a deadline, for the server to close. Every wait
 * is bounded by --timeout or by the phase's own deadline, and only
 * loopback targets are accepted (lgopt.c). The modes are described in
 * lgopt.c's usage text and bench/RESULTS.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hist.h"
#include "lgconn.h"
#include "lgopt.h"
#include "selftest.h"
#include "wsproto.h"

#define NS		1000000000LL
#define MS		1000000LL
#define ERRORS_SHOWN	10	/* error messages printed; the rest counted */
#define DRAIN_MAX_NS	(5 * NS)
#define SCAN_NS		(100 * MS)
#define CONNECT_GIVE_UP	100	/* connect mode: failures before stopping */

enum phase { PH_SETUP, PH_RUN, PH_DRAIN, PH_DONE };

/* stdin, where the driving script releases holds and wake rounds */
enum input { IN_OFF, IN_POLLED, IN_READ };

struct lg {
	const struct lgopt	*opt;
	struct lgconn_set	*set;
	size_t			 n;		/* slots */
	enum phase		 phase;
	int			 failed;	/* fatal: stop, exit 1 */
	size_t			 started;	/* setup: slots opened */
	/* ns on CLOCK_MONOTONIC */
	int64_t			 t_start;
	int64_t			 t_run;		/* setup finished */
	int64_t			 win_start;	/* measurement window */
	int64_t			 win_end;	/* also: end of an idle hold */
	int64_t			 t_drain_end;
	int64_t			 t_wait_end;	/* wake: deadline for stdin */
	int64_t			 t_scan;	/* next deadline scan */
	/* results */
	struct hist		*lat;
	uint64_t		 count;		/* replies or connects measured */
	uint64_t		 errors;
	long			 round;		/* wake: current round, from 1 */
	enum input		 input;
	int			 input_eof;
	long			 lines;		/* lines not used yet */
};

static void	lg_fatal(struct lg *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Stops the run; only the first reason is printed, the rest follow from it. */
static void
lg_fatal(struct lg *lg, const char *fmt, ...)
{
	va_list	ap;

	if (lg->failed)
		return;
	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	lg->failed = 1;
	lg->phase = PH_DONE;
}

/* Counts an error; prints the first few, since later ones are repeats. */
static void
lg_error(struct lg *lg, size_t i, const char *why)
{
	if (lg->errors++ < ERRORS_SHOWN)
		fprintf(stderr, "loadgen: connection %zu: %s\n", i, why);
	else if (lg->errors == ERRORS_SHOWN + 1)
		fputs("loadgen: more errors follow; only counted\n", stderr);
}

static int
lg_in_window(const struct lg *lg, int64_t t)
{
	return t >= lg->win_start && t <= lg->win_end;
}

static void
lg_prompt(struct lg *lg, int64_t now)
{
	printf("ready round=%ld\n", lg->round);
	fflush(stdout);
	lg->t_wait_end = now + (int64_t)(lg->opt->timeout * NS);
}

/* The run is over: every open connection is asked to close. */
static void
lg_drain(struct lg *lg, int64_t now)
{
	int64_t			limit = (int64_t)(lg->opt->timeout * NS);
	enum lgconn_state	st;
	size_t			i;

	lg->phase = PH_DRAIN;
	lg->t_drain_end = now + (limit < DRAIN_MAX_NS ? limit : DRAIN_MAX_NS);
	for (i = 0; i < lg->n; i++) {
		st = lgconn_state(lg->set, i);
		if (st == LGCONN_READY || st == LGCONN_WAITING)
			lgconn_bye(lg->set, i, now);
	}
}

/* Hook: the first message of a connection, the server's welcome. */
static void
lg_welcomed(void *arg, size_t i, int64_t since, int64_t now)
{
	struct lg	*lg = arg;

	if (lg->opt->mode != MODE_CONNECT)
		return;	/* READY; lg_setup notices when all are */
	if (lg->phase == PH_RUN && lg_in_window(lg, now)) {
		lg->count++;
		hist_add(lg->lat, (uint64_t)(now - since));
	}
	lgconn_bye(lg->set, i, now);
}

/* Hook: the reply to the message in flight. */
static void
lg_replied(void *arg, size_t i, const struct wsproto_event *ev,
    int64_t since, int64_t now)
{
	struct lg	*lg = arg;
	const char	*want = lg->opt->expect;
	char		 why[160];

	if (want != NULL &&
	    memmem(ev->data, ev->data_len, want, strlen(want)) == NULL) {
		snprintf(why, sizeof why, "reply without '%s': %.*s", want,
		    (int)ev->data_len, ev->data);
		lg_error(lg, i, why);
	}
	if (lg->opt->mode == MODE_WAKE) {
		hist_add(lg->lat, (uint64_t)(now - since));
		lg->count++;
		printf("round=%ld latency_us=%.1f\n", lg->round,
		    (double)(now - since) / 1e3);
		fflush(stdout);
		if (++lg->round > lg->opt->rounds)
			lg_drain(lg, now);
		else
			lg_prompt(lg, now);
		return;
	}
	if (lg_in_window(lg, now)) {
		lg->count++;
		hist_add(lg->lat, (uint64_t)(now - since));
	}
	if (lg->phase == PH_RUN && now < lg->win_end)
		lgconn_message(lg->set, i, now);
}

/*
 * Hook: a connection failed. While setting up, or with the one connection
 * of wake mode, the run cannot go on; otherwise the connection is lost,
 * counted, and the exit status will say so.
 */
static void
lg_failed(void *arg, size_t i, const char *why)
{
	struct lg	*lg = arg;

	if (lg->phase == PH_SETUP || lg->opt->mode == MODE_WAKE)
		lg_fatal(lg, "connection %zu: %s", i, why);
	else
		lg_error(lg, i, why);
}

/* Hook: stdin is readable; counts the lines the script wrote. */
static void
lg_input(void *arg)
{
	struct lg	*lg = arg;
	char		 buf[256];
	ssize_t		 n, i;

	n = read(STDIN_FILENO, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (lg->input == IN_POLLED)
			lgconn_unwatch(lg->set, STDIN_FILENO);
		lg->input = IN_OFF;
		lg->input_eof = 1;
		return;
	}
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			lg->lines++;
}

/*
 * Pipes and terminals are polled; epoll refuses regular files and
 * /dev/null, which never block, so those are read when a line is wanted.
 */
static void
lg_input_start(struct lg *lg)
{
	int	rc = lgconn_watch(lg->set, STDIN_FILENO);

	if (rc == 0)
		lg->input = IN_POLLED;
	else if (rc == -EPERM)
		lg->input = IN_READ;
	else
		lg->input_eof = 1;
}

/* Every connection is welcomed: the mode's own work starts. */
static void
lg_begin(struct lg *lg, int64_t now)
{
	const struct lgopt	*o = lg->opt;
	size_t			 i;

	lg->phase = PH_RUN;
	lg->t_run = now;
	switch (o->mode) {
	case MODE_CLOSED:
		lg->win_start = now + (int64_t)(o->warmup * NS);
		lg->win_end = lg->win_start + (int64_t)(o->duration * NS);
		for (i = 0; i < lg->n; i++)
			if (lgconn_state(lg->set, i) == LGCONN_READY)
				lgconn_message(lg->set, i, now);
		break;
	case MODE_IDLE:
		lg->win_end = now + (int64_t)(o->hold * NS);
		printf("ready conns=%zu\n", lg->n);
		fflush(stdout);
		lg_input_start(lg);
		break;
	case MODE_WAKE:
		lg->round = 1;
		lg_input_start(lg);
		lg_prompt(lg, now);
		break;
	case MODE_CONNECT:
		break;
	}
}

/* Opens connections within the rate and the bound on handshakes. */
static void
lg_setup(struct lg *lg, int64_t now)
{
	const struct lgopt	*o = lg->opt;
	double			 allowed;

	if (lgconn_ready(lg->set) == lg->n) {
		lg_begin(lg, now);
		return;
	}
	allowed = (double)(now - lg->t_start) / NS * o->rate + 1;
	while (lg->started < lg->n && lg->phase == PH_SETUP &&
	    lgconn_pending(lg->set) < (size_t)o->pending &&
	    (double)lg->started < allowed) {
		if (lgconn_start(lg->set, lg->started++, now) < 0)
			lg_fatal(lg, "socket: %s", strerror(errno));
	}
}

/* Connect mode: keeps --parallel cycles going until the window ends. */
static void
lg_cycle(struct lg *lg, int64_t now)
{
	size_t	i;

	if (now >= lg->win_end) {
		lg_drain(lg, now);
		return;
	}
	if (lg->errors > CONNECT_GIVE_UP && lg->errors > lg->count) {
		lg_fatal(lg, "connect: %llu failures, giving up",
		    (unsigned long long)lg->errors);
		return;
	}
	for (i = 0; i < lg->n && lg->phase == PH_RUN; i++)
		if (lgconn_state(lg->set, i) == LGCONN_FREE &&
		    lgconn_start(lg->set, i, now) < 0)
			lg_fatal(lg, "socket: %s", strerror(errno));
}

/* Wake mode: a line on stdin sends the next round's message. */
static void
lg_wake(struct lg *lg, int64_t now)
{
	if (lgconn_state(lg->set, 0) != LGCONN_READY)
		return;
	if (lg->lines == 0 && lg->input == IN_READ)
		lg_input(lg);
	if (lg->lines > 0) {
		lg->lines--;
		lgconn_message(lg->set, 0, now);
	} else if (lg->input_eof)
		lg_fatal(lg, "stdin closed before round %ld", lg->round);
	else if (now >= lg->t_wait_end)
		lg_fatal(lg, "no line on stdin within %g s (round %ld)",
		    lg->opt->timeout, lg->round);
}

static void
lg_running(struct lg *lg, int64_t now)
{
	switch (lg->opt->mode) {
	case MODE_CLOSED:
		if (now >= lg->win_end || lgconn_open(lg->set) == 0)
			lg_drain(lg, now);
		break;
	case MODE_IDLE:
		if (lg->input == IN_READ)
			lg_input(lg);
		if (now >= lg->win_end || lg->lines > 0 ||
		    lgconn_open(lg->set) == 0)
			lg_drain(lg, now);
		break;
	case MODE_CONNECT:
		lg_cycle(lg, now);
		break;
	case MODE_WAKE:
		lg_wake(lg, now);
		break;
	}
}

static void
lg_step(struct lg *lg, int64_t now)
{
	size_t	i;

	switch (lg->phase) {
	case PH_SETUP:
		lg_setup(lg, now);
		break;
	case PH_RUN:
		lg_running(lg, now);
		break;
	case PH_DRAIN:
		if (lgconn_open(lg->set) > 0 && now < lg->t_drain_end)
			break;
		/* whatever has not closed by the deadline is cut */
		for (i = 0; i < lg->n; i++)
			lgconn_close(lg->set, i);
		lg->phase = PH_DONE;
		break;
	case PH_DONE:
		break;
	}
	if (now >= lg->t_scan && lg->phase != PH_DONE) {
		lgconn_scan(lg->set, now, (int64_t)(lg->opt->timeout * NS));
		lg->t_scan = now + SCAN_NS;
	}
}

/* How long epoll may sleep: until the next deadline, at most 100 ms. */
static int
lg_wait_ms(const struct lg *lg, int64_t now)
{
	int64_t	next = lg->t_scan;

	if (lg->phase == PH_SETUP && lg->started < lg->n &&
	    lgconn_pending(lg->set) < (size_t)lg->opt->pending)
		next = now + MS;	/* the rate will allow more soon */
	else if (lg->phase == PH_RUN && lg->opt->mode == MODE_WAKE)
		next = lg->t_wait_end < next ? lg->t_wait_end : next;
	else if (lg->phase == PH_RUN && lg->win_end < next)
		next = lg->win_end;
	else if (lg->phase == PH_DRAIN && lg->t_drain_end < next)
		next = lg->t_drain_end;
	if (next <= now)
		return 0;
	return (int)((next - now + MS - 1) / MS);
}

static void
lg_loop(struct lg *lg)
{
	int	rc;

	while (lg->phase != PH_DONE) {
		lg_step(lg, lgconn_now());
		if (lg->phase == PH_DONE)
			break;
		rc = lgconn_poll(lg->set, lg_wait_ms(lg, lgconn_now()));
		if (rc < 0)
			lg_fatal(lg, "epoll_wait: %s", strerror(-rc));
	}
}

/* Prints the machine line (stdout) and the human one; @return the status. */
static int
lg_report(const struct lg *lg)
{
	const struct lgopt	*o = lg->opt;
	const struct hist	*h = lg->lat;
	double			 p50 = (double)hist_percentile(h, 50) / 1e3;
	double			 p90 = (double)hist_percentile(h, 90) / 1e3;
	double			 p99 = (double)hist_percentile(h, 99) / 1e3;
	double			 max = (double)hist_max(h) / 1e3;
	double			 rate = (double)lg->count / o->duration;
	unsigned long long	 count = lg->count, errors = lg->errors;
	char			 tail[128], spread[48] = "";

	if (lg->failed)
		return 1;
	if (o->objects > 0)
		snprintf(spread, sizeof spread, " over %ld objects",
		    o->objects);
	snprintf(tail, sizeof tail, "errors=%llu unsolicited=%llu "
	    "close_timeouts=%llu", errors,
	    (unsigned long long)lgconn_unsolicited(lg->set),
	    (unsigned long long)lgconn_close_timeouts(lg->set));
	switch (o->mode) {
	case MODE_CLOSED:
		printf("mode=closed conns=%zu msgs=%llu seconds=%.2f rate=%.1f "
		    "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f %s\n",
		    lg->n, count, o->duration, rate, p50, p90, p99, max, tail);
		fprintf(stderr, "loadgen: closed loop, %zu connections%s, "
		    "%.2f s: %.0f msg/s; latency p50 %.0f us, p99 %.0f us, "
		    "max %.0f us; %llu errors\n", lg->n, spread, o->duration,
		    rate, p50, p99, max, errors);
		break;
	case MODE_IDLE:
		printf("mode=idle conns=%zu setup_seconds=%.3f %s\n", lg->n,
		    (double)(lg->t_run - lg->t_start) / NS, tail);
		fprintf(stderr, "loadgen: held %zu connections (set up in "
		    "%.2f s); %llu errors\n", lg->n,
		    (double)(lg->t_run - lg->t_start) / NS, errors);
		break;
	case MODE_CONNECT:
		printf("mode=connect parallel=%zu connects=%llu seconds=%.2f "
		    "rate=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f %s\n",
		    lg->n, count, o->duration, rate, p50, p99, max, tail);
		fprintf(stderr, "loadgen: %.0f connects/s (%zu in parallel); "
		    "connect to welcome p50 %.0f us, p99 %.0f us; %llu "
		    "errors\n", rate, lg->n, p50, p99, errors);
		break;
	case MODE_WAKE:
		printf("mode=wake rounds=%llu p50_us=%.1f p99_us=%.1f "
		    "max_us=%.1f %s\n", count, p50, p99, max, tail);
		fprintf(stderr, "loadgen: %llu wake rounds: p50 %.0f us, "
		    "p99 %.0f us, max %.0f us; %llu errors\n", count, p50,
		    p99, max, errors);
		break;
	}
	fflush(stdout);
	return errors > 0 ? 1 : 0;
}

/*
 * Raises the descriptor limit to the hard limit (10,000 connections need
 * more than the usual soft 1024) and checks that it is enough.
 */
static int
lg_nofile(size_t nconns)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)nconns + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "loadgen: getrlimit: %s\n", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		/* an infinite hard limit is refused: ask for what we need */
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			rl.rlim_cur = need;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		fprintf(stderr, "loadgen: the descriptor limit is %llu (hard "
		    "%llu), below the %llu that %zu connections need; raise "
		    "the hard limit (limits.conf, or ulimit -Hn as root)\n",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max,
		    (unsigned long long)need, nconns);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct lgopt		 opt;
	struct lg		 lg;
	struct lgconn_hooks	 hooks = { &lg, lg_welcomed, lg_replied,
				    lg_failed, lg_input };
	int			 rc;

	if ((rc = lgopt_parse(&opt, argc, argv)) != 0)
		return rc > 0 ? 0 : 2;
	if (opt.self_test)
		return selftest_run() == 0 ? 0 : 1;
	signal(SIGPIPE, SIG_IGN);
	memset(&lg, 0, sizeof lg);
	lg.opt = &opt;
	lg.n = opt.mode == MODE_CONNECT ? (size_t)opt.parallel :
	    opt.mode == MODE_WAKE ? 1 : (size_t)opt.conns;
	if (lg_nofile(lg.n) < 0)
		return 1;
	lg.set = lgconn_create(&opt, lg.n, &hooks);
	lg.lat = hist_create();
	rc = 1;
	if (lg.set == NULL || lg.lat == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		goto done;
	}
	lg.t_start = lgconn_now();
	lg.t_scan = lg.t_start + SCAN_NS;
	lg.phase = PH_SETUP;
	if (opt.mode == MODE_CONNECT) {
		/* no setup: every cycle opens and closes its own connection */
		lg.phase = PH_RUN;
		lg.win_start = lg.t_start + (int64_t)(opt.warmup * NS);
		lg.win_end = lg.win_start + (int64_t)(opt.duration * NS);
	}
	lg_loop(&lg);
	rc = lg_report(&lg);
done:
	lgconn_free(lg.set);
	hist_free(lg.lat);
	return rc;
}
