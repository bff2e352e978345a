/*
 * syncer: one thread, three counters under a mutex. "started" and "done"
 * number the syncs; "wanted" is the highest ticket handed out. The thread
 * sleeps while wanted <= started, which is why an idle gateway does no
 * I/O at all.
 */
#include <pthread.h>
#include <stdlib.h>

#include <libwebsockets.h>

#include "log.h"
#include "syncer.h"
#include "xmalloc.h"

struct syncer {
	struct lws_context	*ctx;
	MDB_env			*env;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
	uint64_t		 wanted;
	uint64_t		 started;
	uint64_t		 done;
};

static void *
syncer_main(void *arg)
{
	struct syncer	*s = arg;
	uint64_t	 seq;
	int		 rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stop && s->wanted <= s->started)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop && s->wanted <= s->started)
			break;
		seq = ++s->started;
		pthread_mutex_unlock(&s->lock);
		rc = mdb_env_sync(s->env, 1);
		if (rc != 0)
			log_error("state store sync failed: %s", mdb_strerror(rc));
		pthread_mutex_lock(&s->lock);
		s->done = seq;
		lws_cancel_service(s->ctx);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct syncer *
syncer_start(struct lws_context *ctx, MDB_env *env, const char **cause)
{
	struct syncer	*s = xcalloc(1, sizeof *s);

	s->ctx = ctx;
	s->env = env;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, syncer_main, s) != 0) {
		*cause = "cannot create the sync thread";
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return s;
}

void
syncer_stop(struct syncer *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint64_t
syncer_ticket(struct syncer *s)
{
	uint64_t	ticket;

	pthread_mutex_lock(&s->lock);
	ticket = s->started + 1;
	if (s->wanted < ticket) {
		s->wanted = ticket;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return ticket;
}

uint64_t
syncer_done(struct syncer *s)
{
	uint64_t	done;

	pthread_mutex_lock(&s->lock);
	done = s->done;
	pthread_mutex_unlock(&s->lock);
	return done;
}
