/*
 * jsonscan: JSON text the way JavaScript reads and writes it, for
 * pingpong, whose clients must not tell it from the JavaScript original.
 * cJSON accepts more than JSON.parse (trailing garbage, for one), so
 * incoming text is checked here against JSON.parse's strict grammar, and
 * the two strings pingpong reads are found without building a tree.
 * Escapes are undone as JSON.parse does and redone as JSON.stringify
 * does, lone surrogates included, so an echo round-trips like the
 * original's. Pure: no I/O, no torpor calls; payloads are handled by
 * length, since they may carry NULs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"

/*
 * JSON's short escapes: the letter after the backslash and what it stands
 * for. JSON.stringify uses all but the last, which only JSON.parse reads.
 */
static const char jsonscan_esc_letter[] = "\"\\bfnrt/";
static const char jsonscan_esc_value[] = "\"\\\b\f\n\r\t/";
#define JSONSCAN_ESC_WRITTEN	7

/* A cursor over a text being validated, with its open containers. */
struct jsonscan {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	char		*stack;		/* '{' or '[' per open container */
	size_t		 depth;
	size_t		 cap;
};

static int
jsonscan_peek(const struct jsonscan *sc)
{
	return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static void
jsonscan_ws(struct jsonscan *sc)
{
	int	c;

	while ((c = jsonscan_peek(sc)) == ' ' || c == '\t' || c == '\n' ||
	    c == '\r')
		sc->pos++;
}

static int
jsonscan_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t
jsonscan_digits(struct jsonscan *sc)
{
	size_t	n = 0;
	int	c;

	while ((c = jsonscan_peek(sc)) >= '0' && c <= '9') {
		sc->pos++;
		n++;
	}
	return n;
}

/* Steps over a string; control characters must be escaped, as in JSON. */
static int
jsonscan_string(struct jsonscan *sc, struct jsonscan_token *tok)
{
	size_t	start = sc->pos, k;
	int	c;

	sc->pos++;
	for (;;) {
		if ((c = jsonscan_peek(sc)) < 0x20)
			return -1;
		sc->pos++;
		if (c == '"')
			break;
		if (c != '\\')
			continue;
		c = jsonscan_peek(sc);
		sc->pos++;
		if (c == 'u') {
			for (k = 0; k < 4; k++, sc->pos++) {
				if (jsonscan_hex_value(jsonscan_peek(sc)) < 0)
					return -1;
			}
		} else if (c <= 0 || strchr(jsonscan_esc_letter, c) == NULL)
			return -1;
	}
	tok->raw = sc->s + start;
	tok->len = sc->pos - start;
	return 0;
}

/* JSON's number grammar: no leading zeros, '+', bare '.' or hex. */
static int
jsonscan_number(struct jsonscan *sc)
{
	int	c;

	if (jsonscan_peek(sc) == '-')
		sc->pos++;
	if (jsonscan_peek(sc) == '0')
		sc->pos++;
	else if (jsonscan_digits(sc) == 0)
		return -1;
	if (jsonscan_peek(sc) == '.') {
		sc->pos++;
		if (jsonscan_digits(sc) == 0)
			return -1;
	}
	if ((c = jsonscan_peek(sc)) == 'e' || c == 'E') {
		sc->pos++;
		if ((c = jsonscan_peek(sc)) == '+' || c == '-')
			sc->pos++;
		if (jsonscan_digits(sc) == 0)
			return -1;
	}
	return 0;
}

static int
jsonscan_literal(struct jsonscan *sc)
{
	static const char	*words[] = { "true", "false", "null" };
	size_t			 i, n;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		n = strlen(words[i]);
		if (sc->len - sc->pos >= n &&
		    memcmp(sc->s + sc->pos, words[i], n) == 0) {
			sc->pos += n;
			return 0;
		}
	}
	return -1;
}

static int
jsonscan_push(struct jsonscan *sc, char kind)
{
	char	*p;
	size_t	 cap;

	if (sc->depth == sc->cap) {
		cap = sc->cap == 0 ? 32 : sc->cap * 2;
		if ((p = realloc(sc->stack, cap)) == NULL)
			return -ENOMEM;
		sc->stack = p;
		sc->cap = cap;
	}
	sc->stack[sc->depth++] = kind;
	return 0;
}

/* Appends code point cp as UTF-8; a lone surrogate gets three bytes too. */
static size_t
jsonscan_utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static unsigned long
jsonscan_hex4(const char *p)
{
	unsigned long	v = 0;
	int		i;

	for (i = 0; i < 4; i++)
		v = v << 4 |
		    (unsigned long)jsonscan_hex_value((unsigned char)p[i]);
	return v;
}

/*
 * Decodes a token jsonscan_string accepted into out, which needs tok->len
 * bytes at most (no escape grows). Surrogate pairs are joined as
 * JSON.parse joins them; unpaired ones are kept for jsonscan_quote.
 */
size_t
jsonscan_decode(const struct jsonscan_token *tok, char *out)
{
	const char	*p = tok->raw + 1, *end = tok->raw + tok->len - 1, *q;
	size_t		 n = 0;
	unsigned long	 cp, low;

	while (p < end) {
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		p += 2;
		if (p[-1] != 'u') {
			q = strchr(jsonscan_esc_letter, p[-1]);
			out[n++] = jsonscan_esc_value[q - jsonscan_esc_letter];
			continue;
		}
		cp = jsonscan_hex4(p);
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u' &&
		    (low = jsonscan_hex4(p + 2)) >= 0xdc00 && low <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
			p += 6;
		}
		n += jsonscan_utf8_put(out + n, cp);
	}
	return n;
}

/* Whether a string token decodes to word; words here are short. */
int
jsonscan_is(const struct jsonscan_token *tok, const char *word)
{
	char	buf[64];
	size_t	n;

	if (tok->raw == NULL || tok->len > sizeof buf)
		return 0;
	n = jsonscan_decode(tok, buf);
	return n == strlen(word) && memcmp(buf, word, n) == 0;
}

/*
 * Steps over an object member's key and colon. At the top level, points
 * *want at the slot its value goes to, if the key is one we read; a later
 * duplicate key replaces an earlier one, as in JavaScript.
 */
static int
jsonscan_member(struct jsonscan *sc, struct jsonscan_request *rq,
    struct jsonscan_token **want)
{
	struct jsonscan_token	key;

	*want = NULL;
	if (jsonscan_peek(sc) != '"' || jsonscan_string(sc, &key) != 0)
		return -1;
	jsonscan_ws(sc);
	if (jsonscan_peek(sc) != ':')
		return -1;
	sc->pos++;
	jsonscan_ws(sc);
	if (sc->depth != 1)
		return 0;
	if (jsonscan_is(&key, "type"))
		*want = &rq->type;
	else if (jsonscan_is(&key, "message"))
		*want = &rq->message;
	if (*want != NULL)
		(*want)->raw = NULL;
	return 0;
}

/* After a value: a comma and maybe a key, closing brackets, or the end. */
static int
jsonscan_after(struct jsonscan *sc, struct jsonscan_request *rq,
    struct jsonscan_token **want, int *done)
{
	int	c, kind;

	for (;;) {
		jsonscan_ws(sc);
		if (sc->depth == 0) {
			*done = 1;
			return sc->pos == sc->len ? 0 : -1;
		}
		c = jsonscan_peek(sc);
		kind = sc->stack[sc->depth - 1];
		if (c == ',') {
			sc->pos++;
			jsonscan_ws(sc);
			return kind == '{' ? jsonscan_member(sc, rq, want) : 0;
		}
		if (c != (kind == '{' ? '}' : ']'))
			return -1;
		sc->pos++;
		sc->depth--;
	}
}

/*
 * Checks that text is one JSON value as JSON.parse accepts it and, if it
 * is an object, finds its top-level "type" and "message". Iterative, so
 * a megabyte of '[' cannot exhaust the stack. Returns 0 when the text is
 * JSON, -1 when not, -ENOMEM.
 */
int
jsonscan_parse(const char *text, size_t len, struct jsonscan_request *rq)
{
	struct jsonscan		 sc = { text, len, 0, NULL, 0, 0 };
	struct jsonscan_token	 tok, *want = NULL;
	int			 c, rc = -1, done = 0;

	memset(rq, 0, sizeof *rq);
	jsonscan_ws(&sc);
	rq->object = jsonscan_peek(&sc) == '{';
	while (!done) {
		c = jsonscan_peek(&sc);
		if (c == '{' || c == '[') {
			/* A container is no string for the member it is in. */
			want = NULL;
			if ((rc = jsonscan_push(&sc, (char)c)) != 0)
				goto out;
			rc = -1;
			sc.pos++;
			jsonscan_ws(&sc);
			if (jsonscan_peek(&sc) != (c == '{' ? '}' : ']')) {
				if (c == '{' &&
				    jsonscan_member(&sc, rq, &want) != 0)
					goto out;
				continue;
			}
			sc.pos++;
			sc.depth--;
		} else if (c == '"') {
			if (jsonscan_string(&sc, &tok) != 0)
				goto out;
			if (want != NULL)
				*want = tok;
		} else if (c == 't' || c == 'f' || c == 'n') {
			if (jsonscan_literal(&sc) != 0)
				goto out;
		} else if (jsonscan_number(&sc) != 0)
			goto out;
		want = NULL;
		if (jsonscan_after(&sc, rq, &want, &done) != 0)
			goto out;
	}
	rc = 0;
out:
	free(sc.stack);
	return rc;
}

/*
 * Quotes a string the way JSON.stringify does: short escapes, \u00xx for
 * other control characters (NUL included), \uxxxx for a lone surrogate
 * (three bytes from jsonscan_decode), every other byte as is. Returns a
 * NUL-terminated string to free, or NULL when out of memory.
 */
char *
jsonscan_quote(const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	const char		*q;
	char			*out, *o;
	unsigned int		 cp;
	size_t			 i;

	if (len > (SIZE_MAX - 3) / 6 || (out = malloc(len * 6 + 3)) == NULL)
		return NULL;
	o = out;
	*o++ = '"';
	for (i = 0; i < len; i++) {
		cp = p[i];
		if (cp == 0xed && i + 2 < len && p[i + 1] >= 0xa0) {
			cp = 0xd000u | (p[i + 1] & 0x3fu) << 6 |
			    (p[i + 2] & 0x3fu);
			i += 2;
		} else if (cp >= 0x20 && cp != '"' && cp != '\\') {
			*o++ = (char)cp;
			continue;
		}
		*o++ = '\\';
		if (cp < 0x80 && (q = memchr(jsonscan_esc_value, (int)cp,
		    JSONSCAN_ESC_WRITTEN)) != NULL) {
			*o++ = jsonscan_esc_letter[q - jsonscan_esc_value];
			continue;
		}
		*o++ = 'u';
		*o++ = hex[cp >> 12 & 0xf];
		*o++ = hex[cp >> 8 & 0xf];
		*o++ = hex[cp >> 4 & 0xf];
		*o++ = hex[cp & 0xf];
	}
	*o++ = '"';
	*o = '\0';
	return out;
}
