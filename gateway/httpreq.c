/*
 * httpreq: the HTTP/1.x request head parser behind every request the
 * gateway accepts. It takes the stream a byte at a time: each byte is
 * counted against the limit and checked against what its line may hold
 * as it arrives, each line is parsed when its LF arrives. An error is
 * thus found at the same byte however the socket cut the stream, and
 * garbage (a TLS hello on the plain port) is refused at its first byte
 * instead of after max_bytes or a timeout.
 *
 * Lines are copied into one buffer without their CR LF, each ended by a
 * NUL, so it never holds more than max_bytes; parsing writes more NULs
 * into it (after the method, the name, the trimmed value) and keeps
 * offsets, because the buffer moves while it grows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpreq.h"
#include "xmalloc.h"

enum httpreq_state {
	HTTPREQ_START,		/* before the request line: empty lines */
	HTTPREQ_RLINE,		/* in the request line */
	HTTPREQ_FIELDS,		/* in a header line or the final empty line */
	HTTPREQ_DONE,
	HTTPREQ_FAILED
};

/* One header field line: offsets into buf; joined is 1 + offset in join. */
struct httpreq_field {
	size_t	name;
	size_t	value;
	size_t	joined;
};

struct httpreq {
	size_t			 max;
	size_t			 total;	/* head bytes so far, CR LF included */
	enum httpreq_state	 state;
	int			 cr;	/* the last byte was a CR */
	int			 err;
	const char		*detail;
	char			*buf;	/* the lines, see the top of the file */
	size_t			 len, cap;
	size_t			 line;	/* where the current line starts */
	size_t			 method, target;
	int			 version;
	char			*pq;	/* path, NUL, query, NUL */
	size_t			 query;	/* offset of the query in pq, 0: none */
	struct httpreq_field	*fields;
	size_t			 nfields, fcap;
	size_t			 nhost;
	size_t			 clen;	/* 1 + offset of Content-Length value */
	int			 te;	/* Transfer-Encoding seen */
	char			*join;	/* values of repeated headers, joined */
};

#define HTTPREQ_ALNUM \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
/* RFC 9110 tchar; RFC 3986 scheme; reg-name, IP-literal and port. */
static const char httpreq_tchars[] = HTTPREQ_ALNUM "!#$%&'*+-.^_`|~";
static const char httpreq_scheme_chars[] = HTTPREQ_ALNUM "+-.";
static const char httpreq_host_chars[] = HTTPREQ_ALNUM "-._~%!$&'()*+,;=:[]";

struct httpreq *
httpreq_create(size_t max_bytes)
{
	struct httpreq	*r = xcalloc(1, sizeof *r);

	r->max = max_bytes;
	return r;
}

void
httpreq_free(struct httpreq *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->pq);
	free(r->fields);
	free(r->join);
	free(r);
}

/* Records the broken rule; every later feed returns the same error. */
static int
httpreq_fail(struct httpreq *r, int err, const char *detail)
{
	r->state = HTTPREQ_FAILED;
	r->err = err;
	r->detail = detail;
	return err;
}

static int
httpreq_bad(struct httpreq *r, const char *detail)
{
	return httpreq_fail(r, HTTPREQ_EBAD, detail);
}

/* Whether s is a non-empty RFC 9110 token. */
static int
httpreq_token(const char *s)
{
	return *s != '\0' && s[strspn(s, httpreq_tchars)] == '\0';
}

static void
httpreq_append(struct httpreq *r, char c)
{
	size_t	cap;

	if (r->len == r->cap) {
		/* Doubling, but never more room than a head may take. */
		cap = r->cap > 0 ? r->cap * 2 : 256;
		if (cap > r->max)
			cap = r->max > r->len ? r->max : r->len + 1;
		r->buf = xrealloc(r->buf, cap);
		r->cap = cap;
	}
	r->buf[r->len++] = c;
}

/* Copies path and query apart into pq; path-abempty "" becomes "/". */
static void
httpreq_split(struct httpreq *r, const char *path)
{
	char	*q;

	r->pq = xmalloc(strlen(path) + 2);
	q = r->pq;
	if (*path != '/')
		*q++ = '/';
	memcpy(q, path, strlen(path) + 1);
	if ((q = strchr(r->pq, '?')) != NULL) {
		*q = '\0';
		r->query = (size_t)(q + 1 - r->pq);
	}
}

/* The target's form (RFC 9112 3.2), and its path and query. */
static int
httpreq_target_parse(struct httpreq *r, const char *method, const char *t)
{
	size_t	sl, alen;

	if (strchr(t, '#') != NULL)
		return httpreq_bad(r, "request-target has a fragment ('#')");
	if (t[0] == '/') {
		httpreq_split(r, t);
		return 0;
	}
	if (strcmp(t, "*") == 0) {
		if (strcmp(method, "OPTIONS") != 0)
			return httpreq_bad(r, "asterisk-form target with a "
			    "method other than OPTIONS");
		r->pq = xstrdup("*");
		return 0;
	}
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	sl = strspn(t, httpreq_scheme_chars);
	if (sl == 0 || t[sl] != ':' || strchr("+-.0123456789", t[0]) != NULL)
		return httpreq_bad(r, "request-target is not in origin, "
		    "absolute or asterisk form");
	if ((sl != 4 || strncasecmp(t, "http", 4) != 0) &&
	    (sl != 5 || strncasecmp(t, "https", 5) != 0))
		return httpreq_bad(r, "absolute-form target scheme is not "
		    "http or https");
	if (strncmp(t + sl, "://", 3) != 0)
		return httpreq_bad(r, "absolute-form target has no '//' "
		    "after the scheme");
	t += sl + 3;
	alen = strcspn(t, "/?");
	/* RFC 9110 4.2.1 and 4.2.4: an empty host or userinfo is invalid. */
	if (alen == 0 || t[0] == ':')
		return httpreq_bad(r, "absolute-form target has no host");
	if (memchr(t, '@', alen) != NULL)
		return httpreq_bad(r, "absolute-form target has userinfo "
		    "('@')");
	httpreq_split(r, t + alen);
	return 0;
}

/* method SP request-target SP HTTP-version, in s[0..n) (no NUL inside). */
static int
httpreq_request_line(struct httpreq *r, char *s, size_t n)
{
	char	*sp1, *sp2, *target, *v;

	if (s[0] == ' ')
		return httpreq_bad(r, "request line starts with a space");
	if (s[n - 1] == ' ')
		return httpreq_bad(r, "request line ends with a space");
	sp1 = strchr(s, ' ');
	sp2 = strrchr(s, ' ');
	if (sp1 == NULL || sp1 == sp2)
		return httpreq_bad(r, sp1 != NULL &&
		    strncmp(sp1 + 1, "HTTP/", 5) == 0 ?
		    "request line has no request-target" :
		    "request line has no HTTP version");
	*sp1 = *sp2 = '\0';
	target = sp1 + 1;
	v = sp2 + 1;
	if (!httpreq_token(s))
		return httpreq_bad(r, "method is not a token");
	if (*target == ' ' || *target == '\0' ||
	    target[strlen(target) - 1] == ' ')
		return httpreq_bad(r, "request line has more than one space "
		    "between its parts");
	if ((sp1 = strchr(target, ' ')) != NULL)
		return httpreq_bad(r, strncmp(sp1 + 1, "HTTP/", 5) == 0 ?
		    "request line has bytes after the HTTP version" :
		    "request-target has a space");
	if (strlen(v) != 8 || strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
	    v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return httpreq_bad(r, "HTTP version is not HTTP/DIGIT.DIGIT");
	/*
	 * The version before the target: a client of another version may
	 * use targets it allows (the HTTP/2 preface "PRI * HTTP/2.0"), and
	 * 505 tells it more than 400.
	 */
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return httpreq_fail(r, HTTPREQ_EVERSION,
		    "HTTP version is not 1.0 or 1.1");
	r->version = v[7] == '0' ? 10 : 11;
	r->method = (size_t)(s - r->buf);
	r->target = (size_t)(target - r->buf);
	return httpreq_target_parse(r, s, target);
}

/* The headers whose misreading enables request smuggling (RFC 9112 6). */
static int
httpreq_framing(struct httpreq *r, const char *name, const char *v)
{
	if (strcasecmp(name, "host") == 0) {
		if (++r->nhost > 1)
			return httpreq_bad(r, "more than one Host header");
		if (*v == '\0')
			return httpreq_bad(r, "Host header is empty");
		if (v[strspn(v, httpreq_host_chars)] != '\0')
			return httpreq_bad(r, "Host header is not host[:port]");
	} else if (strcasecmp(name, "content-length") == 0) {
		if (*v == '\0' || v[strspn(v, "0123456789")] != '\0')
			return httpreq_bad(r, "Content-Length is not a number");
		if (r->clen != 0 && strcmp(r->buf + r->clen - 1, v) != 0)
			return httpreq_bad(r, "Content-Length headers differ");
		r->clen = (size_t)(v - r->buf) + 1;
	} else if (strcasecmp(name, "transfer-encoding") == 0)
		r->te = 1;
	else
		return 0;
	if (r->clen != 0 && r->te)
		return httpreq_bad(r, "both Content-Length and "
		    "Transfer-Encoding");
	return 0;
}

/* field-name ":" OWS field-value OWS, in s[0..n) (no NUL inside). */
static int
httpreq_field_line(struct httpreq *r, char *s, size_t n)
{
	struct httpreq_field	*f;
	char			*colon, *v, *e;

	if ((colon = memchr(s, ':', n)) == NULL)
		return httpreq_bad(r, "header line has no colon");
	if (colon == s)
		return httpreq_bad(r, "header name is empty");
	if (colon[-1] == ' ' || colon[-1] == '\t')
		return httpreq_bad(r, "header name has whitespace before the "
		    "colon");
	*colon = '\0';
	if (!httpreq_token(s))
		return httpreq_bad(r, "header name is not a token");
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = s + n; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	if (r->nfields == r->fcap) {
		r->fcap = r->fcap > 0 ? r->fcap * 2 : 16;
		r->fields = xrealloc(r->fields, r->fcap * sizeof *r->fields);
	}
	f = &r->fields[r->nfields++];
	f->name = (size_t)(s - r->buf);
	f->value = (size_t)(v - r->buf);
	f->joined = 0;
	return httpreq_framing(r, s, v);
}

struct httpreq_key {
	const char	*name;
	size_t		 i;
};

/* By name, case-insensitively, then in the order sent. */
static int
httpreq_key_cmp(const void *a, const void *b)
{
	const struct httpreq_key	*x = a, *y = b;
	int				 c = strcasecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Joins the values of each repeated header into join, found from its
 * first line. Sorting keeps this O(n log n): a head of tiny header lines
 * must not cost a quadratic name comparison.
 */
static void
httpreq_join(struct httpreq *r)
{
	struct httpreq_key	*keys;
	size_t			 i, g, e, k, need = 0, off = 0, vlen;
	const char		*v;

	if (r->nfields < 2)
		return;
	keys = xcalloc(r->nfields, sizeof *keys);
	for (i = 0; i < r->nfields; i++) {
		keys[i].name = r->buf + r->fields[i].name;
		keys[i].i = i;
		need += strlen(r->buf + r->fields[i].value) + 2;
	}
	qsort(keys, r->nfields, sizeof *keys, httpreq_key_cmp);
	for (g = 0; g < r->nfields; g = e) {
		for (e = g + 1; e < r->nfields &&
		    strcasecmp(keys[e].name, keys[g].name) == 0; e++)
			;
		if (e - g < 2)
			continue;
		if (r->join == NULL)
			r->join = xmalloc(need);
		r->fields[keys[g].i].joined = off + 1;
		for (k = g; k < e; k++) {
			if (k > g) {
				memcpy(r->join + off, ", ", 2);
				off += 2;
			}
			v = r->buf + r->fields[keys[k].i].value;
			vlen = strlen(v);
			memcpy(r->join + off, v, vlen);
			off += vlen;
		}
		r->join[off++] = '\0';
	}
	free(keys);
}

/* At an LF: parses the line it ends. @return 0, 1 (head done) or error. */
static int
httpreq_eol(struct httpreq *r)
{
	size_t	start = r->line, n = r->len - r->line;
	int	rc;

	if (r->state == HTTPREQ_START)
		return 0;	/* RFC 9112 2.2: empty lines before it */
	if (r->state == HTTPREQ_FIELDS && n == 0) {
		/* RFC 9112 3.2 */
		if (r->version == 11 && r->nhost == 0)
			return httpreq_bad(r, "HTTP/1.1 request has no Host "
			    "header");
		httpreq_join(r);
		r->state = HTTPREQ_DONE;
		return 1;
	}
	httpreq_append(r, '\0');
	r->line = r->len;
	if (r->state == HTTPREQ_RLINE) {
		r->state = HTTPREQ_FIELDS;
		rc = httpreq_request_line(r, r->buf + start, n);
	} else
		rc = httpreq_field_line(r, r->buf + start, n);
	return rc;
}

/* One byte of the head. @return 0, 1 when it ended the head, or error. */
static int
httpreq_byte(struct httpreq *r, unsigned char c)
{
	if (++r->total > r->max)
		return httpreq_fail(r, HTTPREQ_ETOOBIG,
		    "request head is larger than the limit");
	if (r->cr && c != '\n')
		return httpreq_bad(r, "CR not followed by LF");
	r->cr = c == '\r';
	if (c == '\n')
		return httpreq_eol(r);
	if (c == '\r')
		return 0;
	if (r->state == HTTPREQ_START)
		r->state = HTTPREQ_RLINE;
	if (r->state == HTTPREQ_RLINE) {
		if (c == '\t')
			return httpreq_bad(r, "request line has a tab");
		if (c < 0x20 || c == 0x7f)
			return httpreq_bad(r, "request line has a control "
			    "byte");
		if (c >= 0x80)
			return httpreq_bad(r, "request line has a non-ASCII "
			    "byte");
	} else {
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return httpreq_bad(r, "header line has a control byte");
		/* RFC 9112 5.2 obs-fold; 2.2 whitespace after the start line */
		if (r->len == r->line && (c == ' ' || c == '\t'))
			return httpreq_bad(r, "header line starts with "
			    "whitespace (obs-fold)");
	}
	httpreq_append(r, (char)c);
	return 0;
}

int
httpreq_feed(struct httpreq *r, const uint8_t *data, size_t len,
    size_t *used)
{
	size_t	i;
	int	rc;

	if (r->state == HTTPREQ_FAILED)
		return r->err;
	if (r->state == HTTPREQ_DONE) {
		*used = 0;
		return 1;
	}
	for (i = 0; i < len; i++) {
		if ((rc = httpreq_byte(r, data[i])) == 0)
			continue;
		if (rc == 1)
			*used = i + 1;
		return rc;
	}
	return 0;
}

int
httpreq_status(int err)
{
	return err == HTTPREQ_EBAD ? 400 : err == HTTPREQ_ETOOBIG ? 431 :
	    err == HTTPREQ_EVERSION ? 505 : 500;
}

const char *
httpreq_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case HTTPREQ_EBAD:
		return "malformed HTTP request";
	case HTTPREQ_ETOOBIG:
		return "HTTP request head too large";
	case HTTPREQ_EVERSION:
		return "HTTP version not supported";
	default:
		if (err < 0 && err > -1000)
			return strerror(-err);
		return "unknown httpreq error";
	}
}

const char *
httpreq_error_detail(const struct httpreq *r)
{
	return r->detail;
}

const char *
httpreq_method(const struct httpreq *r)
{
	return r->state == HTTPREQ_DONE ? r->buf + r->method : NULL;
}

const char *
httpreq_target(const struct httpreq *r)
{
	return r->state == HTTPREQ_DONE ? r->buf + r->target : NULL;
}

const char *
httpreq_path(const struct httpreq *r)
{
	return r->state == HTTPREQ_DONE ? r->pq : NULL;
}

const char *
httpreq_query(const struct httpreq *r)
{
	if (r->state != HTTPREQ_DONE || r->query == 0)
		return NULL;
	return r->pq + r->query;
}

int
httpreq_version(const struct httpreq *r)
{
	return r->state == HTTPREQ_DONE ? r->version : 0;
}

const char *
httpreq_header(const struct httpreq *r, const char *name)
{
	const struct httpreq_field	*f;
	size_t				 i;

	if (r->state != HTTPREQ_DONE)
		return NULL;
	for (i = 0; i < r->nfields; i++) {
		f = &r->fields[i];
		if (strcasecmp(r->buf + f->name, name) == 0)
			return f->joined != 0 ? r->join + f->joined - 1 :
			    r->buf + f->value;
	}
	return NULL;
}

size_t
httpreq_nheaders(const struct httpreq *r)
{
	return r->state == HTTPREQ_DONE ? r->nfields : 0;
}

void
httpreq_header_at(const struct httpreq *r, size_t i, const char **name,
    const char **value)
{
	*name = *value = NULL;
	if (i < httpreq_nheaders(r)) {
		*name = r->buf + r->fields[i].name;
		*value = r->buf + r->fields[i].value;
	}
}

int
httpreq_has_token(const struct httpreq *r, const char *name,
    const char *token)
{
	const char	*v = httpreq_header(r, name), *e;
	size_t		 tlen = strlen(token), n;

	if (v == NULL || tlen == 0)
		return 0;
	while (*v != '\0') {
		v += strspn(v, " \t");
		n = strcspn(v, ",");
		for (e = v + n; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		if ((size_t)(e - v) == tlen && strncasecmp(v, token, tlen) == 0)
			return 1;
		v += n;
		if (*v == ',')
			v++;
	}
	return 0;
}

static int
httpreq_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int
httpreq_decode(const char *src, char *out, size_t size)
{
	size_t	j = 0;
	int	hi, lo, c, err = 0;

	for (; err == 0 && *src != '\0'; src++) {
		c = (unsigned char)*src;
		/* %00 would cut the path short where the router reads it. */
		if (c == '%' && ((hi = httpreq_hex(src[1])) < 0 ||
		    (lo = httpreq_hex(src[2])) < 0 || (c = hi << 4 | lo) == 0))
			err = -EINVAL;
		else if (j + 1 >= size)
			err = -ENAMETOOLONG;
		else {
			out[j++] = (char)c;
			src += *src == '%' ? 2 : 0;
		}
	}
	if (err == 0 && size == 0)
		err = -ENAMETOOLONG;
	if (size > 0)
		out[err == 0 ? j : 0] = '\0';
	return err;
}
