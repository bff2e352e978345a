/*
 * lgconn: the client sockets of the load generator. Level-triggered epoll;
 * EPOLLOUT is armed only while connecting or while send() left bytes over,
 * which for small frames on loopback is almost never, so a message costs
 * one send() and one recv(). All reads go through one 64 KiB buffer of the
 * set; a connection keeps only its decoder state, its handshake response
 * while upgrading, and a send buffer allocated the first time send() is
 * short. Closing is the RFC's way round: we send a close frame and let the
 * server close TCP first, so TIME_WAIT lands on the server and thousands
 * of connect cycles do not exhaust the client's ports.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lgconn.h"

#define HS_CAP		4096	/* largest handshake response we accept */
#define RBUF_SIZE	65536
#define MAX_EVENTS	256
#define WATCH_TAG	UINT64_MAX
#define CLOSE_NORMAL	1000

struct conn {
	int			 fd;
	uint8_t			 state;
	uint8_t			 out_armed;	/* EPOLLOUT is registered */
	int64_t			 since;		/* start of the current step */
	char			*hs;		/* UPGRADING: response so far */
	size_t			 hs_len;
	uint8_t			*out;		/* bytes send() did not take */
	size_t			 out_off;
	size_t			 out_len;
	size_t			 out_cap;
	char			 key[WSPROTO_KEY_LEN + 1];
	char			 accept[WSPROTO_ACCEPT_LEN + 1];
	struct wsproto_dec	 dec;
};

struct lgconn_set {
	const struct lgopt	*opt;
	struct lgconn_hooks	 hooks;
	int			 epfd;
	struct conn		*conns;
	size_t			 n;
	uint64_t		 rng;
	size_t			 pending;
	size_t			 ready;
	size_t			 open;
	uint64_t		 unsolicited;
	uint64_t		 close_timeouts;
	uint8_t			*frame;		/* encoded message, scratch */
	uint8_t			 rbuf[RBUF_SIZE];
};

static void	conn_fail(struct lgconn_set *, struct conn *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

int64_t
lgconn_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* xorshift64*: masks and nonces need to vary, not to be secret. */
static uint64_t
lgconn_random(struct lgconn_set *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

static size_t
conn_index(const struct lgconn_set *s, const struct conn *c)
{
	return (size_t)(c - s->conns);
}

/* Moves c to state st, keeping the per-class counters right. */
static void
conn_state(struct lgconn_set *s, struct conn *c, enum lgconn_state st)
{
	enum lgconn_state	old = c->state;

	if (old == LGCONN_CONNECTING || old == LGCONN_UPGRADING ||
	    old == LGCONN_WELCOME)
		s->pending--;
	else if (old == LGCONN_READY || old == LGCONN_WAITING)
		s->ready--;
	if (old != LGCONN_FREE)
		s->open--;
	if (st == LGCONN_CONNECTING || st == LGCONN_UPGRADING ||
	    st == LGCONN_WELCOME)
		s->pending++;
	else if (st == LGCONN_READY || st == LGCONN_WAITING)
		s->ready++;
	if (st != LGCONN_FREE)
		s->open++;
	c->state = (uint8_t)st;
}

/* Closes the socket and frees the slot; the send buffer is kept. */
static void
conn_close(struct lgconn_set *s, struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->hs);
	c->hs = NULL;
	c->out_off = c->out_len = 0;
	c->out_armed = 0;
	conn_state(s, c, LGCONN_FREE);
}

static void
conn_fail(struct lgconn_set *s, struct conn *c, const char *fmt, ...)
{
	char	why[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	conn_close(s, c);
	s->hooks.failed(s->hooks.arg, conn_index(s, c), why);
}

static void
conn_epoll(struct lgconn_set *s, struct conn *c, int op, int out)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u64 = conn_index(s, c);
	if (epoll_ctl(s->epfd, op, c->fd, &ev) < 0) {
		conn_fail(s, c, "epoll_ctl: %s", strerror(errno));
		return;
	}
	c->out_armed = (uint8_t)out;
}

/* Keeps what send() left over; allocates only the first time, or to grow. */
static int
conn_keep(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t	*mem;
	size_t	 need, cap;

	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + n;
	if (need > c->out_cap) {
		cap = need < 256 ? 256 : need;
		if ((mem = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = mem;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Sends or queues n bytes. */
static void
conn_send(struct lgconn_set *s, struct conn *c, const void *p, size_t n)
{
	ssize_t	w = 0;

	if (c->out_len == c->out_off) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_fail(s, c, "send: %s", strerror(errno));
			return;
		}
		if (w < 0)
			w = 0;
		if ((size_t)w == n)
			return;
	}
	if (conn_keep(c, (const uint8_t *)p + w, n - (size_t)w) < 0) {
		conn_fail(s, c, "out of memory for the send buffer");
		return;
	}
	if (!c->out_armed)
		conn_epoll(s, c, EPOLL_CTL_MOD, 1);
}

/* Writes what was queued; disarms EPOLLOUT once it is all gone. */
static void
conn_flush(struct lgconn_set *s, struct conn *c)
{
	ssize_t	w;

	while (c->out_off < c->out_len) {
		w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(s, c, "send: %s", strerror(errno));
			return;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	conn_epoll(s, c, EPOLL_CTL_MOD, 0);
}

/* Sends one masked frame, a fresh mask each time as RFC 6455 asks. */
static void
conn_frame(struct lgconn_set *s, struct conn *c, int opcode,
    const void *payload, size_t len)
{
	uint8_t	small[WSPROTO_HEADER_MAX + WSPROTO_CONTROL_MAX];
	uint8_t	*buf = len > WSPROTO_CONTROL_MAX ? s->frame : small;
	size_t	n;

	n = wsproto_frame(buf, opcode, payload, len,
	    (uint32_t)lgconn_random(s));
	conn_send(s, c, buf, n);
}

int
lgconn_start(struct lgconn_set *s, size_t i, int64_t now)
{
	const struct lgopt	*o = s->opt;
	struct conn		*c = &s->conns[i];
	uint64_t		 nonce[2];
	int			 one = 1, fd;

	fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	c->fd = fd;
	c->since = now;
	wsproto_dec_init(&c->dec);
	conn_state(s, c, LGCONN_CONNECTING);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	nonce[0] = lgconn_random(s);
	nonce[1] = lgconn_random(s);
	wsproto_key((const uint8_t *)nonce, c->key);
	wsproto_accept(c->key, c->accept);
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		conn_fail(s, c, "connect to %s: %s%s", o->hostport,
		    strerror(errno), errno == EADDRNOTAVAIL ?
		    " (no free local port: too many sockets in TIME_WAIT?)" :
		    "");
		return 0;
	}
	/* the request goes out on EPOLLOUT, once connect() completed */
	conn_epoll(s, c, EPOLL_CTL_ADD, 1);
	return 0;
}

/* connect() finished, well or not: send the upgrade request. */
static void
conn_connected(struct lgconn_set *s, struct conn *c)
{
	const struct lgopt	*o = s->opt;
	char			 req[2048], path[sizeof o->path + 32];
	size_t			 n = 0;
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		conn_fail(s, c, "connect to %s: %s", o->hostport,
		    strerror(err));
		return;
	}
	if (lgopt_path(o, conn_index(s, c), path, sizeof path) == 0)
		n = wsproto_request(req, sizeof req, o->hostport, path,
		    c->key);
	if ((c->hs = malloc(HS_CAP)) == NULL || n == 0) {
		conn_fail(s, c, "cannot build the upgrade request");
		return;
	}
	c->hs_len = 0;
	conn_state(s, c, LGCONN_UPGRADING);
	conn_epoll(s, c, EPOLL_CTL_MOD, 0);
	if (c->state == LGCONN_UPGRADING)
		conn_send(s, c, req, n);
}

static void
conn_event(struct lgconn_set *s, struct conn *c,
    const struct wsproto_event *ev, int64_t now)
{
	size_t	i = conn_index(s, c);

	switch (ev->opcode) {
	case WSPROTO_OP_PING:
		if (c->state != LGCONN_CLOSING)
			conn_frame(s, c, WSPROTO_OP_PONG, ev->data,
			    ev->data_len);
		return;
	case WSPROTO_OP_PONG:
		return;
	case WSPROTO_OP_CLOSE:
		/* when ours was answered, the server closes TCP next */
		if (c->state != LGCONN_CLOSING)
			conn_fail(s, c, "server closed the connection: "
			    "code %d '%.*s'", ev->close_code,
			    (int)ev->data_len, ev->data);
		return;
	}
	switch (c->state) {
	case LGCONN_WELCOME:
		conn_state(s, c, LGCONN_READY);
		s->hooks.welcomed(s->hooks.arg, i, c->since, now);
		break;
	case LGCONN_WAITING:
		conn_state(s, c, LGCONN_READY);
		s->hooks.replied(s->hooks.arg, i, ev, c->since, now);
		break;
	case LGCONN_CLOSING:
		break;	/* a reply that crossed our close frame */
	default:
		s->unsolicited++;
	}
}

/* Feeds server bytes to c's decoder; @return -1 if c was closed. */
static int
conn_frames(struct lgconn_set *s, struct conn *c, const uint8_t *p,
    size_t n, int64_t now)
{
	struct wsproto_event	ev;
	size_t			used;
	int			rc;

	while (n > 0 && c->fd >= 0) {
		rc = wsproto_dec_feed(&c->dec, p, n, &used, &ev);
		p += used;
		n -= used;
		if (rc < 0) {
			conn_fail(s, c, "%s", wsproto_strerror(rc));
			break;
		}
		if (rc == 0)
			break;
		conn_event(s, c, &ev, now);
	}
	return c->fd >= 0 ? 0 : -1;
}

/* Accumulates the 101 response; what follows it are frames already. */
static void
conn_upgrade(struct lgconn_set *s, struct conn *c, size_t n, int64_t now)
{
	size_t	 take = HS_CAP - c->hs_len;
	long	 r;
	char	*hs, *eol;

	if (take > n)
		take = n;
	memcpy(c->hs + c->hs_len, s->rbuf, take);
	c->hs_len += take;
	r = wsproto_response(c->hs, c->hs_len, HS_CAP, c->accept);
	if (r == WSPROTO_EINCOMPLETE)
		return;
	if (r < 0) {
		eol = memchr(c->hs, '\r', c->hs_len);
		conn_fail(s, c, "handshake with %s%s: %s (got '%.*s')",
		    s->opt->hostport, s->opt->path, wsproto_strerror((int)r),
		    eol != NULL ? (int)(eol - c->hs) : 0, c->hs);
		return;
	}
	conn_state(s, c, LGCONN_WELCOME);
	hs = c->hs;
	c->hs = NULL;
	if (conn_frames(s, c, (uint8_t *)hs + r, c->hs_len - (size_t)r,
	    now) == 0 && take < n)
		conn_frames(s, c, s->rbuf + take, n - take, now);
	free(hs);
}

static void
conn_read(struct lgconn_set *s, struct conn *c, int64_t now)
{
	ssize_t	n = recv(c->fd, s->rbuf, sizeof s->rbuf, 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0 && c->state == LGCONN_CLOSING) {
		conn_close(s, c);	/* the server closed after its close */
		return;
	}
	if (n < 0) {
		conn_fail(s, c, "recv: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		conn_fail(s, c, "server closed the TCP connection without a "
		    "close frame");
		return;
	}
	if (c->state == LGCONN_UPGRADING)
		conn_upgrade(s, c, (size_t)n, now);
	else
		conn_frames(s, c, s->rbuf, (size_t)n, now);
}

static void
conn_io(struct lgconn_set *s, struct conn *c, uint32_t events, int64_t now)
{
	if (c->state == LGCONN_FREE)
		return;	/* closed earlier in this batch */
	if (c->state == LGCONN_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(s, c);
		return;
	}
	if ((events & EPOLLOUT) && c->out_armed) {
		conn_flush(s, c);
		if (c->state == LGCONN_FREE)
			return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(s, c, now);
}

void
lgconn_message(struct lgconn_set *s, size_t i, int64_t now)
{
	struct conn	*c = &s->conns[i];

	conn_state(s, c, LGCONN_WAITING);
	c->since = now;
	conn_frame(s, c, WSPROTO_OP_TEXT, s->opt->message,
	    s->opt->message_len);
}

void
lgconn_bye(struct lgconn_set *s, size_t i, int64_t now)
{
	static const uint8_t	 code[2] = { CLOSE_NORMAL >> 8,
				    CLOSE_NORMAL & 0xff };
	struct conn		*c = &s->conns[i];

	conn_state(s, c, LGCONN_CLOSING);
	c->since = now;
	conn_frame(s, c, WSPROTO_OP_CLOSE, code, sizeof code);
}

void
lgconn_close(struct lgconn_set *s, size_t i)
{
	if (s->conns[i].state == LGCONN_CLOSING)
		s->close_timeouts++;
	if (s->conns[i].state != LGCONN_FREE)
		conn_close(s, &s->conns[i]);
}

enum lgconn_state
lgconn_state(const struct lgconn_set *s, size_t i)
{
	return s->conns[i].state;
}

size_t
lgconn_pending(const struct lgconn_set *s)
{
	return s->pending;
}

size_t
lgconn_ready(const struct lgconn_set *s)
{
	return s->ready;
}

size_t
lgconn_open(const struct lgconn_set *s)
{
	return s->open;
}

uint64_t
lgconn_unsolicited(const struct lgconn_set *s)
{
	return s->unsolicited;
}

uint64_t
lgconn_close_timeouts(const struct lgconn_set *s)
{
	return s->close_timeouts;
}

int
lgconn_watch(struct lgconn_set *s, int fd)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.u64 = WATCH_TAG;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

void
lgconn_unwatch(struct lgconn_set *s, int fd)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int
lgconn_poll(struct lgconn_set *s, int timeout_ms)
{
	struct epoll_event	evs[MAX_EVENTS];
	int			n, i;

	n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	/* a clock read per event: a batch takes time to work through */
	for (i = 0; i < n; i++) {
		if (evs[i].data.u64 == WATCH_TAG)
			s->hooks.input(s->hooks.arg);
		else
			conn_io(s, &s->conns[evs[i].data.u64], evs[i].events,
			    lgconn_now());
	}
	return 0;
}

void
lgconn_scan(struct lgconn_set *s, int64_t now, int64_t timeout_ns)
{
	struct conn	*c;
	size_t		 i;

	for (i = 0; i < s->n; i++) {
		c = &s->conns[i];
		if (c->state == LGCONN_FREE || c->state == LGCONN_READY ||
		    now - c->since <= timeout_ns)
			continue;
		if (c->state == LGCONN_CLOSING)
			lgconn_close(s, i);
		else if (c->state == LGCONN_WAITING)
			conn_fail(s, c, "no reply within %.3g s",
			    (double)timeout_ns / 1e9);
		else
			conn_fail(s, c, "no welcome within %.3g s of "
			    "connecting (state %d)", (double)timeout_ns / 1e9,
			    c->state);
	}
}

struct lgconn_set *
lgconn_create(const struct lgopt *o, size_t n,
    const struct lgconn_hooks *hooks)
{
	struct lgconn_set	*s = calloc(1, sizeof *s);
	size_t			 i;

	if (s == NULL)
		return NULL;
	s->opt = o;
	s->hooks = *hooks;
	s->n = n;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->conns = calloc(n, sizeof *s->conns);
	s->frame = malloc(WSPROTO_HEADER_MAX + o->message_len);
	if (s->epfd < 0 || s->conns == NULL || s->frame == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		s->conns[i].fd = -1;
	if (getrandom(&s->rng, sizeof s->rng, 0) != sizeof s->rng)
		s->rng = (uint64_t)lgconn_now() ^ (uint64_t)getpid() << 32;
	s->rng |= 1;	/* xorshift never leaves 0 */
	return s;
fail:
	lgconn_free(s);
	return NULL;
}

void
lgconn_free(struct lgconn_set *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; s->conns != NULL && i < s->n; i++) {
		if (s->conns[i].state != LGCONN_FREE)
			conn_close(s, &s->conns[i]);
		free(s->conns[i].out);
	}
	free(s->conns);
	free(s->frame);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}
