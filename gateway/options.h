/*
 * options: the syntax of torpor-gateway's option values - sizes with a
 * K, M or G suffix, durations in seconds with up to 3 decimals, plain
 * counts, and a numeric HOST:PORT - parsed strictly and written back the
 * way a user would type them. Pure: no I/O and no struct config; config.c
 * owns the option table, the ranges and the error messages.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdint.h>

/* The kinds of numeric value; each has one syntax and one unit. */
enum options_kind {
	OPTIONS_OTHER,		/* not a number: its option parses itself */
	OPTIONS_BYTES,		/* integer, optional K/M/G (binary) suffix */
	OPTIONS_COUNT,		/* plain integer */
	OPTIONS_SECONDS,	/* seconds, at most 3 decimals, kept in ms */
};

#define OPTIONS_KIB	((uint64_t)1 << 10)
#define OPTIONS_MIB	((uint64_t)1 << 20)
#define OPTIONS_GIB	((uint64_t)1 << 30)

/*
 * Reads the decimal digits at *sp (no sign, space or base prefix) and
 * advances *sp past them. @return 0; -EINVAL when *sp starts with no
 * digit; -ERANGE past UINT64_MAX. *out is written on success only.
 */
int	options_digits(const char **sp, uint64_t *out);
/*
 * Parses all of s as kind into *out: bytes, a count, or ms for
 * OPTIONS_SECONDS. @return 0; -EINVAL when s does not have the kind's
 * syntax (finer than 1 ms, for seconds); -ERANGE past UINT64_MAX.
 */
int	options_parse(enum options_kind kind, const char *s, uint64_t *out);
/*
 * Writes v the way a user would type it ("16K", "1M", "0.5", "100") into
 * out, truncated to size.
 */
void	options_format(char *out, size_t size, enum options_kind kind,
	    uint64_t v);
/* @return what a value of kind looks like, for error messages; static. */
const char *options_kind_form(enum options_kind kind);
/*
 * Parses "IPV4:PORT" or "[IPV6]:PORT", the address numeric and the port
 * 1 to 65535. The address goes to host (size bytes, INET6_ADDRSTRLEN is
 * enough), without brackets. @return 0 or -EINVAL; *port is written on
 * success only, host may be written either way.
 */
int	options_parse_listen(const char *arg, char *host, size_t size,
	    int *port);

#endif
