/*
 * lgconn: the load generator's connections. A set of n slots, each a
 * non-blocking WebSocket client socket in one epoll set: connect, upgrade
 * (checking the 101 and the accept hash), wait for the first message (the
 * server's welcome), then send the message under test and wait for its
 * reply, and finally close cleanly. What to do at each step is the
 * driver's business: the set reports welcomes, replies, failures and
 * input on an extra descriptor through hooks, and never allocates per
 * message.
 */
#ifndef LGCONN_H
#define LGCONN_H

#include <stddef.h>
#include <stdint.h>

#include "lgopt.h"
#include "wsproto.h"

enum lgconn_state {
	LGCONN_FREE,		/* no socket */
	LGCONN_CONNECTING,	/* TCP connect in progress */
	LGCONN_UPGRADING,	/* request sent, waiting for the 101 */
	LGCONN_WELCOME,		/* upgraded, waiting for the first message */
	LGCONN_READY,		/* welcomed, nothing in flight */
	LGCONN_WAITING,		/* a message sent, waiting for its reply */
	LGCONN_CLOSING		/* close frame sent, waiting for the server */
};

/*
 * Called from lgconn_poll and lgconn_scan. Times are ns on
 * CLOCK_MONOTONIC; since is when the step being reported started (connect
 * for welcomed, the send for replied). Hooks may call any lgconn function.
 */
struct lgconn_hooks {
	void	*arg;
	/* slot i is READY: its first message arrived */
	void	(*welcomed)(void *arg, size_t i, int64_t since, int64_t now);
	/* slot i is READY again: a message came while ours was in flight */
	void	(*replied)(void *arg, size_t i, const struct wsproto_event *ev,
		    int64_t since, int64_t now);
	/* slot i went wrong and is FREE again; why is for humans */
	void	(*failed)(void *arg, size_t i, const char *why);
	/* the descriptor given to lgconn_watch is readable */
	void	(*input)(void *arg);
};

struct lgconn_set;

/*
 * A set of n free slots for the target in o (which must outlive it).
 * @return NULL when out of memory or descriptors.
 */
struct lgconn_set	*lgconn_create(const struct lgopt *o, size_t n,
			    const struct lgconn_hooks *hooks);
/* Closes every socket and frees the set; accepts NULL. */
void			 lgconn_free(struct lgconn_set *s);

/*
 * Opens slot i (FREE) and starts connecting. @return 0, or -1 when no
 * socket could be made (errno set; the slot stays FREE). A refused or
 * failed connect is reported through the failed hook.
 */
int		 lgconn_start(struct lgconn_set *s, size_t i, int64_t now);
/* Sends the message under test on a READY slot: it becomes WAITING. */
void		 lgconn_message(struct lgconn_set *s, size_t i, int64_t now);
/* Sends a close frame (1000) on an open slot: it becomes CLOSING. */
void		 lgconn_bye(struct lgconn_set *s, size_t i, int64_t now);
/* Closes slot i at once; a CLOSING one counts as a close timeout. */
void		 lgconn_close(struct lgconn_set *s, size_t i);
enum lgconn_state lgconn_state(const struct lgconn_set *s, size_t i);

/* Slots connecting, upgrading or waiting for their welcome. */
size_t		 lgconn_pending(const struct lgconn_set *s);
/* Slots READY or WAITING. */
size_t		 lgconn_ready(const struct lgconn_set *s);
/* Slots not FREE. */
size_t		 lgconn_open(const struct lgconn_set *s);
/* Messages that came when none was expected; closes cut at the deadline. */
uint64_t	 lgconn_unsolicited(const struct lgconn_set *s);
uint64_t	 lgconn_close_timeouts(const struct lgconn_set *s);

/*
 * Adds fd (the driver's stdin) to the epoll set: readiness calls the input
 * hook. @return 0, or -errno (EPERM: fd cannot be polled, e.g. a regular
 * file or /dev/null).
 */
int		 lgconn_watch(struct lgconn_set *s, int fd);
void		 lgconn_unwatch(struct lgconn_set *s, int fd);

/*
 * Waits up to timeout_ms for socket events and handles them, calling the
 * hooks. @return 0, or -errno if epoll_wait failed (EINTR is not a
 * failure).
 */
int		 lgconn_poll(struct lgconn_set *s, int timeout_ms);
/*
 * Enforces deadlines: a slot connecting, upgrading, waiting for its
 * welcome or for a reply longer than timeout_ns fails; a CLOSING one is
 * closed and counted as a close timeout.
 */
void		 lgconn_scan(struct lgconn_set *s, int64_t now, int64_t timeout_ns);

/* Now, in ns on CLOCK_MONOTONIC. */
int64_t		 lgconn_now(void);

#endif
