/*
 * pool: handler processes as a list of struct proc, each with its own
 * listening socket and at most one keep-alive FastCGI connection with at
 * most one request in flight. Failures are judged per process: a process
 * that loses its connection, dies, times out or answers something that is
 * not FastCGI fails the request it was serving and is not reused.
 *
 * Hot swap: processes belong to a generation. A reload starts one process
 * of a new generation and probes it with FCGI_GET_VALUES; once it answers,
 * new requests go to that generation only, idle old processes are stopped
 * and busy ones are stopped when their request is done. Since an object
 * has at most one request in flight, its order holds across the switch.
 *
 * External mode (--handler-addr): the "processes" are connections to a
 * FastCGI server someone else runs (PHP-FPM); nothing is spawned, killed
 * or reaped, and a failed connection only fails its request.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "alarm.h"
#include "fcgi.h"
#include "log.h"
#include "pool.h"
#include "xmalloc.h"

extern char **environ;

#define STOP_GRACE_MS	5000

enum proc_state {
	PROC_IDLE,	/* running, no request */
	PROC_BUSY,	/* a request in flight */
	PROC_STOPPING,	/* retired or killed, waiting to be reaped */
};

struct proc {
	struct pool	*pool;
	pid_t		 pid;
	enum proc_state	 state;
	char		*sock_path;
	struct lws	*wsi;
	void		*req_arg;
	struct buf	 out;
	struct buf	 in;
	struct buf	 stdout_buf;
	int64_t		 started_at;
	int64_t		 since;		/* busy since, or idle since */
	int		 answered;	/* served at least one request */
	int		 wrote_stderr;	/* during the request in flight */
	int		 killed;	/* SIGKILL sent */
	unsigned int	 gen;		/* generation */
	int		 counted;	/* counted in pool->nprocs */
	int		 probing;	/* a reload's candidate, not answered yet */
	struct proc	*next;
};

struct pool {
	struct pool_config	 cfg;
	pool_done_fn		 done;
	void			*done_arg;
	struct lws_vhost	*vhost;
	struct proc		*procs;
	int			 nprocs;	/* serving generation, not STOPPING */
	int			 nbusy;
	unsigned int		 gen;		/* the serving generation */
	unsigned int		 last_gen;
	struct proc		*probe;
	int64_t			 probe_deadline;
	pool_reload_fn		 reload_done;
	void			*reload_arg;
	unsigned int		 serial;
	int			 crash_streak;	/* deaths before answering */
	int64_t			 no_spawn_until;
};

static void	proc_fail(struct proc *pr, const char *cause);
static void	pool_sweep(struct pool *p);
static void	pool_backoff(struct pool *p);

struct pool *
pool_create(const struct pool_config *cfg, pool_done_fn done, void *done_arg)
{
	struct pool	*p = xcalloc(1, sizeof *p);

	p->cfg = *cfg;
	p->done = done;
	p->done_arg = done_arg;
	p->gen = p->last_gen = 1;
	return p;
}

void
pool_set_vhost(struct pool *p, struct lws_vhost *vh)
{
	p->vhost = vh;
}

static void
proc_free(struct proc *pr)
{
	if (pr->sock_path != NULL) {
		unlink(pr->sock_path);
		free(pr->sock_path);
	}
	buf_free(&pr->out);
	buf_free(&pr->in);
	buf_free(&pr->stdout_buf);
	free(pr);
}

/* Closes the keep-alive connection without waiting for lws to call us back. */
static void
proc_disconnect(struct proc *pr)
{
	if (pr->wsi == NULL)
		return;
	/* EOF now: a libfcgi handler blocked reading the kept connection
	 * goes back to accept, where SIGTERM ends it */
	shutdown(lws_get_socket_fd(pr->wsi), SHUT_RDWR);
	lws_set_opaque_user_data(pr->wsi, NULL);
	lws_set_timeout(pr->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
	    LWS_TO_KILL_ASYNC);
	pr->wsi = NULL;
}

/* Moves a process to STOPPING, sending sig; reaping removes it later. */
static void
proc_stop(struct proc *pr, int sig)
{
	if (pr->state == PROC_STOPPING)
		return;
	if (pr->state == PROC_BUSY)
		pr->pool->nbusy--;
	if (pr->counted)
		pr->pool->nprocs--;
	pr->counted = 0;
	pr->state = PROC_STOPPING;
	pr->since = alarm_now_ms();
	proc_disconnect(pr);
	if (pr->pid > 0)
		kill(pr->pid, sig);
}

/* Unlinks and frees the process with this pid, if it is ours. */
static void
pool_forget(struct pool *p, pid_t pid)
{
	struct proc	**pp, *pr;

	for (pp = &p->procs; (pr = *pp) != NULL; pp = &pr->next)
		if (pr->pid == pid) {
			*pp = pr->next;
			proc_free(pr);
			return;
		}
}

void
pool_free(struct pool *p)
{
	struct proc	*pr;
	pid_t		 pid;
	int		 status, i;

	if (p == NULL)
		return;
	for (pr = p->procs; pr != NULL; pr = pr->next)
		proc_stop(pr, SIGTERM);
	pool_sweep(p);	/* external slots: nothing to wait for */
	/* the loop is stopping: a bounded wait here blocks nobody */
	for (i = 0; i < 300 && p->procs != NULL; i++) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			pool_forget(p, pid);
		if (p->procs != NULL)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	while ((pr = p->procs) != NULL) {
		log_warn("handler pid=%ld ignored SIGTERM; killing it",
		    (long)pr->pid);
		kill(pr->pid, SIGKILL);
		waitpid(pr->pid, &status, 0);
		pool_forget(p, pr->pid);
	}
	free(p);
}

static int
proc_listen(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    listen(fd, 16) < 0) {
		int	e = errno;

		close(fd);
		unlink(path);
		return -e;
	}
	return fd;
}

/* The signals a handler must see with their default action. */
static void
proc_default_signals(sigset_t *dfl)
{
	sigemptyset(dfl);
	sigaddset(dfl, SIGPIPE);
	sigaddset(dfl, SIGTERM);
	sigaddset(dfl, SIGINT);
	sigaddset(dfl, SIGHUP);
	sigaddset(dfl, SIGCHLD);
}

/* posix_spawn with fd as the handler's fd 0. Returns 0 or an errno. */
static int
proc_spawn(struct pool *p, int fd, pid_t *pid)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		attr;
	sigset_t			none, dfl;
	int				rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	proc_default_signals(&dfl);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, p->cfg.argv[0], &fa, &attr, p->cfg.argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/*
 * --user: fork, drop to the user's uid and gid (no supplementary groups),
 * exec the handler directly (never a shell). posix_spawn cannot change
 * the user. A close-on-exec pipe brings back the errno of a failed exec.
 * Returns 0 or an errno.
 */
static int
proc_exec_as(struct pool *p, int fd, pid_t *pid)
{
	sigset_t	none, dfl;
	int		pipefd[2], err = 0, i;
	ssize_t		n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return errno;
	sigemptyset(&none);
	proc_default_signals(&dfl);
	*pid = fork();
	if (*pid < 0) {
		err = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (*pid == 0) {
		/* the child: async-signal-safe calls only */
		for (i = 1; i < NSIG; i++)
			if (sigismember(&dfl, i) == 1)
				signal(i, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(fd, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setgid(p->cfg.gid) < 0 || setuid(p->cfg.uid) < 0 ||
		    (execve(p->cfg.argv[0], p->cfg.argv, environ), 1)) {
			err = errno;
			n = write(pipefd[1], &err, sizeof err);
			(void)n;
		}
		_exit(127);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &err, sizeof err);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof err) {
		waitpid(*pid, NULL, 0);
		return err;
	}
	return 0;
}

/* Starts one handler with its own listening socket as fd 0. */
static int
pool_spawn(struct pool *p, unsigned int gen, struct proc **out)
{
	struct proc			*pr;
	char				*path = NULL;
	int				 fd = -1, rc;
	pid_t				 pid;

	xasprintf(&path, "%s/h-%ld-%u.sock", p->cfg.run_dir, (long)getpid(),
	    ++p->serial);
	fd = proc_listen(path);
	if (fd < 0) {
		rc = fd;
		log_error("cannot listen on %s: %s", path,
		    strerror(-rc));
		free(path);
		return rc;
	}
	if (p->cfg.uid != (uid_t)-1)
		rc = proc_exec_as(p, fd, &pid);
	else
		rc = proc_spawn(p, fd, &pid);
	close(fd);
	if (rc != 0) {
		log_error("cannot start handler %s: %s",
		    p->cfg.argv[0], strerror(rc));
		unlink(path);
		free(path);
		return -rc;
	}
	pr = xcalloc(1, sizeof *pr);
	pr->pool = p;
	pr->pid = pid;
	pr->sock_path = path;
	pr->state = PROC_IDLE;
	pr->gen = gen;
	pr->started_at = pr->since = alarm_now_ms();
	pr->next = p->procs;
	p->procs = pr;
	if (gen == p->gen) {
		pr->counted = 1;
		p->nprocs++;
	}
	log_info("handler started pid=%ld generation=%u processes=%d",
	    (long)pid, gen, p->nprocs);
	*out = pr;
	return 0;
}

int
pool_start(struct pool *p)
{
	struct proc	*pr;
	int		 rc;

	while (p->cfg.addr == NULL && p->nprocs < p->cfg.min)
		if ((rc = pool_spawn(p, p->gen, &pr)) != 0)
			return rc;
	return 0;
}

static struct proc *
pool_idle(const struct pool *p)
{
	struct proc	*pr, *best = NULL;

	/* a connected process first: it skips the connect */
	for (pr = p->procs; pr != NULL; pr = pr->next) {
		if (pr->state != PROC_IDLE || pr->gen != p->gen || pr->probing)
			continue;
		if (pr->wsi != NULL)
			return pr;
		if (best == NULL)
			best = pr;
	}
	return best;
}

int
pool_can_take(const struct pool *p)
{
	if (pool_idle(p) != NULL)
		return 1;
	return p->nprocs < p->cfg.max && alarm_now_ms() >= p->no_spawn_until;
}

/* Fills ss from "unix:PATH", "tcp:HOST:PORT" or a plain unix path. */
static int
proc_sockaddr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[64];
	const char		*colon;
	size_t			 n;

	memset(ss, 0, sizeof *ss);
	if (strncmp(addr, "tcp:", 4) != 0) {
		if (strncmp(addr, "unix:", 5) == 0)
			addr += 5;
		if (strlen(addr) >= sizeof sun->sun_path)
			return -ENAMETOOLONG;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, addr);
		*len = sizeof *sun;
		return 0;
	}
	addr += 4;
	colon = strrchr(addr, ':');
	if (colon == NULL)
		return -EINVAL;
	n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= sizeof host)
		return -EINVAL;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof *sin6;
		return 0;
	}
	return -EINVAL;
}

static int
proc_connect(struct proc *pr)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			fd, e, one = 1;

	e = proc_sockaddr(pr->pool->cfg.addr != NULL ? pr->pool->cfg.addr :
	    pr->sock_path, &ss, &sslen);
	if (e != 0)
		return e;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -errno;
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/*
	 * A unix connect to a listener completes at once or fails; a TCP one
	 * may be in progress: the request waits in lws until it is writable.
	 */
	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 &&
	    errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return -e;
	}
	pr->wsi = lws_adopt_descriptor_vhost(pr->pool->vhost, LWS_ADOPT_SOCKET,
	    (lws_sock_file_fd_type){ .sockfd = fd }, "torpor-fcgi", NULL);
	if (pr->wsi == NULL)
		return -ENOMEM;	/* lws closed fd */
	lws_set_opaque_user_data(pr->wsi, pr);
	return 0;
}

/* External mode: a connection slot, no process behind it. */
static struct proc *
pool_slot(struct pool *p)
{
	struct proc	*pr = xcalloc(1, sizeof *pr);

	pr->pool = p;
	pr->pid = -1;
	pr->state = PROC_IDLE;
	pr->gen = p->gen;
	pr->counted = 1;
	pr->answered = 1;
	pr->started_at = pr->since = alarm_now_ms();
	pr->next = p->procs;
	p->procs = pr;
	p->nprocs++;
	return pr;
}

/*
 * Whether the kept connection of an idle process still stands. A process
 * killed while idle leaves an EOF that the loop may not have read yet;
 * sending a request there would fail an event that no handler ever saw.
 */
static int
proc_conn_alive(struct proc *pr)
{
	char	c;
	ssize_t	n;

	n = recv(lws_get_socket_fd(pr->wsi), &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/*
 * An idle process ready for a request (connected), or a new one. Dead
 * ones found on the way are stopped, not given the request. NULL and *rc
 * when none can be had now.
 */
static struct proc *
pool_ready(struct pool *p, int *rc)
{
	struct proc	*pr;
	int		 tries;

	*rc = -EAGAIN;
	for (tries = 0; tries < 4; tries++) {
		pr = pool_idle(p);
		if (pr == NULL) {
			if (!pool_can_take(p))
				return NULL;
			if (p->cfg.addr != NULL)
				pr = pool_slot(p);
			else if ((*rc = pool_spawn(p, p->gen, &pr)) != 0) {
				p->no_spawn_until = alarm_now_ms() + 1000;
				return NULL;
			}
		}
		if (pr->wsi != NULL && !proc_conn_alive(pr)) {
			log_info("handler pid=%ld went away while idle",
			    (long)pr->pid);
			proc_stop(pr, SIGKILL);
			continue;
		}
		if (pr->wsi == NULL && (*rc = proc_connect(pr)) != 0 &&
		    p->cfg.addr != NULL) {
			/* external mode: nobody to restart, say so to the event */
			log_error("cannot connect to the FastCGI server %s: %s",
			    p->cfg.addr, strerror(-*rc));
			proc_stop(pr, SIGKILL);
			*rc = -ECONNREFUSED;
			return NULL;
		}
		if (pr->wsi == NULL && *rc != 0) {
			log_warn("cannot connect to handler pid=%ld: %s",
			    (long)pr->pid, strerror(-*rc));
			/* one that never answered is likely dead at start */
			if (!pr->answered)
				pool_backoff(p);
			proc_stop(pr, SIGKILL);
			*rc = -EAGAIN;
			if (!pr->answered)
				return NULL;
			continue;
		}
		return pr;
	}
	return NULL;
}

int
pool_submit(struct pool *p, struct buf *req, void *req_arg)
{
	struct proc	*pr;
	int		 rc;

	if ((pr = pool_ready(p, &rc)) == NULL)
		return rc;
	pr->state = PROC_BUSY;
	p->nbusy++;
	pr->req_arg = req_arg;
	pr->since = alarm_now_ms();
	buf_reset(&pr->out);
	buf_append(&pr->out, buf_head(req), buf_size(req));
	buf_reset(req);
	buf_reset(&pr->in);
	buf_reset(&pr->stdout_buf);
	lws_callback_on_writable(pr->wsi);
	return 0;
}

/* Hands the result of the in-flight request to the gateway, once. */
static void
proc_finish(struct proc *pr, const struct pool_result *res)
{
	void	*arg = pr->req_arg;

	pr->req_arg = NULL;
	if (arg != NULL)
		pr->pool->done(arg, res, pr->pool->done_arg);
}

static void
proc_fail(struct proc *pr, const char *cause)
{
	struct pool_result	res = { 0, cause, NULL, 0 };

	log_warn("handler pid=%ld: %s", (long)pr->pid, cause);
	/* failing its very first request counts as dying at start */
	if (!pr->answered && pr->pid > 0)
		pool_backoff(pr->pool);
	proc_stop(pr, SIGKILL);
	proc_finish(pr, &res);
}

static void
proc_log_stderr(struct proc *pr, const uint8_t *data, size_t len)
{
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len > 0)
		log_warn("handler pid=%ld stderr: %.*s",
		    (long)pr->pid, (int)(len > 1000 ? 1000 : len), data);
}

static void
probe_fail(struct proc *pr, const char *cause)
{
	struct pool	*p = pr->pool;
	unsigned int	 gen = pr->gen;

	log_error("reload: generation %u failed (pid=%ld): %s; generation "
	    "%u keeps serving with %d processes", gen, (long)pr->pid, cause,
	    p->gen, p->nprocs);
	pr->probing = 0;
	p->probe = NULL;
	proc_stop(pr, SIGKILL);
	if (p->reload_done != NULL)
		p->reload_done(0, gen, cause, p->reload_arg);
}

/* The candidate answered: its generation serves from now on. */
static void
pool_switch(struct pool *p, struct proc *probe)
{
	struct proc	*pr;
	unsigned int	 old = p->gen;
	int		 draining = 0;

	p->probe = NULL;
	probe->probing = 0;
	probe->answered = 1;
	probe->since = alarm_now_ms();
	p->gen = probe->gen;
	/* only the new generation counts against --handlers from now on */
	for (pr = p->procs; pr != NULL; pr = pr->next)
		pr->counted = 0;
	probe->counted = 1;
	p->nprocs = 1;
	for (pr = p->procs; pr != NULL; pr = pr->next) {
		if (pr == probe || pr->state == PROC_STOPPING)
			continue;
		if (pr->state == PROC_IDLE)
			proc_stop(pr, SIGTERM);
		else
			draining++;	/* busy: stops when its request is done */
	}
	log_info("reload: generation %u serving with %d processes; "
	    "generation %u: %d processes finishing their request", p->gen,
	    p->nprocs, old, draining);
	if (p->reload_done != NULL)
		p->reload_done(1, p->gen, NULL, p->reload_arg);
}

static int
probe_rx(struct proc *pr, const void *in, size_t len)
{
	struct fcgi_record	rec;
	int			n;

	buf_append(&pr->in, in, len);
	n = fcgi_decode(buf_head(&pr->in), buf_size(&pr->in), &rec);
	if (n == 0)
		return 0;
	if (n < 0 || rec.type != FCGI_GET_VALUES_RESULT) {
		probe_fail(pr, n < 0 ? fcgi_strerror(n) :
		    "unexpected answer to FCGI_GET_VALUES");
		return -1;
	}
	buf_consume(&pr->in, (size_t)n);
	pool_switch(pr->pool, pr);
	/* what follows (a late answer to the empty record) is for idle rx */
	return 0;
}

int
pool_reload(struct pool *p)
{
	struct proc	*pr;
	int		 rc;

	if (p->probe != NULL)
		return -EBUSY;
	if (p->cfg.addr != NULL)
		return -EOPNOTSUPP;	/* external mode: the server reloads itself */
	rc = pool_spawn(p, p->last_gen + 1, &pr);
	if (rc != 0)
		return rc;
	p->last_gen++;
	pr->probing = 1;
	p->probe = pr;
	p->probe_deadline = alarm_now_ms() + p->cfg.reload_timeout_ms;
	fcgi_encode_get_values(&pr->out);
	if ((rc = proc_connect(pr)) != 0) {
		probe_fail(pr, "cannot connect to the new handler");
		return 0;
	}
	lws_callback_on_writable(pr->wsi);
	log_info("reload: starting generation %u (pid=%ld) from %s",
	    pr->gen, (long)pr->pid, p->cfg.argv[0]);
	return 0;
}

void
pool_set_reload_cb(struct pool *p, pool_reload_fn fn, void *arg)
{
	p->reload_done = fn;
	p->reload_arg = arg;
}

/*
 * Between requests only management answers may come (libfcgi answers the
 * probe's empty GET_VALUES late); anything else is a protocol error.
 */
static int
proc_rx_idle(struct proc *pr, const void *in, size_t len)
{
	struct fcgi_record	rec;
	int			n;

	buf_append(&pr->in, in, len);
	while ((n = fcgi_decode(buf_head(&pr->in), buf_size(&pr->in),
	    &rec)) > 0) {
		if (rec.type != FCGI_GET_VALUES_RESULT &&
		    rec.type != FCGI_UNKNOWN_TYPE) {
			log_warn("handler pid=%ld wrote outside a request",
			    (long)pr->pid);
			proc_stop(pr, SIGKILL);
			return -1;
		}
		buf_consume(&pr->in, (size_t)n);
	}
	if (n < 0) {
		log_warn("handler pid=%ld: %s", (long)pr->pid, fcgi_strerror(n));
		proc_stop(pr, SIGKILL);
		return -1;
	}
	return 0;
}

static int
proc_rx(struct proc *pr, const void *in, size_t len)
{
	struct fcgi_record	 rec;
	struct pool_result	 res;
	int			 n;

	if (pr->probing)
		return probe_rx(pr, in, len);
	if (pr->state != PROC_BUSY)
		return proc_rx_idle(pr, in, len);
	buf_append(&pr->in, in, len);
	while ((n = fcgi_decode(buf_head(&pr->in), buf_size(&pr->in),
	    &rec)) > 0) {
		switch (rec.type) {
		case FCGI_STDOUT:
			if (buf_size(&pr->stdout_buf) + rec.content_len >
			    pr->pool->cfg.max_response) {
				proc_fail(pr, "response over --max-response");
				return -1;
			}
			buf_append(&pr->stdout_buf, rec.content,
			    rec.content_len);
			break;
		case FCGI_STDERR:
			proc_log_stderr(pr, rec.content, rec.content_len);
			pr->wrote_stderr |= rec.content_len > 0;
			break;
		case FCGI_END_REQUEST:
			buf_consume(&pr->in, (size_t)n);
			if (buf_size(&pr->in) > 0) {
				proc_fail(pr, "bytes after END_REQUEST");
				return -1;
			}
			pr->state = PROC_IDLE;
			pr->pool->nbusy--;
			pr->since = alarm_now_ms();
			pr->answered = 1;
			pr->pool->crash_streak = 0;
			if (pr->gen != pr->pool->gen)
				proc_stop(pr, SIGTERM);	/* drained */
			/* the process is fine, but this answer is not trusted */
			res.ok = !(pr->wrote_stderr && pr->pool->cfg.stderr_fails);
			res.cause = res.ok ? NULL : "the handler wrote to FastCGI's "
			    "stderr during the request (--handler-stderr fail)";
			pr->wrote_stderr = 0;
			res.body = buf_head(&pr->stdout_buf);
			res.len = buf_size(&pr->stdout_buf);
			proc_finish(pr, &res);
			return 0;
		default:
			break;	/* GET_VALUES_RESULT, UNKNOWN_TYPE: ignore */
		}
		buf_consume(&pr->in, (size_t)n);
	}
	if (n < 0) {
		proc_fail(pr, fcgi_strerror(n));
		return -1;
	}
	return 0;
}

int
pool_lws_callback(struct lws *wsi, int reason, void *user, void *in,
    size_t len)
{
	struct proc	*pr = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX:
		if (pr == NULL)
			return -1;
		return proc_rx(pr, in, len) < 0 ? -1 : 0;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (pr == NULL || buf_size(&pr->out) == 0)
			return 0;
		/* lws keeps whatever the kernel did not take and sends it first */
		if (lws_write(wsi, (uint8_t *)buf_head(&pr->out),
		    buf_size(&pr->out), LWS_WRITE_RAW) < 0) {
			proc_fail(pr, "write to the handler failed");
			return -1;
		}
		buf_reset(&pr->out);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE:
		if (pr == NULL)
			return 0;
		pr->wsi = NULL;
		if (pr->probing)
			probe_fail(pr, "the new handler closed the connection");
		else if (pr->state == PROC_BUSY)
			proc_fail(pr, "handler closed the connection "
			    "mid-request (crashed?)");
		else
			proc_stop(pr, SIGTERM);
		return 0;
	default:
		return 0;
	}
}

/* A process died before answering anything: start the next one later. */
static void
pool_backoff(struct pool *p)
{
	int64_t	delay;

	p->crash_streak++;
	delay = 100LL << (p->crash_streak > 9 ? 9 : p->crash_streak);
	if (delay > 30000)
		delay = 30000;
	p->no_spawn_until = alarm_now_ms() + delay;
	if (p->crash_streak >= 3)
		log_error("handler %s died %d times in a row before "
		    "answering; next start in %lld ms",
		    p->cfg.argv[0], p->crash_streak, (long long)delay);
}

/* Frees stopped external slots: there is no process to reap for them. */
static void
pool_sweep(struct pool *p)
{
	struct proc	**pp = &p->procs, *pr;

	while ((pr = *pp) != NULL) {
		if (pr->pid < 0 && pr->state == PROC_STOPPING) {
			*pp = pr->next;
			proc_free(pr);
		} else
			pp = &pr->next;
	}
}

static void
pool_reap(struct pool *p)
{
	struct proc	**pp, *pr;
	pid_t		  pid;
	int		  status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (pp = &p->procs; (pr = *pp) != NULL; pp = &pr->next)
			if (pr->pid == pid)
				break;
		if (pr == NULL)
			continue;
		if (pr->probing)
			probe_fail(pr, "the new handler exited before answering");
		else if (pr->state != PROC_STOPPING) {
			if (!pr->answered)
				pool_backoff(p);
			if (pr->state == PROC_BUSY)
				proc_fail(pr, "handler died mid-request");
			else
				proc_stop(pr, SIGKILL);
			if (WIFSIGNALED(status))
				log_warn("handler pid=%ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
			else
				log_warn("handler pid=%ld exited with status %d",
				    (long)pid, WEXITSTATUS(status));
		} else
			log_info("handler stopped pid=%ld processes=%d", (long)pid, p->nprocs);
		*pp = pr->next;
		proc_free(pr);
	}
}

void
pool_tick(struct pool *p, int64_t now_ms)
{
	struct proc	*pr;

	pool_reap(p);
	pool_sweep(p);
	if (p->probe != NULL && now_ms > p->probe_deadline)
		probe_fail(p->probe, "the new handler did not answer in time");
	for (pr = p->procs; pr != NULL; pr = pr->next) {
		if (pr->state == PROC_STOPPING && !pr->killed && pr->pid > 0 &&
		    now_ms - pr->since > STOP_GRACE_MS) {
			log_warn("handler pid=%ld still running %d ms after "
			    "SIGTERM; killing it", (long)pr->pid, STOP_GRACE_MS);
			kill(pr->pid, SIGKILL);
			pr->killed = 1;
			continue;
		}
		if (pr->state == PROC_BUSY && p->cfg.event_timeout_ms > 0 &&
		    now_ms - pr->since > p->cfg.event_timeout_ms) {
			proc_fail(pr, "event timeout (--event-timeout)");
			continue;
		}
		if (pr->state == PROC_IDLE && pr->counted &&
		    p->nprocs > p->cfg.min &&
		    now_ms - pr->since >= p->cfg.idle_timeout_ms) {
			log_info("retiring idle handler pid=%ld",
			    (long)pr->pid);
			proc_stop(pr, SIGTERM);
		}
	}
	if (p->nprocs < p->cfg.min && now_ms >= p->no_spawn_until)
		pool_start(p);
}

unsigned int
pool_generation(const struct pool *p)
{
	return p->gen;
}

int
pool_draining(const struct pool *p)
{
	const struct proc	*pr;
	int			 n = 0;

	for (pr = p->procs; pr != NULL; pr = pr->next)
		if (pr->state == PROC_BUSY && pr->gen != p->gen)
			n++;
	return n;
}

int
pool_count(const struct pool *p)
{
	return p->nprocs;
}

int
pool_busy(const struct pool *p)
{
	return p->nbusy;
}
