/*
 * log: the gateway's logger. Every line is, in the text format,
 *   ts=2026-11-28T19:44:58.123Z level=info func=pool_spawn msg="..."
 * or, with --log-format json, the same four fields as one JSON object, on
 * stderr, built in memory and written with a single write(2), so lines
 * from the loop and the alarm and sync threads never interleave. The
 * message is escaped (quotes, backslashes, control bytes): text from
 * handlers and clients ends up here, and one event must stay one line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The allowed globals: set once before threads start, then only read. */
static enum log_level log_threshold = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};


/* Lines are short; longer ones go to the heap. */
#define LOG_STACK_LINE	1024

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
log_set_format(enum log_format format)
{
	log_fmt = format;
}

int
log_parse_format(const char *s, enum log_format *out)
{
	if (strcasecmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcasecmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

/* Writes all of p, retrying after signals; there is nowhere to report. */
static void
log_output(const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(STDERR_FILENO, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Formats one line and writes it; tag is the level column. */
static void __attribute__((format(printf, 3, 0)))
log_vline(const char *tag, const char *func, const char *fmt, va_list ap)
{
	char		 stack_msg[LOG_STACK_LINE], stack_line[LOG_STACK_LINE];
	char		*msg = stack_msg, *line = stack_line, *heap = NULL;
	char		 stamp[64];
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap2;
	size_t		 msglen, need, n, i;
	int		 len, saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);

	/* Callers may log strerror(errno) after us: keep errno intact. */
	va_copy(ap2, ap);
	len = vsnprintf(stack_msg, sizeof stack_msg, fmt, ap);
	if (len < 0) {
		len = 0;
		stack_msg[0] = '\0';
	} else if ((size_t)len >= sizeof stack_msg) {
		heap = malloc((size_t)len + 1);
		if (heap != NULL) {
			vsnprintf(heap, (size_t)len + 1, fmt, ap2);
			msg = heap;
		} else
			len = sizeof stack_msg - 1;
	}
	va_end(ap2);
	msglen = (size_t)len;

	/* Worst case every message byte becomes "\u00NN". */
	need = strlen(stamp) + strlen(tag) + strlen(func) + 6 * msglen + 64;
	if (need > sizeof stack_line) {
		line = malloc(need);
		if (line == NULL) {
			line = stack_line;
			need = sizeof stack_line;
			if (msglen > (need - 200) / 6)
				msglen = (need - 200) / 6;
		}
	}
	if (log_fmt == LOG_FORMAT_JSON)
		len = snprintf(line, need, "{\"ts\":\"%s\",\"level\":\"%s\","
		    "\"func\":\"%s\",\"msg\":\"", stamp, tag, func);
	else
		len = snprintf(line, need, "ts=%s level=%s func=%s msg=\"",
		    stamp, tag, func);
	n = len < 0 ? 0 : (size_t)len;
	/* Only an absurd function name can overflow the fallback line. */
	if (n > need - 10)
		n = need - 10;
	for (i = 0; i < msglen && n + 9 < need; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c == '"' || c == '\\') {
			line[n++] = '\\';
			line[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			if (log_fmt == LOG_FORMAT_JSON)
				n += (size_t)snprintf(line + n, need - n,
				    "\\u%04x", c);
			else
				n += (size_t)snprintf(line + n, need - n,
				    "\\x%02x", c);
		} else
			line[n++] = (char)c;
	}
	line[n++] = '"';
	if (log_fmt == LOG_FORMAT_JSON)
		line[n++] = '}';
	line[n++] = '\n';
	log_output(line, n);

	if (line != stack_line)
		free(line);
	free(heap);
	errno = saved;
}

void
log_write(enum log_level level, const char *func, const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(level))
		return;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	va_start(ap, fmt);
	log_vline(log_names[level], func, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *func, const char *fmt, ...)
{
	va_list	ap;

	/* Fatal lines ignore the threshold: they explain the exit. */
	va_start(ap, fmt);
	log_vline("fatal", func, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}
