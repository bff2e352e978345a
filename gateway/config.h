/*
 * config: the gateway's settings, filled once from the command line and
 * read-only afterwards. Defaults make "torpor-gateway" with no option
 * serve the reference app.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "log.h"
#include "store.h"

struct config {
	/* --listen HOST:PORT */
	char		*listen_host;		/* "127.0.0.1" */
	int		 listen_port;		/* 8788 */
	char		*listen_unix;		/* --listen unix:PATH, or NULL */
	/* --trust-proxy ADDR, repeatable: peers whose X-Real-IP or
	 * X-Forwarded-For is believed; "unix" trusts unix-socket peers */
	char		**trusted_proxies;
	size_t		 ntrusted_proxies;
	/* --handler-addr unix:PATH|tcp:HOST:PORT: external mode, or NULL */
	char		*handler_addr;
	char		*user;			/* --user NAME: handlers run as */
	/* --handler-param NAME=VALUE, repeatable: fixed params per request */
	char		**handler_params;
	size_t		 nhandler_params;
	int		 handler_conns;		/* --handler-conns, 4 */
	/* --route, repeatable; default "/websocket=test-room" */
	char		**routes;
	size_t		 nroutes;
	/* --handler PATH [ARGS...]: argv for spawned handlers, NULL-terminated */
	char		**handler_argv;
	/* --handlers MIN:MAX */
	int		 handlers_min;		/* 0 */
	int		 handlers_max;		/* 2 */
	int		 idle_timeout_ms;	/* --idle-timeout SECONDS, 30 s */
	int		 event_timeout_ms;	/* --event-timeout SECONDS, 30 s */
	int		 stderr_fails;		/* --handler-stderr fail|log, fail */
	int		 reload_timeout_ms;	/* --reload-timeout SECONDS, 10 s */
	int		 reload;		/* --reload: signal a running gateway */
	char		*run_dir;		/* --run-dir */
	char		*store_dir;		/* --store */
	char		*static_dir;		/* --static; NULL: no files */
	enum store_durability durability;	/* --durability, none */
	enum log_level	 log_level;		/* --log-level, info */
	enum log_format	 log_format;		/* --log-format, text */
	/* --admin-allow ADDR, repeatable: who may read /metrics and /status */
	char		**admin_allow;
	size_t		 nadmin_allow;
	/* limits */
	size_t		 max_message;		/* --max-message BYTES, 1 MiB */
	size_t		 max_attachment;	/* --max-attachment BYTES, 16 KiB */
	size_t		 max_name;		/* --max-object-name BYTES, 128 */
	size_t		 send_queue_max;	/* --send-queue BYTES, 4 MiB */
	int		 send_timeout_ms;	/* --send-timeout SECONDS, 60 s */
	size_t		 object_queue_max;	/* --object-queue EVENTS, 1024 */
	size_t		 max_response;		/* --max-response BYTES, 16 MiB */
	int		 max_connections;	/* --max-connections, 100000 */
	int		 max_per_ip;		/* --max-connections-per-ip, 1000 */
	int		 max_handshakes;	/* --max-handshakes, 10000 */
	char		**origins;		/* --allow-origin, repeatable */
	size_t		 norigins;		/* 0: any origin */
	char		**subprotocols;		/* --subprotocol, repeatable */
	size_t		 nsubprotocols;
	int		 handshake_timeout_ms;	/* --handshake-timeout, 10 s */
	size_t		 max_header;		/* --max-header-bytes, 4096 */
	size_t		 max_tags;		/* --max-tags, 10 */
	size_t		 max_tag_len;		/* --max-tag-bytes, 256 */
	int		 alarm_retries;		/* --alarm-retries, 6 */
	/* Set when the handler or static dir came from the built-in defaults. */
	int		 default_app;
};

/*
 * Fills cfg from argv. Returns 0 to run, 1 when --help or --version was
 * printed (exit 0), or -EINVAL after printing the reason to stderr.
 */
int	config_parse(struct config *cfg, int argc, char **argv);
/* Frees what config_parse allocated; safe to call twice. */
void	config_free(struct config *cfg);
void	config_usage(FILE *fp);

#endif
