/*
 * nick: choosing, storing and finding chat nicknames (see nick.h).
 *
 * The tag is what other connections' events can see (the registry lists
 * tags); the attachment repeats it so the connection's own events need
 * no registry walk. Either may be lost or odd (a connection made by an
 * older handler, a hand-edited store), so every lookup falls back to a
 * name derived from the connection id rather than failing the event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "nick.h"

#define GUEST		"guest-"
#define GUEST_DIGITS	4

int
nick_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > NICK_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes s[0..len) into out (NICK_SIZE bytes). Browsers encode
 * nothing a valid nickname contains, but other clients may encode
 * everything; '+' is left alone, so a form-encoded space stays invalid.
 * @return the decoded length, or NICK_SIZE when it does not fit or a
 * '%' is not followed by two hex digits.
 */
static size_t
nick_decode(const char *s, size_t len, char *out)
{
	size_t	i, n = 0;
	int	hi, lo;

	for (i = 0; i < len; i++, n++) {
		if (n == NICK_MAX)
			return NICK_SIZE;
		if (s[i] != '%') {
			out[n] = s[i];
			continue;
		}
		if (len - i < 3 || (hi = hex_value(s[i + 1])) < 0 ||
		    (lo = hex_value(s[i + 2])) < 0)
			return NICK_SIZE;
		out[n] = (char)(hi << 4 | lo);
		i += 2;
	}
	return n;
}

/* "guest-" and the id's first hex digits, or plain "guest" without an id. */
static void
nick_guest(const char *connection_id, char out[NICK_SIZE])
{
	size_t	n = 0;

	memcpy(out, GUEST, sizeof(GUEST));
	if (connection_id == NULL)
		goto out;
	for (; *connection_id != '\0' && n < GUEST_DIGITS; connection_id++) {
		if (hex_value(*connection_id) >= 0)
			out[sizeof(GUEST) - 1 + n++] = *connection_id;
	}
out:
	if (n == 0)
		out[sizeof(GUEST) - 2] = '\0';	/* drop the '-' */
	else
		out[sizeof(GUEST) - 1 + n] = '\0';
}

int
nick_choose(const char *query, const char *connection_id,
    char out[NICK_SIZE])
{
	const char	*p, *end;
	size_t		 n;
	char		 buf[NICK_SIZE];

	/*
	 * Parameters are split on ',' as well as '&': the gateway, on
	 * libwebsockets 4.1, passes the query with its parameters joined by
	 * ',' (and already percent-decoded). Neither can be in a nickname,
	 * so accepting both costs nothing once it passes the raw query.
	 */
	for (p = query; p != NULL && *p != '\0'; p = end + 1) {
		end = p + strcspn(p, "&,");
		if ((size_t)(end - p) >= 5 && memcmp(p, "nick=", 5) == 0) {
			n = nick_decode(p + 5, (size_t)(end - p) - 5, buf);
			if (n < NICK_SIZE && nick_valid(buf, n)) {
				memcpy(out, buf, n);
				out[n] = '\0';
				return 0;
			}
			/* A bad first nick is not overridden by a later one. */
			break;
		}
		if (*end == '\0')
			break;
	}
	nick_guest(connection_id, out);
	return 1;
}

void
nick_find(const char *const *tags, size_t ntags, const char *attachment,
    size_t attachment_len, const char *connection_id, char out[NICK_SIZE])
{
	const size_t	 plen = sizeof(NICK_TAG) - 1;
	const cJSON	*v;
	cJSON		*att;
	size_t		 i, n;

	for (i = 0; tags != NULL && i < ntags; i++) {
		n = strlen(tags[i]);
		if (n > plen && memcmp(tags[i], NICK_TAG, plen) == 0 &&
		    nick_valid(tags[i] + plen, n - plen)) {
			memcpy(out, tags[i] + plen, n - plen + 1);
			return;
		}
	}
	if (attachment != NULL && attachment_len > 0) {
		att = cJSON_ParseWithLength(attachment, attachment_len);
		v = cJSON_GetObjectItemCaseSensitive(att, "nick");
		if (cJSON_IsString(v) &&
		    nick_valid(v->valuestring, strlen(v->valuestring))) {
			memcpy(out, v->valuestring,
			    strlen(v->valuestring) + 1);
			cJSON_Delete(att);
			return;
		}
		cJSON_Delete(att);
	}
	nick_guest(connection_id, out);
}

void
nick_tag(const char *nick, char tag[NICK_TAG_SIZE])
{
	snprintf(tag, NICK_TAG_SIZE, "%s%s", NICK_TAG, nick);
}

char *
nick_attachment(const char *nick)
{
	cJSON	*o;
	char	*s = NULL;

	if ((o = cJSON_CreateObject()) != NULL &&
	    cJSON_AddStringToObject(o, "nick", nick) != NULL)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
