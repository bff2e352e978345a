/*
 * metrics: the gateway's counters, and their rendering for /metrics
 * (Prometheus text format 0.0.4) and /status (JSON). Counters are bumped
 * by the loop thread only; gauges (sockets, objects, queues, processes)
 * are read from the modules that own them when a page is rendered.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct metrics;

enum metrics_error {
	METRICS_ERR_HANDLER_FAILED,	/* crash, lost connection, protocol */
	METRICS_ERR_HANDLER_TIMEOUT,	/* --event-timeout */
	METRICS_ERR_BAD_RESPONSE,	/* unparsable CGI response or actions */
	METRICS_ERR_HANDLER_STATUS,	/* non-2xx */
	METRICS_ERR_REFUSED,		/* connect refused with 4xx */
	METRICS_ERR_MESSAGE_TOO_BIG,	/* --max-message, close 1009 */
	METRICS_ERR_SEND_QUEUE,		/* --send-queue, close 1008 */
	METRICS_ERR_SPAWN,		/* a handler could not be started */
	METRICS_ERR_PROTOCOL,		/* RFC 6455 broken, close 1002/1007 */
	METRICS_ERR_SEND_TIMEOUT,	/* --send-timeout, output stalled */
	METRICS_ERR_COUNT,
};

enum metrics_alarm {
	METRICS_ALARM_FIRED,
	METRICS_ALARM_RETRIED,
	METRICS_ALARM_FAILED,		/* retries exhausted */
	METRICS_ALARM_COUNT,
};

/* Gauges, filled by the gateway when a page is rendered. */
struct metrics_gauges {
	size_t		 sockets;
	size_t		 handshakes;	/* requests still arriving */
	size_t		 objects;
	size_t		 queued_events;
	int		 in_flight;
	unsigned int	 generation;	/* serving handler generation */
	int		 processes;	/* of that generation */
	int		 busy;		/* requests in flight, all generations */
	int		 draining;	/* old-generation processes still busy */
	const char	*durability;
	int64_t		 uptime_ms;
};

struct metrics	*metrics_create(void);
void		 metrics_free(struct metrics *m);
/* event: 0..4 in the order connect, message, close, error, alarm. */
void		 metrics_event(struct metrics *m, int event);
/* One request sent, carrying k events. */
void		 metrics_batch(struct metrics *m, size_t k);
/* Reading from an object's sockets paused (1) or resumed (0). */
void		 metrics_flow(struct metrics *m, int paused);
/* One answered request and how long the handler took. */
void		 metrics_latency(struct metrics *m, int64_t us);
void		 metrics_close(struct metrics *m, int code);
void		 metrics_error(struct metrics *m, enum metrics_error kind);
void		 metrics_alarm(struct metrics *m, enum metrics_alarm what);
/* Appends the Prometheus exposition to out. */
void		 metrics_prometheus(const struct metrics *m,
		    const struct metrics_gauges *g, struct buf *out);
/* Appends the /status JSON document to out. */
void		 metrics_status(const struct metrics *m,
		    const struct metrics_gauges *g, struct buf *out);

#endif
