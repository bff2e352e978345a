/*
 * pingpong - the reference torpor application: a C port of the Durable
 * Object it replaces (DESIGN.md, "The reference application").
 *
 * Every socket on /websocket belongs to one object. The object keeps no
 * storage of its own: each connection's state (id, connect time, last
 * ping) lives in its attachment, which the gateway holds while no handler
 * runs, so any handler process - or none at all, while the object
 * hibernates - can serve the next event. The object's alarm walks the
 * attachments and closes the sockets that went quiet.
 *
 * Clients must not be able to tell this from the JavaScript original, so
 * incoming text is checked against JSON.parse's strict grammar (cJSON
 * accepts more, e.g. trailing garbage; see jsonscan.c), binary frames are
 * decoded the way TextDecoder does, and echoed text is quoted the way
 * JSON.stringify does. Payloads are handled by length throughout: binary
 * frames may carry NULs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "jsonscan.h"
#include "torpor.h"

/* Timings in ms, read from the environment once at start. */
struct config {
	int64_t	heartbeat_ms;
	int64_t	timeout_ms;
	int64_t	alarm_ms;
};

/* Clients use the heartbeat as a JavaScript timer delay, which is 32-bit. */
#define SETTING_MAX	2147483647LL

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD in UTF-8 */
#define BOM		"\xef\xbb\xbf"

/* State of an alarm's walk over the object's connections. */
struct sweep {
	torpor_event		*ev;
	const struct config	*cfg;
	int64_t			 now;
	size_t			 open;
};

/* An unset variable takes its default; a set one must be a plain count. */
static int
setting_read(const char *name, int64_t def, int64_t *ms)
{
	const char	*v;
	char		*end;
	long long	 n;

	if ((v = getenv(name)) == NULL) {
		*ms = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < 1 ||
	    n > SETTING_MAX) {
		fprintf(stderr, "pingpong: %s=\"%s\": want a number of "
		    "milliseconds from 1 to %lld\n", name, v, SETTING_MAX);
		return -EINVAL;
	}
	*ms = n;
	return 0;
}

static int
config_load(struct config *cfg)
{
	if (setting_read("HEARTBEAT_INTERVAL_MS", 20000,
	    &cfg->heartbeat_ms) != 0 ||
	    setting_read("CONNECTION_TIMEOUT_MS", 60000,
	    &cfg->timeout_ms) != 0 ||
	    setting_read("ALARM_INTERVAL_MS", 60000, &cfg->alarm_ms) != 0)
		return -EINVAL;
	return 0;
}

static size_t
put(char *out, size_t n, const void *p, size_t len)
{
	if (out != NULL)
		memcpy(out + n, p, len);
	return n + len;
}

/*
 * Decodes bytes as UTF-8 the way TextDecoder does: each maximal invalid
 * subsequence becomes one U+FFFD. Writes to out when it is not NULL and
 * returns the decoded length either way, so a first call sizes the buffer.
 */
static size_t
utf8_decode(const unsigned char *in, size_t len, char *out)
{
	size_t		 i, n = 0, start = 0, need = 0, seen = 0;
	unsigned int	 lo = 0x80, hi = 0xbf, b;

	for (i = 0; i < len; i++) {
		b = in[i];
		if (need == 0) {
			start = i;
			seen = 0;
			if (b <= 0x7f)
				n = put(out, n, in + i, 1);
			else if (b >= 0xc2 && b <= 0xdf)
				need = 1;
			else if (b >= 0xe0 && b <= 0xef) {
				need = 2;
				lo = b == 0xe0 ? 0xa0 : 0x80;
				hi = b == 0xed ? 0x9f : 0xbf;
			} else if (b >= 0xf0 && b <= 0xf4) {
				need = 3;
				lo = b == 0xf0 ? 0x90 : 0x80;
				hi = b == 0xf4 ? 0x8f : 0xbf;
			} else
				n = put(out, n, REPLACEMENT, 3);
			continue;
		}
		if (b < lo || b > hi) {
			/* The broken prefix is replaced; b may start afresh. */
			need = 0;
			lo = 0x80;
			hi = 0xbf;
			n = put(out, n, REPLACEMENT, 3);
			i--;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (++seen == need) {
			n = put(out, n, in + start, need + 1);
			need = 0;
		}
	}
	if (need != 0)
		n = put(out, n, REPLACEMENT, 3);
	return n;
}

/*
 * The payload as text: a binary frame goes through TextDecoder's rules,
 * which drop a leading BOM. Text frames were checked by the gateway, and
 * decoding them again changes nothing. *text is NUL-terminated, to free.
 */
static int
payload_text(torpor_event *ev, char **text, size_t *len)
{
	const unsigned char	*p;
	size_t			 n;

	if ((p = torpor_payload(ev, &n)) == NULL)
		n = 0;
	if (torpor_is_binary(ev) && n >= 3 && memcmp(p, BOM, 3) == 0) {
		p += 3;
		n -= 3;
	}
	*len = utf8_decode(p, n, NULL);
	if ((*text = malloc(*len + 1)) == NULL)
		return -ENOMEM;
	utf8_decode(p, n, *text);
	(*text)[*len] = '\0';
	return 0;
}


/* Formats ms since the epoch like JavaScript's Date.prototype.toISOString. */
static void
iso_time(int64_t ms, char *buf, size_t size)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* A number that round-trips through a double, as attachments store it. */
static int
json_ms(const cJSON *item, int64_t *ms)
{
	if (!cJSON_IsNumber(item) || item->valuedouble < -9e15 ||
	    item->valuedouble > 9e15)
		return -1;
	*ms = (int64_t)item->valuedouble;
	return 0;
}

static int
reply_json(torpor_event *ev, cJSON *o)
{
	char	*s;
	int	 rc;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		return -ENOMEM;
	rc = torpor_reply(ev, s, strlen(s), 0);
	free(s);
	return rc;
}

static int
attachment_set(torpor_event *ev, const char *id, int64_t connected_at,
    int64_t last_ping)
{
	cJSON	*o;
	char	*s = NULL;
	int	 rc = -ENOMEM;

	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, "connectionId", id) == NULL ||
	    cJSON_AddNumberToObject(o, "connectedAt",
	    (double)connected_at) == NULL ||
	    cJSON_AddNumberToObject(o, "lastPing", (double)last_ping) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	rc = torpor_set_attachment(ev, NULL, s, strlen(s));
out:
	free(s);
	cJSON_Delete(o);
	return rc;
}

/*
 * Records activity: a new lastPing, the rest as the attachment had it
 * (the event's id and now stand in if it was lost).
 */
static int
attachment_touch(torpor_event *ev, const char *id, int64_t now)
{
	const cJSON	*item;
	cJSON		*old;
	const char	*att;
	size_t		 len;
	int64_t		 connected_at = now;
	int		 rc;

	att = torpor_attachment(ev, &len);
	old = cJSON_ParseWithLength(att, len);
	item = cJSON_GetObjectItemCaseSensitive(old, "connectionId");
	if (cJSON_IsString(item) && item->valuestring[0] != '\0')
		id = item->valuestring;
	json_ms(cJSON_GetObjectItemCaseSensitive(old, "connectedAt"),
	    &connected_at);
	rc = attachment_set(ev, id, connected_at, now);
	cJSON_Delete(old);
	return rc;
}

static int
on_connect(torpor_event *ev, void *user)
{
	const struct config	*cfg = user;
	const char		*id;
	int64_t			 now = torpor_now_ms();
	cJSON			*o;
	int			 rc;

	if ((id = torpor_connection_id(ev)) == NULL)
		return -EINVAL;
	if ((rc = attachment_set(ev, id, now, now)) != 0)
		return rc;
	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, "type", "welcome") == NULL ||
	    cJSON_AddStringToObject(o, "message",
	    "Connected to Hibernatable WebSocket Server") == NULL ||
	    cJSON_AddStringToObject(o, "connectionId", id) == NULL ||
	    cJSON_AddNumberToObject(o, "heartbeatInterval",
	    (double)cfg->heartbeat_ms) == NULL)
		rc = -ENOMEM;
	else
		rc = reply_json(ev, o);
	cJSON_Delete(o);
	if (rc == 0 && torpor_alarm(ev) < 0)
		rc = torpor_set_alarm(ev, now + cfg->alarm_ms);
	return rc;
}

/* Replies {"type":type,"timestamp":ts,"connectionId":id}. */
static int
reply_stamped(torpor_event *ev, const char *type, const char *ts,
    const char *id)
{
	cJSON	*o;
	int	 rc;

	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, "type", type) == NULL ||
	    cJSON_AddStringToObject(o, "timestamp", ts) == NULL ||
	    cJSON_AddStringToObject(o, "connectionId", id) == NULL)
		rc = -ENOMEM;
	else
		rc = reply_json(ev, o);
	cJSON_Delete(o);
	return rc;
}

/*
 * Echoes the request's non-empty string "message" or, failing that, the
 * whole text, like the original's `data.message || message`.
 */
static int
reply_echo(torpor_event *ev, const struct jsonscan_request *rq,
    const char *text, size_t len, const char *ts, const char *id)
{
	char	*decoded = NULL, *quoted = NULL;
	size_t	 n;
	cJSON	*o = NULL;
	int	 rc = -ENOMEM;

	if (rq->object && rq->message.raw != NULL) {
		if ((decoded = malloc(rq->message.len)) == NULL)
			goto out;
		if ((n = jsonscan_decode(&rq->message, decoded)) > 0) {
			text = decoded;
			len = n;
		}
	}
	if ((quoted = jsonscan_quote(text, len)) == NULL)
		goto out;
	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, "type", "echo") == NULL ||
	    cJSON_AddRawToObject(o, "message", quoted) == NULL ||
	    cJSON_AddStringToObject(o, "timestamp", ts) == NULL ||
	    cJSON_AddNumberToObject(o, "connections",
	    torpor_connection_count(ev)) == NULL ||
	    cJSON_AddStringToObject(o, "connectionId", id) == NULL)
		goto out;
	rc = reply_json(ev, o);
out:
	cJSON_Delete(o);
	free(quoted);
	free(decoded);
	return rc;
}

static int
on_message(torpor_event *ev, void *user)
{
	struct jsonscan_request	 rq;
	const char		*id;
	char			*text = NULL, ts[64];
	size_t			 len;
	int64_t			 now = torpor_now_ms();
	int			 rc, json;

	(void)user;
	if ((id = torpor_connection_id(ev)) == NULL)
		return -EINVAL;
	if ((rc = payload_text(ev, &text, &len)) != 0)
		return rc;
	if ((rc = attachment_touch(ev, id, now)) != 0)
		goto out;
	if ((json = jsonscan_parse(text, len, &rq)) == -ENOMEM) {
		rc = json;
		goto out;
	}
	iso_time(now, ts, sizeof ts);
	if (json == 0 && rq.object && jsonscan_is(&rq.type, "ping"))
		rc = reply_stamped(ev, "pong", ts, id);
	else if (json == 0 && rq.object && jsonscan_is(&rq.type, "heartbeat"))
		rc = reply_stamped(ev, "heartbeat_ack", ts, id);
	else {
		if (json != 0)
			rq.object = 0;
		rc = reply_echo(ev, &rq, text, len, ts, id);
	}
out:
	free(text);
	return rc;
}

/*
 * Closes one connection if it has been quiet too long. Without a usable
 * lastPing, the gateway's connect time stands in; without either, the
 * connection is kept rather than closed on a guess.
 */
static int
sweep_one(const struct torpor_connection *c, void *arg)
{
	struct sweep	*sw = arg;
	cJSON		*att;
	int64_t		 last = c->connected_at;

	att = cJSON_ParseWithLength(c->attachment, c->attachment_len);
	json_ms(cJSON_GetObjectItemCaseSensitive(att, "lastPing"), &last);
	cJSON_Delete(att);
	if (last <= 0 || last >= sw->now - sw->cfg->timeout_ms) {
		sw->open++;
		return 0;
	}
	return torpor_close(sw->ev, c->id, 1000, "Connection timeout");
}

static int
on_alarm(torpor_event *ev, void *user)
{
	struct sweep	sw;
	int		rc;

	sw.ev = ev;
	sw.cfg = user;
	sw.now = torpor_now_ms();
	sw.open = 0;
	if ((rc = torpor_connections(ev, sweep_one, &sw)) != 0)
		return rc < 0 ? rc : -EIO;
	if (sw.open > 0)
		return torpor_set_alarm(ev, sw.now + sw.cfg->alarm_ms);
	return torpor_clear_alarm(ev);
}

int
main(void)
{
	static const struct torpor_handlers handlers = {
		.on_connect = on_connect,
		.on_message = on_message,
		.on_alarm = on_alarm,
	};
	struct config	cfg;
	int		rc;

	if (config_load(&cfg) != 0)
		return 2;
	if ((rc = torpor_run(&handlers, &cfg)) < 0) {
		fprintf(stderr, "pingpong: %s\n", torpor_strerror(rc));
		return 1;
	}
	return 0;
}
