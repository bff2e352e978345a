/*
 * control: pid file and reload status file in the run dir. The status
 * file holds one line, "SEQ ok|failed GEN MESSAGE": the client reads SEQ
 * before it signals and waits for a larger one, so it never mistakes an
 * older reload's verdict for its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "xmalloc.h"

#define PIDFILE		"torpor.pid"
#define STATUSFILE	"reload.status"

static int
control_read_pid(const char *run_dir, pid_t *pid)
{
	char	*path, line[32];
	FILE	*fp;
	long	 v;
	int	 rc = -ENOENT;

	xasprintf(&path, "%s/%s", run_dir, PIDFILE);
	fp = fopen(path, "r");
	free(path);
	if (fp == NULL)
		return -errno;
	if (fgets(line, sizeof line, fp) != NULL && (v = atol(line)) > 0) {
		*pid = (pid_t)v;
		rc = 0;
	}
	fclose(fp);
	return rc;
}

/* A pid that is alive and is a torpor-gateway (not a recycled pid). */
static int
control_is_gateway(pid_t pid)
{
	char	 path[64], comm[64];
	FILE	*fp;
	int	 yes = 0;

	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(comm, sizeof comm, fp) != NULL)
		yes = strncmp(comm, "torpor-gateway", 14) == 0 ||
		    strncmp(comm, "lt-torpor-gatew", 15) == 0;
	fclose(fp);
	return yes;
}

static int
control_write_file(const char *run_dir, const char *name, const char *text)
{
	char	*tmp, *path;
	int	 fd, rc = 0;
	size_t	 len = strlen(text);

	xasprintf(&tmp, "%s/.%s.tmp", run_dir, name);
	xasprintf(&path, "%s/%s", run_dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

int
control_pidfile_create(const char *run_dir, pid_t *other)
{
	char	line[32];
	pid_t	pid;

	if (control_read_pid(run_dir, &pid) == 0 && pid != getpid() &&
	    control_is_gateway(pid)) {
		*other = pid;
		return -EEXIST;
	}
	snprintf(line, sizeof line, "%ld\n", (long)getpid());
	return control_write_file(run_dir, PIDFILE, line);
}

void
control_pidfile_remove(const char *run_dir)
{
	char	*path;
	pid_t	 pid;

	if (control_read_pid(run_dir, &pid) != 0 || pid != getpid())
		return;
	xasprintf(&path, "%s/%s", run_dir, PIDFILE);
	unlink(path);
	free(path);
}

int
control_status_write(const char *run_dir, unsigned long seq, int ok,
    unsigned int gen, const char *message)
{
	char	*line;
	int	 rc;

	xasprintf(&line, "%lu %s %u %s\n", seq, ok ? "ok" : "failed", gen,
	    message);
	rc = control_write_file(run_dir, STATUSFILE, line);
	free(line);
	return rc;
}

/* Reads the status line; *seq = 0 when there is none yet. */
static void
control_status_read(const char *run_dir, unsigned long *seq, char *line,
    size_t size)
{
	char	*path;
	FILE	*fp;

	*seq = 0;
	line[0] = '\0';
	xasprintf(&path, "%s/%s", run_dir, STATUSFILE);
	fp = fopen(path, "r");
	free(path);
	if (fp == NULL)
		return;
	if (fgets(line, (int)size, fp) != NULL)
		*seq = strtoul(line, NULL, 10);
	fclose(fp);
}

int
control_reload(const char *run_dir, int timeout_ms)
{
	struct timespec	 pause = { 0, 20 * 1000 * 1000 };
	unsigned long	 before, now = 0;
	char		 line[1024], *verdict;
	pid_t		 pid;
	int		 waited;

	if (control_read_pid(run_dir, &pid) != 0 || !control_is_gateway(pid)) {
		fprintf(stderr, "torpor-gateway: --reload: no running gateway "
		    "uses run dir %s\n", run_dir);
		return 1;
	}
	control_status_read(run_dir, &before, line, sizeof line);
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "torpor-gateway: --reload: cannot signal pid "
		    "%ld: %s\n", (long)pid, strerror(errno));
		return 1;
	}
	/* a CLI waiting on a file: polling with a deadline blocks nobody */
	for (waited = 0; waited < timeout_ms; waited += 20) {
		control_status_read(run_dir, &now, line, sizeof line);
		if (now > before)
			break;
		nanosleep(&pause, NULL);
	}
	if (now <= before) {
		fprintf(stderr, "torpor-gateway: --reload: no verdict from pid "
		    "%ld within %d ms\n", (long)pid, timeout_ms);
		return 1;
	}
	line[strcspn(line, "\n")] = '\0';
	verdict = strchr(line, ' ');
	verdict = verdict != NULL ? verdict + 1 : line;
	if (strncmp(verdict, "ok ", 3) == 0) {
		printf("torpor-gateway: reload: %s\n", verdict);
		return 0;
	}
	fprintf(stderr, "torpor-gateway: reload: %s\n", verdict);
	return 1;
}
