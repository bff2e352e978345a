/*
 * alarm: schedule as a uthash of object -> time plus a binary min-heap of
 * (time, object, generation); replaced or cancelled entries stay in the
 * heap and are skipped when their generation no longer matches, which
 * keeps alarm_set O(log n) without a decrease-key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>
#include <uthash.h>

#include "alarm.h"
#include "log.h"
#include "xmalloc.h"

struct alarm_entry {
	char		*object;
	int64_t		 at_ms;
	uint64_t	 gen;
	UT_hash_handle	 hh;
};

struct heap_item {
	int64_t		 at_ms;
	uint64_t	 gen;
	char		*object;
};

struct fired {
	char		*object;
	struct fired	*next;
};

struct alarm {
	struct lws_context	*ctx;
	MDB_env			*env;
	int			 sync_ms;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
	uint64_t		 next_gen;
	struct alarm_entry	*by_object;
	struct heap_item	*heap;
	size_t			 nheap;
	size_t			 capheap;
	struct fired		*fired_head;
	struct fired		*fired_tail;
};

int64_t
alarm_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
heap_swap(struct heap_item *h, size_t i, size_t j)
{
	struct heap_item	t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void
heap_push(struct alarm *a, int64_t at_ms, uint64_t gen, const char *object)
{
	size_t	i, parent;

	if (a->nheap == a->capheap) {
		a->capheap = a->capheap ? a->capheap * 2 : 64;
		a->heap = xrealloc(a->heap, a->capheap * sizeof *a->heap);
	}
	i = a->nheap++;
	a->heap[i].at_ms = at_ms;
	a->heap[i].gen = gen;
	a->heap[i].object = xstrdup(object);
	while (i > 0) {
		parent = (i - 1) / 2;
		if (a->heap[parent].at_ms <= a->heap[i].at_ms)
			break;
		heap_swap(a->heap, i, parent);
		i = parent;
	}
}

static void
heap_pop(struct alarm *a)
{
	size_t	i = 0, l, r, m;

	free(a->heap[0].object);
	a->heap[0] = a->heap[--a->nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < a->nheap && a->heap[l].at_ms < a->heap[m].at_ms)
			m = l;
		if (r < a->nheap && a->heap[r].at_ms < a->heap[m].at_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(a->heap, i, m);
		i = m;
	}
}

/* Drops heap tops whose entry was replaced or cancelled; lock held. */
static struct alarm_entry *
alarm_top(struct alarm *a)
{
	struct alarm_entry	*e;

	while (a->nheap > 0) {
		HASH_FIND_STR(a->by_object, a->heap[0].object, e);
		if (e != NULL && e->gen == a->heap[0].gen)
			return e;
		heap_pop(a);
	}
	return NULL;
}

static void
alarm_fire(struct alarm *a, struct alarm_entry *e)
{
	struct fired	*f = xcalloc(1, sizeof *f);

	f->object = e->object;	/* ownership moves to the fired list */
	HASH_DEL(a->by_object, e);
	free(e);
	heap_pop(a);
	if (a->fired_tail != NULL)
		a->fired_tail->next = f;
	else
		a->fired_head = f;
	a->fired_tail = f;
}

static void *
alarm_main(void *arg)
{
	struct alarm		*a = arg;
	struct alarm_entry	*e;
	struct timespec		 ts;
	int64_t			 now, wake, next_sync;
	int			 fired;

	next_sync = alarm_now_ms() + a->sync_ms;
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		now = alarm_now_ms();
		fired = 0;
		while ((e = alarm_top(a)) != NULL && e->at_ms <= now) {
			alarm_fire(a, e);
			fired = 1;
		}
		if (fired)
			lws_cancel_service(a->ctx);
		if (a->env != NULL && now >= next_sync) {
			/* fsync outside the lock: alarm_set must not wait on the disk */
			pthread_mutex_unlock(&a->lock);
			mdb_env_sync(a->env, 1);
			pthread_mutex_lock(&a->lock);
			next_sync = alarm_now_ms() + a->sync_ms;
			continue;
		}
		wake = next_sync;
		e = alarm_top(a);
		if (e != NULL && e->at_ms < wake)
			wake = e->at_ms;
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000;
		pthread_cond_timedwait(&a->cond, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

struct alarm *
alarm_start(struct lws_context *ctx, MDB_env *env, int sync_ms,
    const char **cause)
{
	struct alarm		*a = xcalloc(1, sizeof *a);
	pthread_condattr_t	 attr;

	a->ctx = ctx;
	a->env = env;
	a->sync_ms = sync_ms > 0 ? sync_ms : 1000;
	pthread_mutex_init(&a->lock, NULL);
	/* CLOCK_REALTIME on purpose: alarms are wall-clock times. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_REALTIME);
	pthread_cond_init(&a->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&a->thread, NULL, alarm_main, a) != 0) {
		*cause = "cannot create the alarm thread";
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return NULL;
	}
	return a;
}

void
alarm_stop(struct alarm *a)
{
	struct alarm_entry	*e, *tmp;
	struct fired		*f;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	if (a->env != NULL)
		mdb_env_sync(a->env, 1);
	HASH_ITER(hh, a->by_object, e, tmp) {
		HASH_DEL(a->by_object, e);
		free(e->object);
		free(e);
	}
	while (a->nheap > 0)
		heap_pop(a);
	free(a->heap);
	while ((f = a->fired_head) != NULL) {
		a->fired_head = f->next;
		free(f->object);
		free(f);
	}
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void
alarm_set(struct alarm *a, const char *object, int64_t at_ms)
{
	struct alarm_entry	*e;

	pthread_mutex_lock(&a->lock);
	HASH_FIND_STR(a->by_object, object, e);
	if (at_ms < 0) {
		if (e != NULL) {
			HASH_DEL(a->by_object, e);
			free(e->object);
			free(e);
		}
		goto out;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->object = xstrdup(object);
		HASH_ADD_KEYPTR(hh, a->by_object, e->object,
		    strlen(e->object), e);
	}
	e->at_ms = at_ms;
	e->gen = ++a->next_gen;
	heap_push(a, at_ms, e->gen, object);
	pthread_cond_signal(&a->cond);
out:
	pthread_mutex_unlock(&a->lock);
}

int
alarm_drain(struct alarm *a, void (*fn)(const char *, void *), void *arg)
{
	struct fired	*list, *f;
	int		 n = 0;

	pthread_mutex_lock(&a->lock);
	list = a->fired_head;
	a->fired_head = a->fired_tail = NULL;
	pthread_mutex_unlock(&a->lock);
	while ((f = list) != NULL) {
		list = f->next;
		fn(f->object, arg);
		free(f->object);
		free(f);
		n++;
	}
	return n;
}
