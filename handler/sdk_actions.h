/*
 * sdk_actions: the queue of actions one event's callback makes (frames,
 * closes, attachment, tags, alarm; the torpor_reply... calls of torpor.h)
 * and the encoder that turns it into the CGI response of
 * doc/PROTOCOL.md: the header form when the queue fits it, else the
 * actions form (application/vnd.torpor+json). Every response announces
 * batches with Torpor-Batch; a batch's events are encoded one by one
 * with sdk_actions_json (sdk_batch assembles them).
 */
#ifndef SDK_ACTIONS_H
#define SDK_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

struct sdk_actions;

/* A queued change of state, as sdk_actions_next_change reports it. */
enum sdk_change_type {
	SDK_CHANGE_ATTACHMENT,
	SDK_CHANGE_TAGS,
	SDK_CHANGE_ALARM,
};

struct sdk_change {
	enum sdk_change_type	 type;
	const char		*connection;	/* NULL: the event's */
	const char		*value;		/* ATTACHMENT; NULL clears */
	size_t			 len;
	const char *const	*tags;		/* TAGS */
	size_t			 ntags;
	int64_t			 at;		/* ALARM: ms, -1 clears */
};

/* Output buffer capacity kept between requests; larger ones are freed. */
#define SDK_ACTIONS_OUT_KEEP	(256 * 1024)

/* Returns 0 or -ENOMEM. */
int	sdk_actions_create(struct sdk_actions **ap);
/* Frees the queue and its output; accepts NULL. */
void	sdk_actions_free(struct sdk_actions *a);
/* Drops every queued action and the output (the end of a request). */
void	sdk_actions_reset(struct sdk_actions *a);
/* Drops every queued action but keeps the output (the end of an event). */
void	sdk_actions_clear(struct sdk_actions *a);
size_t	sdk_actions_count(const struct sdk_actions *a);

/*
 * Reports the next attachment, tags or alarm action at or after *pos, in
 * queued order: fills *c, moves *pos past it and returns 1; returns 0
 * when there is none. The pointers in *c are valid until the next clear.
 */
int	sdk_actions_next_change(const struct sdk_actions *a, size_t *pos,
	    struct sdk_change *c);

/*
 * 1 when the queue can be answered in the header form with the same
 * effect as applying it in queued order, else 0.
 */
int	sdk_actions_header_form(const struct sdk_actions *a);

/*
 * Encodes the success response ("Status: 200 OK", then the header or
 * actions form). On success *data and *len give the response, owned by
 * a and valid until the next encode or reset. Returns 0 or -ENOMEM.
 */
int	sdk_actions_encode(struct sdk_actions *a, const char **data,
	    size_t *len);
/*
 * Encodes "Status: 500 Internal Server Error" with a one-line text body
 * "what: detail" (detail may be NULL). Never fails: without memory the
 * body is a fixed text.
 */
void	sdk_actions_encode_error(struct sdk_actions *a, const char *what,
	    const char *detail, const char **data, size_t *len);

/*
 * Prints the queue as the JSON array of the actions form into *text
 * (free it with cJSON_free). Returns 0 or -ENOMEM.
 */
int	sdk_actions_json(const struct sdk_actions *a, char **text);

#endif
