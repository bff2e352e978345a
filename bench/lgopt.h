/*
 * lgopt: the load generator's configuration, filled once from the command
 * line (including the target URL, resolved and checked to be loopback) and
 * read-only afterwards.
 */
#ifndef LGOPT_H
#define LGOPT_H

#include <stddef.h>
#include <sys/socket.h>

enum lg_mode { MODE_CLOSED, MODE_IDLE, MODE_CONNECT, MODE_WAKE };

struct lgopt {
	enum lg_mode		 mode;
	long			 conns;		/* closed, idle */
	long			 parallel;	/* connect */
	long			 rounds;	/* wake */
	long			 pending;	/* handshakes in flight, setup */
	long			 objects;	/* 0: one path; else %d in it */
	double			 rate;		/* connections opened per second */
	double			 duration;	/* closed, connect */
	double			 warmup;	/* closed, connect */
	double			 hold;		/* idle */
	double			 timeout;	/* any single wait */
	const char		*message;
	size_t			 message_len;
	const char		*expect;	/* NULL: any reply counts */
	int			 self_test;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 hostport[300];	/* Host header */
	char			 path[1024];	/* with --objects, a template */
	size_t			 path_hole;	/* where its %d is */
};

/*
 * Fills o from argv. @return 0 to run; 1 when --help was printed (exit 0);
 * -1 after printing a usage error to stderr (exit 2).
 */
int	 lgopt_parse(struct lgopt *o, int argc, char **argv);

/*
 * Writes the request path of connection i into buf (cap bytes): the URL's
 * path, or with --objects its %d replaced by i % objects, so connection i
 * goes to object i % objects. @return 0, or -1 if cap is too small.
 */
int	 lgopt_path(const struct lgopt *o, size_t i, char *buf, size_t cap);

#endif
