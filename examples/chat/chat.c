/*
 * chat - a second torpor application: chat rooms.
 *
 * Run with a prefix route on /rooms/: each room is an object, named by
 * the rest of the path, so a room's events come one at a time and its
 * history can be read, extended and trimmed without locks. A
 * connection's nickname comes from the upgrade request (?nick=NAME) and
 * is kept by the gateway as a tag and in the attachment (nick.c); the
 * room's last messages are kept in the object's storage (history.c). The
 * handler holds nothing in memory between events, so the room works the
 * same while hibernating.
 *
 * Client protocol (JSON text frames):
 *   {"type":"say","text":T}  -> {"type":"message","from":N,"text":T,"ts":ms}
 *                               to everyone in the room, the sender too
 *                               (one send to the tag MEMBER_TAG)
 *   {"type":"who"} or "/who" -> {"type":"who","nicks":[...]} to the sender
 *   anything else            -> {"type":"error","message":M} to the sender
 * and from the room: "welcome" (with the history) to a newcomer, "join"
 * and "leave" to the others.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "nick.h"
#include "torpor.h"

/* Longest "say" text, in bytes: keeps a full history well under 1 MiB. */
#define TEXT_MAX	2000

/*
 * Tag of the connections that are in the room: those whose connect this
 * handler has answered. The gateway lists a connection, and object-wide
 * sends reach it, from the upgrade on, while its connect event may still
 * wait behind the room's other events; sending to this tag instead keeps
 * a newcomer from getting messages before its welcome, and then again in
 * the welcome's history.
 */
#define MEMBER_TAG	"member"
#define TAGS_MAX	10	/* per connection, the gateway's limit */

/* The nicknames of a room's members, gathered for /who. */
struct roster {
	char	(*nicks)[NICK_SIZE];
	size_t	  n;
	size_t	  cap;
};

/* A frame for every member but the event's connection (join notices). */
struct notice {
	torpor_event	*ev;
	const char	*text;
};

static int
has_tag(const char *const *tags, size_t ntags, const char *tag)
{
	size_t	i;

	for (i = 0; i < ntags; i++) {
		if (strcmp(tags[i], tag) == 0)
			return 1;
	}
	return 0;
}

/* Sends o to the event's connection, or (room) to every member. */
static int
send_json(torpor_event *ev, cJSON *o, int room)
{
	char	*s;
	int	 rc;

	if (o == NULL || (s = cJSON_PrintUnformatted(o)) == NULL)
		return -ENOMEM;
	if (room)
		rc = torpor_send_tag(ev, MEMBER_TAG, s, strlen(s), 0);
	else
		rc = torpor_reply(ev, s, strlen(s), 0);
	free(s);
	return rc;
}

static cJSON *
notice_create(const char *type, const char *nick)
{
	cJSON	*o;

	o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddStringToObject(o, "type", type) == NULL ||
	    cJSON_AddStringToObject(o, "nick", nick) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int
notice_one(const struct torpor_connection *c, void *arg)
{
	struct notice	*n = arg;

	if (!has_tag(c->tags, c->ntags, MEMBER_TAG) ||
	    strcmp(c->id, torpor_connection_id(n->ev)) == 0)
		return 0;
	return torpor_send(n->ev, c->id, n->text, strlen(n->text), 0);
}

/*
 * {"type":"join","nick":nick} to the members. One frame per member: the
 * gateway applies a response's tag changes before its frames, so the
 * newcomer, tagged by this same response, would get a send to the tag,
 * and the SDK's torpor_send_tag takes no connection to leave out.
 */
static int
announce_join(torpor_event *ev, const char *nick)
{
	struct notice	 n = { ev, NULL };
	char		*s = NULL;
	cJSON		*o;
	int		 rc = -ENOMEM;

	if ((o = notice_create("join", nick)) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	n.text = s;
	rc = torpor_connections(ev, notice_one, &n);
out:
	free(s);
	cJSON_Delete(o);
	return rc;
}

static int
reply_error(torpor_event *ev, const char *message)
{
	cJSON	*o;
	int	 rc = -ENOMEM;

	o = cJSON_CreateObject();
	if (o != NULL && cJSON_AddStringToObject(o, "type", "error") != NULL &&
	    cJSON_AddStringToObject(o, "message", message) != NULL)
		rc = send_json(ev, o, 0);
	cJSON_Delete(o);
	return rc;
}

/* The nickname of the event's connection, as connect recorded it. */
static void
event_nick(torpor_event *ev, char nick[NICK_SIZE])
{
	const char	*tags[TAGS_MAX];
	const char	*att;
	size_t		 len, n = 0;

	att = torpor_attachment(ev, &len);
	while (n < TAGS_MAX && (tags[n] = torpor_tag(ev, n)) != NULL)
		n++;
	nick_find(tags, n, att, len, torpor_connection_id(ev), nick);
}

/* QUERY_STRING, or what follows '?' in REQUEST_URI; may be NULL. */
static const char *
event_query(torpor_event *ev)
{
	const char	*q, *uri;

	if ((q = torpor_param(ev, "QUERY_STRING")) != NULL)
		return q;
	if ((uri = torpor_param(ev, "REQUEST_URI")) != NULL &&
	    (q = strchr(uri, '?')) != NULL)
		return q + 1;
	return NULL;
}

static int
on_connect(torpor_event *ev, void *user)
{
	const char	*id, *tags[2];
	char		 nick[NICK_SIZE], tag[NICK_TAG_SIZE], *att = NULL;
	cJSON		*o = NULL, *history;
	int		 rc;

	(void)user;
	if ((id = torpor_connection_id(ev)) == NULL)
		return -EINVAL;
	nick_choose(event_query(ev), id, nick);
	nick_tag(nick, tag);
	tags[0] = tag;
	tags[1] = MEMBER_TAG;
	if ((rc = torpor_set_tags(ev, NULL, tags, 2)) != 0)
		goto out;
	rc = -ENOMEM;
	if ((att = nick_attachment(nick)) == NULL)
		goto out;
	if ((rc = torpor_set_attachment(ev, NULL, att, strlen(att))) != 0)
		goto out;
	rc = -ENOMEM;
	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, "type", "welcome") == NULL ||
	    cJSON_AddStringToObject(o, "room", torpor_object(ev)) == NULL ||
	    cJSON_AddStringToObject(o, "nick", nick) == NULL ||
	    (history = cJSON_AddArrayToObject(o, "history")) == NULL)
		goto out;
	if ((rc = history_load(ev, history)) != 0 ||
	    (rc = send_json(ev, o, 0)) != 0)
		goto out;
	rc = announce_join(ev, nick);
out:
	cJSON_Delete(o);
	free(att);
	return rc;
}

static int
roster_add(const struct torpor_connection *c, void *arg)
{
	struct roster	*r = arg;
	char		(*v)[NICK_SIZE];
	size_t		 cap;

	/* A connection whose connect is still queued is not in yet. */
	if (!has_tag(c->tags, c->ntags, MEMBER_TAG))
		return 0;
	if (r->n == r->cap) {
		cap = r->cap > 0 ? r->cap * 2 : 16;
		if ((v = realloc(r->nicks, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		r->nicks = v;
		r->cap = cap;
	}
	nick_find(c->tags, c->ntags, c->attachment, c->attachment_len, c->id,
	    r->nicks[r->n++]);
	return 0;
}

static int
roster_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Lists the room's members to the sender, sorted by nickname. */
static int
reply_who(torpor_event *ev)
{
	struct roster	 r = { NULL, 0, 0 };
	cJSON		*o = NULL, *nicks;
	size_t		 i;
	int		 rc;

	if ((rc = torpor_connections(ev, roster_add, &r)) != 0)
		goto out;
	qsort(r.nicks, r.n, sizeof(*r.nicks), roster_cmp);
	rc = -ENOMEM;
	o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddStringToObject(o, "type", "who") == NULL ||
	    (nicks = cJSON_AddArrayToObject(o, "nicks")) == NULL)
		goto out;
	for (i = 0; i < r.n; i++) {
		if (!cJSON_AddItemToArray(nicks,
		    cJSON_CreateString(r.nicks[i])))
			goto out;
	}
	rc = send_json(ev, o, 0);
out:
	cJSON_Delete(o);
	free(r.nicks);
	return rc;
}

/* Stores the message and sends it to the whole room in one action. */
static int
say(torpor_event *ev, const char *text)
{
	char	 nick[NICK_SIZE], *s = NULL;
	cJSON	*o;
	int	 rc = -ENOMEM;

	event_nick(ev, nick);
	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, "type", "message") == NULL ||
	    cJSON_AddStringToObject(o, "from", nick) == NULL ||
	    cJSON_AddStringToObject(o, "text", text) == NULL ||
	    cJSON_AddNumberToObject(o, "ts", (double)torpor_now_ms()) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	if ((rc = history_append(ev, s, strlen(s))) != 0)
		goto out;
	rc = torpor_send_tag(ev, MEMBER_TAG, s, strlen(s), 0);
out:
	free(s);
	cJSON_Delete(o);
	return rc;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The text without surrounding white space is exactly "/who". */
static int
is_who_command(const char *s, size_t len)
{
	while (len > 0 && is_space(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	return len == 4 && memcmp(s, "/who", 4) == 0;
}

/* Handles one parsed JSON message. */
static int
dispatch(torpor_event *ev, const cJSON *msg)
{
	const cJSON	*type, *text;
	size_t		 len;

	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	if (!cJSON_IsObject(msg) || !cJSON_IsString(type))
		return reply_error(ev, "expected a JSON object with a "
		    "string \"type\"");
	if (strcmp(type->valuestring, "who") == 0)
		return reply_who(ev);
	if (strcmp(type->valuestring, "say") != 0)
		return reply_error(ev, "unknown type (want \"say\" or "
		    "\"who\")");
	text = cJSON_GetObjectItemCaseSensitive(msg, "text");
	if (!cJSON_IsString(text) || (len = strlen(text->valuestring)) == 0)
		return reply_error(ev, "\"say\" needs a non-empty string "
		    "\"text\"");
	if (len > TEXT_MAX)
		return reply_error(ev, "text too long (at most 2000 bytes)");
	/* Typed into a client that sends everything as "say". */
	if (is_who_command(text->valuestring, len))
		return reply_who(ev);
	return say(ev, text->valuestring);
}

static int
on_message(torpor_event *ev, void *user)
{
	const char	*p;
	size_t		 len;
	cJSON		*msg;
	int		 rc;

	(void)user;
	if (torpor_is_binary(ev))
		return reply_error(ev, "binary frames are not supported");
	if ((p = torpor_payload(ev, &len)) == NULL)
		len = 0;
	if (is_who_command(p, len))
		return reply_who(ev);
	/*
	 * The SDK NUL-terminates the payload: parsing len + 1 bytes with
	 * require_null_terminated refuses trailing garbage, and a NUL
	 * inside the text would otherwise end it early.
	 */
	if (len == 0 || memchr(p, '\0', len) != NULL)
		return reply_error(ev, "invalid JSON");
	if ((msg = cJSON_ParseWithLengthOpts(p, len + 1, NULL, 1)) == NULL)
		return reply_error(ev, "invalid JSON");
	rc = dispatch(ev, msg);
	cJSON_Delete(msg);
	return rc;
}

/*
 * Tells the rest of the room, unless the connection never got in (its
 * connect failed). The closed connection is no longer listed, so the
 * send to the tag leaves it out.
 */
static int
on_close(torpor_event *ev, void *user)
{
	char	 nick[NICK_SIZE];
	cJSON	*o;
	size_t	 i;
	int	 rc;

	(void)user;
	for (i = 0; i < torpor_tag_count(ev); i++) {
		if (strcmp(torpor_tag(ev, i), MEMBER_TAG) == 0)
			break;
	}
	if (i == torpor_tag_count(ev))
		return 0;
	event_nick(ev, nick);
	o = notice_create("leave", nick);
	rc = send_json(ev, o, 1);
	cJSON_Delete(o);
	return rc;
}

int
main(void)
{
	static const struct torpor_handlers handlers = {
		.on_connect = on_connect,
		.on_message = on_message,
		.on_close = on_close,
	};
	int	rc;

	if ((rc = torpor_run(&handlers, NULL)) < 0) {
		fprintf(stderr, "chat: %s\n", torpor_strerror(rc));
		return 1;
	}
	return 0;
}
