/*
 * torpor.h - the C SDK for torpor handlers.
 *
 * A handler is a FastCGI responder that the torpor gateway starts (or
 * connects to) and hands WebSocket events to, one event at a time per
 * object. The SDK runs the FastCGI accept loop (libfcgi), decodes each
 * request into a torpor_event, calls your callback, commits the storage
 * writes the callback made in one LMDB transaction, and answers with the
 * actions the callback queued (frames, closes, attachment, tags, alarm).
 * Nothing a callback queues reaches a client unless the callback returns 0
 * and the commit succeeds.
 *
 * Events that queued up may arrive in one request (a batch); callbacks
 * still run one event at a time, in order, each seeing the earlier
 * events' writes, attachments, tags and alarm, and the successful
 * events' writes are committed together after the last one.
 *
 * Conventions: functions return 0 or a negative errno-style code
 * (torpor_strerror describes it); pointers returned by accessors belong to
 * the event and stay valid until the callback returns.
 */
#ifndef TORPOR_H
#define TORPOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TORPOR_API __attribute__((visibility("default")))
#else
#define TORPOR_API
#endif

/* An event being handled; opaque. */
typedef struct torpor_event torpor_event;

enum torpor_event_type {
	TORPOR_EVENT_CONNECT,
	TORPOR_EVENT_MESSAGE,
	TORPOR_EVENT_CLOSE,
	TORPOR_EVENT_ERROR,
	TORPOR_EVENT_ALARM,
};

/*
 * Callbacks; any may be NULL (the event is then acknowledged with no
 * action). Return 0 on success. A negative return makes the request fail
 * (Status 500): storage writes are discarded, queued actions are dropped,
 * and the gateway closes the event's connection with 1011 (an alarm is
 * retried).
 */
struct torpor_handlers {
	int	(*on_connect)(torpor_event *ev, void *user);
	int	(*on_message)(torpor_event *ev, void *user);
	int	(*on_close)(torpor_event *ev, void *user);
	int	(*on_error)(torpor_event *ev, void *user);
	int	(*on_alarm)(torpor_event *ev, void *user);
};

/*
 * Serves requests on the FastCGI socket (fd 0, as the gateway's spawn mode
 * provides) until the process is told to stop (SIGTERM) or the socket
 * fails. Returns 0 on a clean stop, or a negative code when the FastCGI
 * library cannot be initialised.
 */
TORPOR_API int torpor_run(const struct torpor_handlers *handlers, void *user);

/* --- the event ------------------------------------------------------- */

TORPOR_API enum torpor_event_type torpor_event_type(const torpor_event *ev);
/* The object's name; never NULL. */
TORPOR_API const char *torpor_object(const torpor_event *ev);
/* The event's connection id (UUID text), or NULL for alarms. */
TORPOR_API const char *torpor_connection_id(const torpor_event *ev);
/*
 * The connection's attachment as the gateway sent it (before any change
 * this event queued; in a batch, after those of the earlier events); ""
 * when none. *len (if not NULL) gets its length. Tags likewise.
 */
TORPOR_API const char *torpor_attachment(const torpor_event *ev, size_t *len);
/* Number of the connection's tags, and tag i (NULL when out of range). */
TORPOR_API size_t torpor_tag_count(const torpor_event *ev);
TORPOR_API const char *torpor_tag(const torpor_event *ev, size_t i);
/*
 * Any FastCGI parameter by name (e.g. "REMOTE_ADDR"), or NULL. In a
 * batch, the event's own value (REMOTE_ADDR_i for event i).
 */
TORPOR_API const char *torpor_param(const torpor_event *ev, const char *name);
/* The message payload (message events; may contain NUL bytes). */
TORPOR_API const void *torpor_payload(const torpor_event *ev, size_t *len);
/* 1 when the message arrived as a binary frame, 0 for text. */
TORPOR_API int torpor_is_binary(const torpor_event *ev);
/* Open sockets of the object when the event was sent. */
TORPOR_API int torpor_connection_count(const torpor_event *ev);
/*
 * The object's alarm in ms since the epoch, or -1 when none is set (in a
 * batch, as the earlier events left it).
 */
TORPOR_API int64_t torpor_alarm(const torpor_event *ev);
/* Alarm events: how many failed runs preceded this one. */
TORPOR_API int torpor_alarm_retry(const torpor_event *ev);
/* Close events: code (1005 when none), reason (""), clean (1/0). */
TORPOR_API int torpor_close_code(const torpor_event *ev);
TORPOR_API const char *torpor_close_reason(const torpor_event *ev);
TORPOR_API int torpor_close_clean(const torpor_event *ev);
/* The object's event sequence number. */
TORPOR_API uint64_t torpor_event_id(const torpor_event *ev);
/* Current wall-clock time in ms since the epoch. */
TORPOR_API int64_t torpor_now_ms(void);

/* --- actions (applied by the gateway in the order queued) ------------ */

/*
 * Every call returns 0, -ENOMEM, or -EINVAL for an argument the gateway
 * would refuse: a text frame (binary = 0) must be UTF-8 without NUL
 * bytes; an attachment is text without NUL bytes; a tag is 1..256 bytes
 * of visible ASCII without ','. A NULL connection id means the event's
 * connection, which alarm events do not have (-EINVAL).
 */

/* A frame to the event's connection; -EINVAL for alarm events. */
TORPOR_API int torpor_reply(torpor_event *ev, const void *data, size_t len,
    int binary);
/* A text frame from a NUL-terminated string to the event's connection. */
TORPOR_API int torpor_reply_text(torpor_event *ev, const char *text);
/* A frame to the connection with this id (dropped if it has gone). */
TORPOR_API int torpor_send(torpor_event *ev, const char *connection_id,
    const void *data, size_t len, int binary);
/* A frame to every connection of the object carrying tag. */
TORPOR_API int torpor_send_tag(torpor_event *ev, const char *tag,
    const void *data, size_t len, int binary);
/* A frame to every connection of the object, but except_id (may be NULL). */
TORPOR_API int torpor_broadcast(torpor_event *ev, const void *data,
    size_t len, int binary, const char *except_id);
/*
 * Closes a connection (NULL: the event's) with code (1000 or 3000..4999)
 * and reason (UTF-8, <= 123 bytes; may be NULL). -EINVAL on a bad code.
 */
TORPOR_API int torpor_close(torpor_event *ev, const char *connection_id,
    int code, const char *reason);
/*
 * Replaces a connection's attachment (NULL id: the event's); value NULL
 * or len 0 clears it.
 */
TORPOR_API int torpor_set_attachment(torpor_event *ev,
    const char *connection_id, const char *value, size_t len);
/* Replaces a connection's tags (NULL id: the event's). */
TORPOR_API int torpor_set_tags(torpor_event *ev, const char *connection_id,
    const char *const *tags, size_t ntags);
/*
 * Sets the object's alarm to at_ms (a past time fires at once); -EINVAL
 * outside 0..2^53.
 */
TORPOR_API int torpor_set_alarm(torpor_event *ev, int64_t at_ms);
TORPOR_API int torpor_clear_alarm(torpor_event *ev);

/* --- object storage (snapshot reads, buffered writes) ---------------- */

/*
 * Reads key of the event's object. Sees the event's own earlier writes.
 * On success *val and *len point at storage valid until the callback
 * returns. -ENOENT when absent.
 */
TORPOR_API int torpor_get(torpor_event *ev, const char *key,
    const void **val, size_t *len);
/* Buffers a write; committed with the others when the callback returns 0. */
TORPOR_API int torpor_put(torpor_event *ev, const char *key,
    const void *val, size_t len);
/* Buffers a delete; 0 also when the key is absent. */
TORPOR_API int torpor_delete(torpor_event *ev, const char *key);
/*
 * Calls fn for each key of the object starting with prefix ("" for all),
 * in byte order, merging the event's buffered writes and deletes. fn
 * returning non-zero stops the walk and that value is returned.
 */
TORPOR_API int torpor_list(torpor_event *ev, const char *prefix,
    int (*fn)(const char *key, const void *val, size_t len, void *arg),
    void *arg);

/* --- the object's connections ---------------------------------------- */

struct torpor_connection {
	const char		*id;
	const char		*attachment;	/* "" when none */
	size_t			 attachment_len;
	const char *const	*tags;
	size_t			 ntags;
	const char		*remote_addr;
	int64_t			 connected_at;	/* ms since epoch */
};

/*
 * Calls fn for each open connection of the event's object, as the gateway
 * recorded them before sending this event (in a batch, with the
 * attachments and tags the earlier events set). Pointers are valid during
 * the call only. fn returning non-zero stops the walk and that value is
 * returned.
 */
TORPOR_API int torpor_connections(torpor_event *ev,
    int (*fn)(const struct torpor_connection *c, void *arg), void *arg);

/* Describes a code returned by this SDK (negative errno or store codes). */
TORPOR_API const char *torpor_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
