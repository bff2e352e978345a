/*
 * metrics: fixed tables, no allocation per event. Close codes are counted
 * for the codes a WebSocket server meets (1000-1015) plus one bucket for
 * application codes; the latency histogram has Prometheus' cumulative
 * buckets in milliseconds.
 */
#include <config.h>	/* autoconf's: PACKAGE_VERSION */

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "metrics.h"
#include "xmalloc.h"

#define METRICS_CLOSE_FIRST	1000
#define METRICS_CLOSE_LAST	1015
#define METRICS_NCLOSE		(METRICS_CLOSE_LAST - METRICS_CLOSE_FIRST + 2)

static const char *const event_names[] = {
	"connect", "message", "close", "error", "alarm",
};
static const char *const error_names[METRICS_ERR_COUNT] = {
	"handler_failed", "handler_timeout", "bad_response", "handler_status",
	"refused", "message_too_big", "send_queue_full", "spawn_failed",
	"protocol_error", "send_timeout",
};
static const char *const alarm_names[METRICS_ALARM_COUNT] = {
	"fired", "retried", "failed",
};
/* Upper bounds in ms of the latency buckets (+Inf is implicit). */
static const double latency_le[] = {
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000,
};
#define METRICS_NLAT	(sizeof latency_le / sizeof latency_le[0])
#define METRICS_NEVENT	(sizeof event_names / sizeof event_names[0])

struct metrics {
	uint64_t	events[METRICS_NEVENT];
	uint64_t	closes[METRICS_NCLOSE];	/* last: any other code */
	uint64_t	errors[METRICS_ERR_COUNT];
	uint64_t	alarms[METRICS_ALARM_COUNT];
	uint64_t	lat_buckets[METRICS_NLAT];
	uint64_t	lat_count;
	uint64_t	requests;
	uint64_t	batched_events;	/* events sent in requests of 2 or more */
	uint64_t	flow[2];	/* resumes, pauses */
	double		lat_sum_s;
};

struct metrics *
metrics_create(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

void
metrics_event(struct metrics *m, int event)
{
	if (event >= 0 && (size_t)event < METRICS_NEVENT)
		m->events[event]++;
}

void
metrics_batch(struct metrics *m, size_t k)
{
	m->requests++;
	if (k > 1)
		m->batched_events += k;
}

void
metrics_flow(struct metrics *m, int paused)
{
	m->flow[paused != 0]++;
}

void
metrics_latency(struct metrics *m, int64_t us)
{
	double	ms = (double)us / 1000.0;
	size_t	i;

	for (i = 0; i < METRICS_NLAT; i++)
		if (ms <= latency_le[i])
			m->lat_buckets[i]++;
	m->lat_count++;
	m->lat_sum_s += ms / 1000.0;
}

void
metrics_close(struct metrics *m, int code)
{
	if (code >= METRICS_CLOSE_FIRST && code <= METRICS_CLOSE_LAST)
		m->closes[code - METRICS_CLOSE_FIRST]++;
	else
		m->closes[METRICS_NCLOSE - 1]++;
}

void
metrics_error(struct metrics *m, enum metrics_error kind)
{
	if (kind < METRICS_ERR_COUNT)
		m->errors[kind]++;
}

void
metrics_alarm(struct metrics *m, enum metrics_alarm what)
{
	if (what < METRICS_ALARM_COUNT)
		m->alarms[what]++;
}

static void
metrics_help(struct buf *out, const char *name, const char *type,
    const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_prometheus(const struct metrics *m, const struct metrics_gauges *g,
    struct buf *out)
{
	size_t	i;

	metrics_help(out, "torpor_connections", "gauge", "Open WebSockets.");
	buf_printf(out, "torpor_connections %zu\n", g->sockets);
	metrics_help(out, "torpor_handshakes", "gauge",
	    "Connections still sending their request (--max-handshakes).");
	buf_printf(out, "torpor_handshakes %zu\n", g->handshakes);
	metrics_help(out, "torpor_objects", "gauge", "Objects in memory.");
	buf_printf(out, "torpor_objects %zu\n", g->objects);
	metrics_help(out, "torpor_queued_events", "gauge",
	    "Events waiting in object queues.");
	buf_printf(out, "torpor_queued_events %zu\n", g->queued_events);
	metrics_help(out, "torpor_requests_in_flight", "gauge",
	    "Requests sent to handlers and not answered yet.");
	buf_printf(out, "torpor_requests_in_flight %d\n", g->in_flight);
	metrics_help(out, "torpor_handler_processes", "gauge",
	    "Handler processes by generation (state=serving|draining).");
	buf_printf(out, "torpor_handler_processes{generation=\"%u\","
	    "state=\"serving\"} %d\n", g->generation, g->processes);
	buf_printf(out, "torpor_handler_processes{state=\"draining\"} %d\n",
	    g->draining);
	metrics_help(out, "torpor_events_total", "counter",
	    "Events sent to handlers, by type.");
	for (i = 0; i < METRICS_NEVENT; i++)
		buf_printf(out, "torpor_events_total{type=\"%s\"} %llu\n",
		    event_names[i], (unsigned long long)m->events[i]);
	metrics_help(out, "torpor_requests_total", "counter",
	    "FastCGI requests sent to handlers.");
	buf_printf(out, "torpor_requests_total %llu\n",
	    (unsigned long long)m->requests);
	metrics_help(out, "torpor_batched_events_total", "counter",
	    "Events sent in requests that carried several (batches).");
	buf_printf(out, "torpor_batched_events_total %llu\n",
	    (unsigned long long)m->batched_events);
	metrics_help(out, "torpor_flow_pauses_total", "counter",
	    "Times reading from an object's sockets paused (queue full).");
	buf_printf(out, "torpor_flow_pauses_total %llu\n",
	    (unsigned long long)m->flow[1]);
	metrics_help(out, "torpor_flow_resumes_total", "counter",
	    "Times reading from an object's sockets resumed.");
	buf_printf(out, "torpor_flow_resumes_total %llu\n",
	    (unsigned long long)m->flow[0]);
	metrics_help(out, "torpor_handler_latency_seconds", "histogram",
	    "Time from sending a request to its answer.");
	for (i = 0; i < METRICS_NLAT; i++)
		buf_printf(out, "torpor_handler_latency_seconds_bucket"
		    "{le=\"%g\"} %llu\n", latency_le[i] / 1000.0,
		    (unsigned long long)m->lat_buckets[i]);
	buf_printf(out, "torpor_handler_latency_seconds_bucket{le=\"+Inf\"} "
	    "%llu\n", (unsigned long long)m->lat_count);
	buf_printf(out, "torpor_handler_latency_seconds_sum %.6f\n",
	    m->lat_sum_s);
	buf_printf(out, "torpor_handler_latency_seconds_count %llu\n",
	    (unsigned long long)m->lat_count);
	metrics_help(out, "torpor_alarms_total", "counter",
	    "Alarms fired, retried after a failure, and given up.");
	for (i = 0; i < METRICS_ALARM_COUNT; i++)
		buf_printf(out, "torpor_alarms_total{result=\"%s\"} %llu\n",
		    alarm_names[i], (unsigned long long)m->alarms[i]);
	metrics_help(out, "torpor_closes_total", "counter",
	    "Closed WebSockets by close code.");
	for (i = 0; i < METRICS_NCLOSE; i++) {
		if (m->closes[i] == 0)
			continue;
		if (i == METRICS_NCLOSE - 1)
			buf_printf(out, "torpor_closes_total{code=\"other\"} "
			    "%llu\n", (unsigned long long)m->closes[i]);
		else
			buf_printf(out, "torpor_closes_total{code=\"%zu\"} "
			    "%llu\n", METRICS_CLOSE_FIRST + i,
			    (unsigned long long)m->closes[i]);
	}
	metrics_help(out, "torpor_errors_total", "counter",
	    "Failures by kind.");
	for (i = 0; i < METRICS_ERR_COUNT; i++)
		buf_printf(out, "torpor_errors_total{kind=\"%s\"} %llu\n",
		    error_names[i], (unsigned long long)m->errors[i]);
}

static void
metrics_json_counts(cJSON *parent, const char *key, const char *const *names,
    const uint64_t *values, size_t n)
{
	cJSON	*o = cJSON_AddObjectToObject(parent, key);
	size_t	 i;

	for (i = 0; i < n; i++)
		cJSON_AddNumberToObject(o, names[i], (double)values[i]);
}

void
metrics_status(const struct metrics *m, const struct metrics_gauges *g,
    struct buf *out)
{
	cJSON	*root = cJSON_CreateObject(), *h;
	char	*text;

	cJSON_AddStringToObject(root, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(root, "uptimeSeconds",
	    (double)g->uptime_ms / 1000.0);
	cJSON_AddNumberToObject(root, "connections", (double)g->sockets);
	cJSON_AddNumberToObject(root, "handshakes", (double)g->handshakes);
	cJSON_AddNumberToObject(root, "objects", (double)g->objects);
	cJSON_AddNumberToObject(root, "queuedEvents", (double)g->queued_events);
	cJSON_AddNumberToObject(root, "requestsInFlight", g->in_flight);
	cJSON_AddStringToObject(root, "durability", g->durability);
	h = cJSON_AddObjectToObject(root, "handlers");
	cJSON_AddNumberToObject(h, "generation", g->generation);
	cJSON_AddNumberToObject(h, "processes", g->processes);
	cJSON_AddNumberToObject(h, "draining", g->draining);
	metrics_json_counts(root, "events", event_names, m->events,
	    METRICS_NEVENT);
	metrics_json_counts(root, "alarms", alarm_names, m->alarms,
	    METRICS_ALARM_COUNT);
	metrics_json_counts(root, "errors", error_names, m->errors,
	    METRICS_ERR_COUNT);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text == NULL)
		return;
	buf_append_str(out, text);
	buf_append_byte(out, '\n');
	cJSON_free(text);
}
