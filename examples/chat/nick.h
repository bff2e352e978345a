/*
 * nick: chat nicknames. A nickname is chosen once, on connect, from the
 * upgrade request's query string (?nick=NAME) or made up from the
 * connection id; it then travels with the connection as a tag
 * "nick:NAME" (what /who reads from the registry) and in the attachment
 * (what each of the connection's own events carries).
 */
#ifndef NICK_H
#define NICK_H

#include <stddef.h>

#define NICK_MAX	32			/* bytes */
#define NICK_SIZE	(NICK_MAX + 1)		/* with the NUL */
#define NICK_TAG	"nick:"
#define NICK_TAG_SIZE	(sizeof(NICK_TAG) - 1 + NICK_SIZE)

/* @return 1 when s[0..len) is 1..NICK_MAX bytes of [A-Za-z0-9_-], else 0. */
int	nick_valid(const char *s, size_t len);
/*
 * Picks the nickname of a new connection: the first "nick" parameter of
 * query (percent-decoded; query may be NULL) when it is valid, else
 * "guest-" and the first four hex digits of connection_id.
 * @return 0 when the query's nickname was taken, 1 for the fallback.
 */
int	nick_choose(const char *query, const char *connection_id,
	    char out[NICK_SIZE]);
/*
 * Finds a known connection's nickname: its "nick:" tag, else the "nick"
 * of its JSON attachment, else the fallback of nick_choose. Any argument
 * but out may be empty or NULL.
 */
void	nick_find(const char *const *tags, size_t ntags,
	    const char *attachment, size_t attachment_len,
	    const char *connection_id, char out[NICK_SIZE]);
/*
 * Writes the tag "nick:NAME" into tag.
 */
void	nick_tag(const char *nick, char tag[NICK_TAG_SIZE]);
/*
 * The attachment that records nick: {"nick":NAME}.
 * @return a string the caller frees, or NULL when out of memory.
 */
char	*nick_attachment(const char *nick);

#endif
