/*
 * options: what an option value may look like. config.c's table says
 * which kind each option takes and its range; this file knows the kinds'
 * syntax, shared by parsing, defaults shown in --help and error messages.
 * Strict on purpose: "-1", "0x10", "1.5K" or "1.0001" are refused rather
 * than wrapped, guessed at or rounded, so a typo fails at start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "options.h"

/* What a value of each kind looks like, for error messages. */
static const char *const options_kind_forms[] = {
	[OPTIONS_OTHER] = "",
	[OPTIONS_BYTES] = "a size (an integer, optionally with K, M or G)",
	[OPTIONS_COUNT] = "an integer",
	[OPTIONS_SECONDS] = "a duration (seconds, at most 3 decimals)",
};

/* Binary multiples: a size is memory, and 1K reads as 1024 here. */
static const struct {
	const char	*suffix;
	uint64_t	 mult;
} options_suffixes[] = {
	{ "", 1 },
	{ "K", OPTIONS_KIB }, { "KiB", OPTIONS_KIB },
	{ "M", OPTIONS_MIB }, { "MiB", OPTIONS_MIB },
	{ "G", OPTIONS_GIB }, { "GiB", OPTIONS_GIB },
};

/*
 * Decimal digits only: no sign, space or base prefix, so "-1" or "0x10"
 * are refused instead of wrapping. Advances *sp past the digits.
 */
int
options_digits(const char **sp, uint64_t *out)
{
	const char	*s = *sp;
	uint64_t	 v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

/* Seconds are kept in ms, so a fourth decimal is refused, not rounded. */
int
options_parse(enum options_kind kind, const char *s, uint64_t *out)
{
	uint64_t	 v, frac = 0, scale = 100;
	size_t		 i;
	int		 rc;

	if ((rc = options_digits(&s, &v)) != 0)
		return rc;
	switch (kind) {
	case OPTIONS_BYTES:
		for (i = 0; i < sizeof options_suffixes /
		    sizeof options_suffixes[0]; i++) {
			if (strcasecmp(s, options_suffixes[i].suffix) != 0)
				continue;
			if (v > UINT64_MAX / options_suffixes[i].mult)
				return -ERANGE;
			*out = v * options_suffixes[i].mult;
			return 0;
		}
		return -EINVAL;
	case OPTIONS_SECONDS:
		if (*s == '.') {
			if (s[1] < '0' || s[1] > '9')
				return -EINVAL;
			for (s++; *s >= '0' && *s <= '9'; s++) {
				if (scale == 0)
					return -EINVAL;	/* below 1 ms */
				frac += (uint64_t)(*s - '0') * scale;
				scale /= 10;
			}
		}
		if (*s != '\0')
			return -EINVAL;
		if (v > (UINT64_MAX - frac) / 1000)
			return -ERANGE;
		*out = v * 1000 + frac;
		return 0;
	default:
		if (*s != '\0')
			return -EINVAL;
		*out = v;
		return 0;
	}
}

/* The largest suffix that divides v, so --help shows "1M", not "1024K". */
void
options_format(char *out, size_t size, enum options_kind kind, uint64_t v)
{
	unsigned long long	u = (unsigned long long)v;

	if (kind == OPTIONS_BYTES && v != 0 && v % OPTIONS_GIB == 0)
		snprintf(out, size, "%lluG", u / OPTIONS_GIB);
	else if (kind == OPTIONS_BYTES && v != 0 && v % OPTIONS_MIB == 0)
		snprintf(out, size, "%lluM", u / OPTIONS_MIB);
	else if (kind == OPTIONS_BYTES && v != 0 && v % OPTIONS_KIB == 0)
		snprintf(out, size, "%lluK", u / OPTIONS_KIB);
	else if (kind == OPTIONS_SECONDS && v % 1000 != 0) {
		snprintf(out, size, "%llu.%03llu", u / 1000, u % 1000);
		/* "0.500" reads as more precise than it is. */
		while (out[strlen(out) - 1] == '0')
			out[strlen(out) - 1] = '\0';
	} else if (kind == OPTIONS_SECONDS)
		snprintf(out, size, "%llu", u / 1000);
	else
		snprintf(out, size, "%llu", u);
}

const char *
options_kind_form(enum options_kind kind)
{
	return options_kind_forms[kind];
}

/*
 * HOST must be numeric (inet_pton, no name lookup), so the listening
 * address is exactly what was asked.
 */
int
options_parse_listen(const char *arg, char *host, size_t size, int *port)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	const char	*start = arg, *end, *p;
	uint64_t	 v;
	int		 family = AF_INET;

	if (arg[0] == '[') {
		family = AF_INET6;
		start = arg + 1;
		end = strchr(start, ']');
		if (end == NULL || end[1] != ':')
			return -EINVAL;
		p = end + 2;
	} else {
		end = strrchr(arg, ':');
		if (end == NULL)
			return -EINVAL;
		p = end + 1;
	}
	if (end == start || (size_t)(end - start) >= size)
		return -EINVAL;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	if (inet_pton(family, host, addr) != 1)
		return -EINVAL;
	if (options_digits(&p, &v) != 0 || *p != '\0' || v < 1 || v > 65535)
		return -EINVAL;
	*port = (int)v;
	return 0;
}
