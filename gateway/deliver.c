/*
 * deliver: the held queue is a FIFO of whole answers; a later answer is
 * never released before an earlier one, which keeps each connection's
 * frames in order whatever the sync timing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "deliver.h"
#include "object.h"
#include "registry.h"
#include "response.h"
#include "wsconn.h"
#include "syncer.h"
#include "xmalloc.h"

/* An answer's output waiting for its sync. */
struct held {
	uint64_t	 ticket;
	struct response	*r;		/* NULL: close sender with 1011 */
	struct conn	*sender;	/* referenced, may be NULL */
	struct object	*obj;		/* pinned */
	struct held	*next;
};

struct deliver {
	struct registry	*reg;
	struct alarm	*alarm;
	struct syncer	*syncer;
	struct held	*head;
	struct held	*tail;
};

struct deliver *
deliver_create(struct registry *reg, struct alarm *alarm,
    struct syncer *syncer)
{
	struct deliver	*d = xcalloc(1, sizeof *d);

	d->reg = reg;
	d->alarm = alarm;
	d->syncer = syncer;
	return d;
}

static void
held_free(struct held *h)
{
	response_free(h->r);
	if (h->sender != NULL)
		conn_unref(h->sender);
	object_unpin(h->obj);
	free(h);
}

void
deliver_free(struct deliver *d)
{
	struct held	*h;

	if (d == NULL)
		return;
	while ((h = d->head) != NULL) {
		d->head = h->next;
		held_free(h);
	}
	free(d);
}

static struct conn *
deliver_target(struct deliver *d, struct conn *sender, const struct action *a)
{
	if (a->target == TARGET_CONNECTION)
		return registry_find(d->reg, a->target_name);
	return sender != NULL && conn_is_open(sender) ? sender : NULL;
}

static void
deliver_send(struct deliver *d, struct conn *sender, struct object *obj,
    const struct action *a)
{
	struct conn	*c, *next;

	if (a->target == TARGET_TAG || a->target == TARGET_OBJECT) {
		for (c = conn_first_of(obj); c != NULL; c = next) {
			next = conn_next_of(c);
			if (a->except != NULL && strcmp(conn_id(c), a->except) == 0)
				continue;
			/* not until its connect was answered: no frame before
			 * the welcome, none for a refused one */
			if (!conn_accepted(c))
				continue;
			if (a->target == TARGET_TAG &&
			    !conn_has_tag(c, a->target_name))
				continue;
			wsconn_send(c, a->data, a->len, a->binary);
		}
		return;
	}
	c = deliver_target(d, sender, a);
	if (c != NULL)
		wsconn_send(c, a->data, a->len, a->binary);
}

int
deliver_apply(struct deliver *d, struct conn *sender, struct object *o,
    const struct response *r, int which)
{
	struct conn	*c;
	int		 alarm_touched = 0;
	size_t		 i;

	for (i = 0; i < r->nactions; i++) {
		const struct action	*a = &r->actions[i];
		int			 out = a->type == ACTION_SEND ||
					    a->type == ACTION_CLOSE;

		if (!(which & (out ? DELIVER_OUTPUT : DELIVER_STATE)))
			continue;
		switch (a->type) {
		case ACTION_SEND:
			deliver_send(d, sender, o, a);
			break;
		case ACTION_CLOSE:
			if ((c = deliver_target(d, sender, a)) != NULL)
				wsconn_close(c, a->close_code,
				    a->reason != NULL ? a->reason : "");
			break;
		case ACTION_ATTACHMENT:
			if ((c = deliver_target(d, sender, a)) != NULL)
				conn_set_attachment(c, a->data != NULL ?
				    a->data : "", a->data != NULL ? a->len : 0);
			break;
		case ACTION_TAGS:
			if ((c = deliver_target(d, sender, a)) != NULL)
				conn_set_tags(c, a->tags, a->ntags);
			break;
		case ACTION_ALARM:
			object_set_alarm(o, a->alarm_ms);
			object_set_alarm_retry(o, 0);
			alarm_set(d->alarm, object_name(o), a->alarm_ms);
			alarm_touched = 1;
			break;
		}
	}
	return alarm_touched;
}

static void
deliver_now(struct deliver *d, struct conn *sender, struct object *o,
    const struct response *r)
{
	if (r != NULL)
		deliver_apply(d, sender, o, r, DELIVER_OUTPUT);
	else if (sender != NULL && conn_is_open(sender))
		wsconn_close(sender, 1011, "handler error");
}

void
deliver_output(struct deliver *d, struct conn *sender, struct object *o,
    struct response *r)
{
	struct held	*h;

	if (d->syncer == NULL) {
		deliver_now(d, sender, o, r);
		response_free(r);
		return;
	}
	h = xcalloc(1, sizeof *h);
	h->ticket = syncer_ticket(d->syncer);
	h->r = r;
	h->sender = sender;
	if (sender != NULL)
		conn_ref(sender);
	h->obj = o;
	object_pin(o);
	if (d->tail != NULL)
		d->tail->next = h;
	else
		d->head = h;
	d->tail = h;
}

int
deliver_answer(struct deliver *d, struct conn *sender, struct object *o,
    struct response *r)
{
	int	touched;

	if (d->syncer == NULL) {
		/* one pass, in the order the handler wrote its actions */
		touched = deliver_apply(d, sender, o, r,
		    DELIVER_STATE | DELIVER_OUTPUT);
		response_free(r);
		return touched;
	}
	touched = deliver_apply(d, sender, o, r, DELIVER_STATE);
	deliver_output(d, sender, o, r);
	return touched;
}

void
deliver_release(struct deliver *d)
{
	struct held	*h;
	uint64_t	 done;

	if (d == NULL || d->syncer == NULL || d->head == NULL)
		return;
	done = syncer_done(d->syncer);
	while ((h = d->head) != NULL && h->ticket <= done) {
		d->head = h->next;
		if (d->head == NULL)
			d->tail = NULL;
		deliver_now(d, h->sender, h->obj, h->r);
		held_free(h);
	}
}
