/*
 * pool: the handler processes and the FastCGI client. In spawn mode each
 * process gets its own listening unix socket (fd 0) in the run dir and the
 * gateway keeps one keep-alive connection to it, adopted into the lws loop
 * as a raw socket, with exactly one request in flight. A process is
 * started only with a request in hand (the pool can go to zero: objects
 * hibernate), idle ones above the minimum are retired with SIGTERM, stuck
 * ones are killed, dead ones are reaped with waitpid(WNOHANG).
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct pool;
struct lws;
struct lws_vhost;

struct pool_config {
	char *const	*argv;		/* handler command, NULL-terminated */
	const char	*addr;		/* external mode: FastCGI server address */
	uid_t		 uid;		/* --user: run handlers as; -1: as we are */
	gid_t		 gid;
	const char	*run_dir;
	int		 min;
	int		 max;
	int		 idle_timeout_ms;
	int		 event_timeout_ms;
	int		 reload_timeout_ms;
	size_t		 max_response;
	int		 stderr_fails;	/* STDERR output fails the request */
};

/*
 * What a request came back with. On success, status is the FastCGI
 * app_status and body/len the STDOUT content (valid during the callback).
 * On failure, cause says why (crash, timeout, protocol error, too large).
 */
struct pool_result {
	int		 ok;
	const char	*cause;
	const uint8_t	*body;
	size_t		 len;
};

typedef void (*pool_done_fn)(void *req_arg, const struct pool_result *res,
    void *arg);
/* Outcome of pool_reload: ok, the new generation's number, why not. */
typedef void (*pool_reload_fn)(int ok, unsigned int gen, const char *cause,
    void *arg);

/* The lws protocol callback for the "torpor-fcgi" raw protocol. */
int		 pool_lws_callback(struct lws *wsi, int reason, void *user,
		    void *in, size_t len);

struct pool	*pool_create(const struct pool_config *cfg, pool_done_fn done,
		    void *done_arg);
/* Kills (SIGTERM) and reaps every process, frees the pool; accepts NULL. */
void		 pool_free(struct pool *p);
void		 pool_set_vhost(struct pool *p, struct lws_vhost *vh);
/* Starts the minimum number of processes. Returns 0 or -errno. */
int		 pool_start(struct pool *p);
/* 1 when a request submitted now would be sent (idle or startable process). */
int		 pool_can_take(const struct pool *p);
/*
 * Sends a whole encoded request (the pool takes the bytes from req and
 * leaves it empty). req_arg is passed back to done exactly once. Returns
 * 0, or -EAGAIN when no process can take it, -ECONNREFUSED when the
 * external FastCGI server cannot be reached (the request should fail,
 * not wait), or -errno when spawning failed (done is not called then).
 */
int		 pool_submit(struct pool *p, struct buf *req, void *req_arg);
/*
 * Starts a new generation from the handler path as it is on disk now.
 * Returns 0 when the candidate is started (the outcome comes later through
 * the reload callback), -EBUSY while another reload is in progress, or
 * -errno when it cannot be started at all (no callback then).
 */
int		 pool_reload(struct pool *p);
void		 pool_set_reload_cb(struct pool *p, pool_reload_fn fn, void *arg);
/* Periodic work: reap, retire idle, kill stuck, refill to the minimum. */
void		 pool_tick(struct pool *p, int64_t now_ms);
/* The serving generation, and old processes still finishing a request. */
unsigned int	 pool_generation(const struct pool *p);
int		 pool_draining(const struct pool *p);
/* Process counts for the log. */
int		 pool_count(const struct pool *p);
int		 pool_busy(const struct pool *p);

#endif
