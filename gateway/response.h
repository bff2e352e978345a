/*
 * response: turns a handler's CGI response (the concatenated FCGI_STDOUT
 * content) into a list of actions the gateway applies in order. Pure: no
 * I/O, no gateway state. The header form (Status, Content-Type, body,
 * Torpor-Close, Torpor-Attachment, Torpor-Tags, Torpor-Alarm, Torpor-Batch)
 * and the actions form (Content-Type: application/vnd.torpor+json, a JSON
 * array parsed with cJSON) are both described in doc/PROTOCOL.md.
 */
#ifndef RESPONSE_H
#define RESPONSE_H

#include <stddef.h>
#include <stdint.h>

enum action_type {
	ACTION_SEND,		/* a frame */
	ACTION_CLOSE,		/* close a connection */
	ACTION_ATTACHMENT,	/* replace a connection's attachment */
	ACTION_TAGS,		/* replace a connection's tags */
	ACTION_ALARM,		/* set or clear the object's alarm */
};

enum action_target {
	TARGET_SENDER,		/* the event's connection */
	TARGET_CONNECTION,	/* target names a connection id */
	TARGET_TAG,		/* every connection of the object with tag target */
	TARGET_OBJECT,		/* every connection of the object */
};

/* One action; every pointer is owned by the response. */
struct action {
	enum action_type	 type;
	enum action_target	 target;
	char			*target_name;	/* connection id or tag, or NULL */
	char			*except;	/* TAG/OBJECT sends: skip this id */
	/*
	 * SEND: frame payload; ATTACHMENT: the new value, NULL (len 0)
	 * to clear. Always followed by a NUL not counted in len.
	 */
	char			*data;
	size_t			 len;
	int			 binary;	/* SEND: binary frame */
	/* CLOSE */
	int			 close_code;
	char			*reason;	/* never NULL; "" when none */
	/* TAGS */
	char			**tags;
	size_t			 ntags;
	/* ALARM: absolute ms since epoch, or -1 to clear. */
	int64_t			 alarm_ms;
};

struct response {
	int		 status;	/* from Status:, 200 when absent */
	int		 batch;		/* Torpor-Batch, 0 when absent */
	size_t		 nactions;
	struct action	*actions;
};

/* Limits enforced while parsing; 0 means no limit. */
struct response_limits {
	size_t	max_attachment;	/* bytes */
	size_t	max_tags;	/* per connection */
	size_t	max_tag_len;	/* bytes */
};

/* Module error codes. */
#define RESPONSE_EHEADER	(-2001)	/* malformed header section */
#define RESPONSE_ESTATUS	(-2002)	/* malformed Status */
#define RESPONSE_EACTIONS	(-2003)	/* actions JSON invalid */
#define RESPONSE_ELIMIT		(-2004)	/* attachment or tags over a limit */
#define RESPONSE_EVALUE		(-2005)	/* bad value in a Torpor-* header */

/*
 * Parses data[0..len): CGI headers ending with an empty line ("\r\n" or
 * "\n" line ends both accepted), then the body. now_ms resolves relative
 * alarms ("+MS", {"in":MS}). On success returns 0 and sets *out (free
 * with response_free). On failure returns a RESPONSE_E* code, leaves *out
 * alone and, if cause is not NULL, points *cause at a static string that
 * names the first problem.
 */
int	response_parse(const char *data, size_t len, int64_t now_ms,
	    const struct response_limits *limits, struct response **out,
	    const char **cause);
/*
 * The reason phrase of the Status header ("" when absent), for the close
 * that refuses a connect with a 4xx. Not checked against the 123 bytes a
 * close reason may hold. Valid until response_free.
 */
const char *response_reason(const struct response *r);
/*
 * A batch answer (Content-Type: application/vnd.torpor-batch+json) has no
 * actions of its own: response_batch parses its body, which must be a
 * JSON array of k objects {"status":N,"actions":[...]}, into entries[0..k)
 * (each freed with response_free). An entry that is invalid or breaks a
 * limit becomes status 502 (that event fails, the others stand). The body
 * stays in the data given to response_parse, which must still be valid.
 * Returns 0, or RESPONSE_E* with *cause set when the body is not such an
 * array; then no entry is left allocated.
 */
int	response_batch(const struct response *r, size_t k, int64_t now_ms,
	    const struct response_limits *limits, struct response **entries,
	    const char **cause);
/* 1 when r is a batch answer. */
int	response_is_batch(const struct response *r);
/* Frees a response and everything it owns; accepts NULL. */
void	response_free(struct response *r);
const char *response_strerror(int err);

#endif
