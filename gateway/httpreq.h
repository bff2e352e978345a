/*
 * httpreq: an incremental parser of one HTTP/1.x request head (RFC 9112),
 * pure (no I/O, no logging). The gateway feeds it what each read returned
 * and answers a bad request itself, with the status httpreq_status gives
 * (400, 431 or 505), before any WebSocket handshake: libwebsockets' own
 * parser answers 403 to a malformed request line and drops oversized heads
 * without a 431.
 *
 * Strict by design (request smuggling and cache poisoning start where two
 * parsers disagree): single spaces in the request line, no obs-fold, no
 * whitespace before a header's colon, one Host (required in HTTP/1.1),
 * Content-Length all digits and never next to Transfer-Encoding. Bare LF
 * line ends and empty lines before the request line are tolerated, as
 * RFC 9112 2.2 allows.
 */
#ifndef HTTPREQ_H
#define HTTPREQ_H

#include <stddef.h>
#include <stdint.h>

/* Module error codes, below the errno range; httpreq_status maps them. */
#define HTTPREQ_EBAD		(-1201)	/* malformed request: 400 */
#define HTTPREQ_ETOOBIG		(-1202)	/* head over the limit: 431 */
#define HTTPREQ_EVERSION	(-1203)	/* HTTP version not 1.0/1.1: 505 */

struct httpreq;

/*
 * A parser for one request head of at most max_bytes bytes, counting the
 * request line, the header lines, their CR LF or LF, the final empty line
 * and any empty lines before the request line. Never fails (xmalloc
 * aborts on OOM). Free with httpreq_free.
 */
struct httpreq	*httpreq_create(size_t max_bytes);
/* Frees the parser and every string it returned; accepts NULL. */
void		 httpreq_free(struct httpreq *r);

/*
 * Feeds the next bytes read from the socket; the parser copies what it
 * keeps, so data may be reused after the call. Bytes are checked as they
 * arrive, so the result does not depend on how the stream was cut.
 * @return 0 when the head is not complete yet (all of data consumed);
 * 1 when it is, with *used set to how many bytes of data[0..len) belong
 * to the head (the rest is body or WebSocket frames: the caller keeps
 * them); or HTTPREQ_EBAD, HTTPREQ_ETOOBIG (as soon as the count passes
 * max_bytes; a head of exactly max_bytes is accepted) or HTTPREQ_EVERSION,
 * *used untouched. Once 1 or an error was returned, do not feed again
 * (if you do: the same error again, or 1 with *used = 0).
 */
int		 httpreq_feed(struct httpreq *r, const uint8_t *data,
		    size_t len, size_t *used);

/*
 * The HTTP status to answer for an HTTPREQ_E* code: 400, 431 or 505; 500
 * for any other value (a caller bug).
 */
int		 httpreq_status(int err);
/* Describes an HTTPREQ_E* code (or a negative errno), for the log. */
const char	*httpreq_strerror(int err);
/*
 * The rule the head broke, one precise reason per rule ("request line has
 * no HTTP version", "header name has whitespace before the colon", ...),
 * after httpreq_feed returned an error; NULL before. A static string.
 */
const char	*httpreq_error_detail(const struct httpreq *r);

/*
 * Accessors, valid once httpreq_feed returned 1 (before: NULL, 0). The
 * strings live until httpreq_free.
 */
/* The method as sent ("GET"); methods are case-sensitive. */
const char	*httpreq_method(const struct httpreq *r);
/* The request-target as sent. */
const char	*httpreq_target(const struct httpreq *r);
/*
 * The path part of the target without the query, not percent-decoded:
 * "/p" for "/p?q" and for absolute-form "http://host:port/p?q", "/" for
 * an absolute-form target without a path, "*" for asterisk-form.
 */
const char	*httpreq_path(const struct httpreq *r);
/* What follows the first '?' of the target, or NULL when it has none. */
const char	*httpreq_query(const struct httpreq *r);
/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
int		 httpreq_version(const struct httpreq *r);
/*
 * The value (OWS trimmed) of the header named name, case-insensitively,
 * or NULL. The values of a header sent several times are joined with
 * ", " in the order sent (RFC 9110 5.3).
 */
const char	*httpreq_header(const struct httpreq *r, const char *name);
/* The number of header field lines, as sent (not joined). */
size_t		 httpreq_nheaders(const struct httpreq *r);
/*
 * The i-th header field line's name (as sent) and value (OWS trimmed),
 * for passing them on as CGI HTTP_* params; NULL and NULL when i is out
 * of range.
 */
void		 httpreq_header_at(const struct httpreq *r, size_t i,
		    const char **name, const char **value);
/*
 * Whether the comma-separated list in header name (joined, see
 * httpreq_header) has an item equal to token, case-insensitively, OWS
 * around items ignored: Connection "keep-alive, Upgrade" has "upgrade".
 * @return 1 or 0.
 */
int		 httpreq_has_token(const struct httpreq *r, const char *name,
		    const char *token);

/*
 * Percent-decodes src into out[0..size), NUL included, for routing a
 * path ("%2F" becomes '/'; '+' stays '+'). @return 0; -EINVAL for a bad
 * escape ("%", "%4", "%zz") or one that decodes to NUL; -ENAMETOOLONG
 * when out is too small. The first problem from the left wins; on error
 * out holds "" (when size > 0).
 */
int		 httpreq_decode(const char *src, char *out, size_t size);

#endif
