/*
 * xmalloc: allocation wrappers for the gateway. Out of memory cannot be
 * handled sensibly in the middle of an event loop, so every wrapper either
 * returns memory or prints one line and aborts (a core dump is more useful
 * than a half-applied response). This file does not use the log module:
 * it is linked into unit tests that have no logger, and logging may itself
 * need memory.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

static void __attribute__((noreturn))
xmalloc_die(const char *func, size_t size)
{
	char	line[128];
	int	n;

	/* snprintf and write do not allocate, unlike fprintf on some libcs. */
	n = snprintf(line, sizeof line, "%s: out of memory (%zu bytes)\n",
	    func, size);
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
		    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	abort();
}

void *
xmalloc(size_t size)
{
	void	*p;

	/* malloc(0) may return NULL, which would look like a failure. */
	p = malloc(size ? size : 1);
	if (p == NULL)
		xmalloc_die(__func__, size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (nmemb > SIZE_MAX / size)
		xmalloc_die(__func__, SIZE_MAX);
	p = calloc(nmemb, size);
	if (p == NULL)
		xmalloc_die(__func__, nmemb * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void	*p;

	/* realloc(p, 0) frees p and may return NULL: never ask for that. */
	p = realloc(ptr, size ? size : 1);
	if (p == NULL)
		xmalloc_die(__func__, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	n = strnlen(s, n);
	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
xmemdup(const void *p, size_t n)
{
	void	*q;

	q = xmalloc(n);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		xmalloc_die(__func__, 0);
	return n;
}
