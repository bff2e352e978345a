/*
 * control: how a running gateway and "torpor-gateway --reload" find each
 * other through the run dir: a pid file (which also stops a second
 * gateway from using the same run dir) and a reload status file that the
 * gateway rewrites after each reload, atomically (write + rename).
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>

/*
 * Writes RUN_DIR/torpor.pid. Returns 0, -EEXIST (and *other) when a live
 * gateway already holds it, or -errno.
 */
int	control_pidfile_create(const char *run_dir, pid_t *other);
void	control_pidfile_remove(const char *run_dir);

/*
 * Records the outcome of reload number seq: ok (1/0), the generation and
 * a message. Returns 0 or -errno.
 */
int	control_status_write(const char *run_dir, unsigned long seq, int ok,
	    unsigned int gen, const char *message);

/*
 * The --reload client: signals the gateway of run_dir with SIGHUP and
 * waits up to timeout_ms for its verdict, printed to stdout (success) or
 * stderr (failure). Returns the exit status: 0 on success, 1 otherwise.
 */
int	control_reload(const char *run_dir, int timeout_ms);

#endif
