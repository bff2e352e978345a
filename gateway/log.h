/*
 * log: the gateway's only logger. Lines go to stderr in key=value form
 * (ts=... level=... func=... msg="...") or as JSON objects with the same
 * keys. Libraries (store, SDK) never log.
 */
#ifndef LOG_H
#define LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_format {
	LOG_FORMAT_TEXT,	/* ts=... level=... func=... msg="..." */
	LOG_FORMAT_JSON,	/* {"ts":...,"level":...,"func":...,"msg":...} */
};

/* Sets the line format. Call before threads start. */
void	log_set_format(enum log_format format);
/* Parses "text" or "json"; returns 0 or -EINVAL. */
int	log_parse_format(const char *s, enum log_format *out);
/* Sets the threshold; lines above it are dropped. Call before threads start. */
void	log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int	log_parse_level(const char *s, enum log_level *out);
int	log_enabled(enum log_level level);
void	log_write(enum log_level level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_fatal(const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __func__, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) \
	log_write(LOG_LEVEL_DEBUG, __func__, __VA_ARGS__); } while (0)
#define fatal(...) log_fatal(__func__, __VA_ARGS__)

#endif
