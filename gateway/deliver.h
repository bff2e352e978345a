/*
 * deliver: applies what a handler answered. State changes (attachment,
 * tags, alarm) take effect at once, so the object's next event sees them;
 * output (frames, closes) goes to the connections at once too, or, in
 * group durability, waits in arrival order until the sync that makes the
 * answer's commit durable has finished (the output gate).
 */
#ifndef DELIVER_H
#define DELIVER_H

struct deliver;
struct registry;
struct alarm;
struct syncer;
struct conn;
struct object;
struct response;

#define DELIVER_STATE	1	/* attachment, tags, alarm */
#define DELIVER_OUTPUT	2	/* frames, closes */

/* syncer NULL: no output gate (full and none durability). */
struct deliver	*deliver_create(struct registry *reg, struct alarm *alarm,
		    struct syncer *syncer);
/* Frees the context and any output still held; accepts NULL. */
void		 deliver_free(struct deliver *d);
/*
 * Applies the actions of r of the kinds in which, in order, for an event
 * of object o whose connection is sender (NULL for alarms). Returns 1
 * when an alarm action was applied.
 */
int		 deliver_apply(struct deliver *d, struct conn *sender,
		    struct object *o, const struct response *r, int which);
/*
 * The output of r (taken over), or with r NULL a close 1011 of sender
 * (the event failed): now, or once the group sync allows.
 */
void		 deliver_output(struct deliver *d, struct conn *sender,
		    struct object *o, struct response *r);
/*
 * A successful answer r (taken over) to an event of o from sender: all of
 * it in order, or, with an output gate, its state now and its output
 * held. Returns 1 when it applied an alarm action.
 */
int		 deliver_answer(struct deliver *d, struct conn *sender,
		    struct object *o, struct response *r);
/* Sends the held output whose sync has finished. */
void		 deliver_release(struct deliver *d);

#endif
