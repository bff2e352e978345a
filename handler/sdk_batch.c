/*
 * sdk_batch: the changes earlier events of a batch made to connections
 * and to the alarm, kept as copies (an event's actions are freed once
 * its element of the response is encoded) in an array of connections
 * sorted by id. A batch has at most SDK_EVENT_BATCH_MAX events and most
 * events change their own connection only, so the array stays small.
 *
 * The response is a JSON array built as the events run: each element is
 * appended as soon as its event has returned, so an event's actions are
 * freed before the next one runs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sdk_actions.h"
#include "sdk_batch.h"
#include "sdk_event.h"

/* Connections kept in the array between requests. */
#define SDK_BATCH_KEEP		256
/* Response buffer capacity kept between requests. */
#define SDK_BATCH_OUT_KEEP	(256 * 1024)
#define SDK_BATCH_HEAD	"Status: 200 OK\r\n" SDK_EVENT_BATCH_HEADER \
	"Content-Type: application/vnd.torpor-batch+json\r\n\r\n["

/* One connection an earlier event changed; NULL members are unchanged. */
struct batch_conn {
	char		*id;
	char		*attachment;	/* NUL-terminated */
	char		*tagmem;	/* tagv, then the joined list, then
					 * the list split at its commas */
	const char	**tagv;
	const char	*tags;		/* joined with ',' */
	size_t		 ntags;
};

struct sdk_batch {
	struct batch_conn	*v;		/* sorted by id */
	size_t			 n;
	size_t			 cap;
	int			 alarm_set;
	int64_t			 alarm;		/* -1: none */
	int64_t			 served;	/* the current alarm event's
						 * TORPOR_ALARM_i */

	char			*out;		/* the response */
	size_t			 out_len;
	size_t			 out_cap;
	size_t			 nout;		/* elements in it */
};

int
sdk_batch_create(struct sdk_batch **bp)
{
	struct sdk_batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	b->alarm = -1;
	*bp = b;
	return 0;
}

void
sdk_batch_reset(struct sdk_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->v[i].id);
		free(b->v[i].attachment);
		free(b->v[i].tagmem);
	}
	b->n = 0;
	b->alarm_set = 0;
	b->alarm = -1;
	if (b->cap > SDK_BATCH_KEEP) {
		free(b->v);
		b->v = NULL;
		b->cap = 0;
	}
	b->out_len = 0;
	b->nout = 0;
	if (b->out_cap > SDK_BATCH_OUT_KEEP) {
		free(b->out);
		b->out = NULL;
		b->out_cap = 0;
	}
}

void
sdk_batch_free(struct sdk_batch *b)
{
	if (b == NULL)
		return;
	sdk_batch_reset(b);
	free(b->v);
	free(b->out);
	free(b);
}

/* Index of the first connection whose id is >= id; *found when equal. */
static size_t
batch_find(const struct sdk_batch *b, const char *id, int *found)
{
	size_t lo = 0, hi = b->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(b->v[mid].id, id)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct batch_conn *
batch_lookup(const struct sdk_batch *b, const char *id)
{
	size_t i;
	int found;

	if (id == NULL || b->n == 0)
		return NULL;
	i = batch_find(b, id, &found);
	return found ? &b->v[i] : NULL;
}

/* The entry of connection id, added when missing. */
static int
batch_conn(struct sdk_batch *b, const char *id, struct batch_conn **op)
{
	struct batch_conn *v;
	size_t i, ncap;
	char *copy;
	int found;

	i = batch_find(b, id, &found);
	if (!found) {
		if (b->n == b->cap) {
			ncap = b->cap > 0 ? b->cap * 2 : 8;
			if ((v = realloc(b->v, ncap * sizeof(*v))) == NULL)
				return -ENOMEM;
			b->v = v;
			b->cap = ncap;
		}
		if ((copy = strdup(id)) == NULL)
			return -ENOMEM;
		memmove(b->v + i + 1, b->v + i, (b->n - i) * sizeof(*b->v));
		memset(&b->v[i], 0, sizeof(b->v[i]));
		b->v[i].id = copy;
		b->n++;
	}
	*op = &b->v[i];
	return 0;
}

static int
batch_set_attachment(struct batch_conn *o, const char *value, size_t len)
{
	char *copy;

	if (value == NULL)
		len = 0;
	if ((copy = malloc(len + 1)) == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, value, len);
	copy[len] = '\0';
	free(o->attachment);
	o->attachment = copy;
	return 0;
}

/* Keeps the tags both as an array (the registry) and joined (events). */
static int
batch_set_tags(struct batch_conn *o, const char *const *tags, size_t ntags)
{
	size_t i, len = 0, off;
	char *mem, *joined, *split;

	for (i = 0; i < ntags; i++)
		len += strlen(tags[i]) + 1;
	if (len == 0)
		len = 1;
	if ((mem = malloc(ntags * sizeof(char *) + 2 * len)) == NULL)
		return -ENOMEM;
	joined = mem + ntags * sizeof(char *);
	split = joined + len;
	*joined = '\0';
	for (i = 0, off = 0; i < ntags; i++) {
		if (i > 0)
			joined[off++] = ',';
		strcpy(joined + off, tags[i]);
		strcpy(split + off, tags[i]);
		((const char **)(void *)mem)[i] = split + off;
		off += strlen(tags[i]);
	}
	free(o->tagmem);
	o->tagmem = mem;
	o->tagv = (const char **)(void *)mem;
	o->tags = joined;
	o->ntags = ntags;
	return 0;
}

int
sdk_batch_view(struct sdk_batch *b, torpor_event *ev)
{
	const struct batch_conn *o;
	int rc = 0;

	b->served = torpor_alarm(ev);
	if ((o = batch_lookup(b, torpor_connection_id(ev))) != NULL) {
		if (o->attachment != NULL)
			sdk_event_set_attachment(ev, o->attachment);
		if (o->tagmem != NULL)
			rc = sdk_event_set_tags(ev, o->tags);
	}
	if (b->alarm_set)
		sdk_event_set_alarm(ev, b->alarm);
	return rc;
}

int
sdk_batch_apply(struct sdk_batch *b, const torpor_event *ev,
    const struct sdk_actions *a)
{
	const char *self = torpor_connection_id(ev), *id;
	struct batch_conn *o;
	struct sdk_change c;
	size_t pos = 0;
	int rc, alarm_changed = 0;

	while (sdk_actions_next_change(a, &pos, &c)) {
		if (c.type == SDK_CHANGE_ALARM) {
			b->alarm_set = 1;
			b->alarm = c.at < 0 ? -1 : c.at;
			alarm_changed = 1;
			continue;
		}
		if ((id = c.connection != NULL ? c.connection : self) == NULL)
			continue;
		if ((rc = batch_conn(b, id, &o)) != 0)
			return rc;
		if (c.type == SDK_CHANGE_ATTACHMENT)
			rc = batch_set_attachment(o, c.value, c.len);
		else
			rc = batch_set_tags(o, c.tags, c.ntags);
		if (rc != 0)
			return rc;
	}
	/*
	 * The gateway clears a served alarm the response left alone, unless
	 * an earlier event of the batch has moved it meanwhile.
	 */
	if (torpor_event_type(ev) == TORPOR_EVENT_ALARM && !alarm_changed &&
	    (!b->alarm_set || b->alarm == b->served)) {
		b->alarm_set = 1;
		b->alarm = -1;
	}
	return 0;
}

void
sdk_batch_patch(const struct sdk_batch *b, struct torpor_connection *c)
{
	const struct batch_conn *o;

	if ((o = batch_lookup(b, c->id)) == NULL)
		return;
	if (o->attachment != NULL) {
		c->attachment = o->attachment;
		c->attachment_len = strlen(o->attachment);
	}
	if (o->tagmem != NULL) {
		c->tags = o->tagv;
		c->ntags = o->ntags;
	}
}

/* --- the response ----------------------------------------------------- */

static int
batch_out(struct sdk_batch *b, const char *s)
{
	size_t len = strlen(s), cap;
	char *p;

	if (len > SIZE_MAX / 4 - b->out_len)
		return -ENOMEM;
	if (b->out_len + len > b->out_cap) {
		cap = b->out_cap > 0 ? b->out_cap : 4096;
		while (cap < b->out_len + len)
			cap *= 2;
		if ((p = realloc(b->out, cap)) == NULL)
			return -ENOMEM;
		b->out = p;
		b->out_cap = cap;
	}
	memcpy(b->out + b->out_len, s, len);
	b->out_len += len;
	return 0;
}

/* Appends one element: head, JSON text, "}", after a comma if need be. */
static int
batch_element(struct sdk_batch *b, const char *head, const char *json)
{
	if ((b->nout++ > 0 && batch_out(b, ",") != 0) ||
	    batch_out(b, head) != 0 || batch_out(b, json) != 0 ||
	    batch_out(b, "}") != 0)
		return -ENOMEM;
	return 0;
}

int
sdk_batch_begin(struct sdk_batch *b)
{
	b->out_len = 0;
	b->nout = 0;
	return batch_out(b, SDK_BATCH_HEAD);
}

int
sdk_batch_add(struct sdk_batch *b, const struct sdk_actions *a)
{
	char *text = NULL;
	int rc;

	if ((rc = sdk_actions_json(a, &text)) == 0)
		rc = batch_element(b, "{\"status\":200,\"actions\":", text);
	cJSON_free(text);
	return rc;
}

int
sdk_batch_add_error(struct sdk_batch *b, const char *what,
    const char *detail)
{
	cJSON *s = NULL;
	char *msg = NULL, *text = NULL;
	size_t len;
	int rc = -ENOMEM;

	len = strlen(what) + (detail != NULL ? strlen(detail) + 2 : 0) + 1;
	if ((msg = malloc(len)) == NULL)
		goto out;
	snprintf(msg, len, "%s%s%s", what, detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
	/* cJSON escapes the text, which may quote whatever failed. */
	if ((s = cJSON_CreateString(msg)) == NULL ||
	    (text = cJSON_PrintUnformatted(s)) == NULL)
		goto out;
	rc = batch_element(b, "{\"status\":500,\"error\":", text);
out:
	cJSON_free(text);
	cJSON_Delete(s);
	free(msg);
	return rc;
}

int
sdk_batch_end(struct sdk_batch *b, const char **data, size_t *len)
{
	if (batch_out(b, "]") != 0)
		return -ENOMEM;
	*data = b->out;
	*len = b->out_len;
	return 0;
}
