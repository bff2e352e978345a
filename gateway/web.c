/*
 * web: plain HTTP answers on a raw socket (see web.h). Files are read in
 * pieces of WEB_PIECE bytes, one per WRITEABLE, so a large file costs a
 * bounded buffer and never holds the loop for long.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "outq.h"
#include "web.h"
#include "xmalloc.h"

#define WEB_PIECE	16384

struct web {
	struct outq	 out;
	int		 fd;		/* file being streamed, or -1 */
	off_t		 left;		/* its bytes still to read */
};

static const char *
web_status_text(unsigned int status)
{
	static const struct {
		unsigned int	 status;
		const char	*text;
	} texts[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 426, "Upgrade Required" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t	i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (texts[i].status == status)
			return texts[i].text;
	return "Unknown";
}

static struct web *
web_new(void)
{
	struct web	*w = xcalloc(1, sizeof *w);

	w->fd = -1;
	return w;
}

static void
web_head(struct web *w, unsigned int status, const char *ctype,
    size_t len, const char *const *extra)
{
	struct buf	h = BUF_INIT;
	size_t		i;

	buf_printf(&h, "HTTP/1.1 %u %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n", status,
	    web_status_text(status), ctype, len);
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		buf_printf(&h, "%s\r\n", extra[i]);
	buf_append_str(&h, "\r\n");
	outq_push_copy(&w->out, buf_head(&h), buf_size(&h));
	buf_free(&h);
}

struct web *
web_reply(unsigned int status, const char *ctype, const void *body,
    size_t len, const char *const *extra, int head_only)
{
	struct web	*w = web_new();

	web_head(w, status, ctype, len, extra);
	if (!head_only && len > 0)
		outq_push_copy(&w->out, body, len);
	return w;
}

struct web *
web_text(unsigned int status, const char *body, const char *const *extra)
{
	return web_reply(status, "text/plain", body, strlen(body), extra, 0);
}

static const char *
web_mime(const char *path)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
	};
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* A path that could leave root: a ".." segment, or a NUL decoded in. */
static int
web_path_ok(const char *path)
{
	const char	*p = path;

	if (*p != '/')
		return 0;
	while ((p = strstr(p, "/..")) != NULL) {
		if (p[3] == '\0' || p[3] == '/')
			return 0;
		p += 3;
	}
	return 1;
}

struct web *
web_file(const char *root, const char *method, const char *path,
    unsigned int *status)
{
	static const char *const allow[] = { "Allow: GET, HEAD", NULL };
	struct web	*w;
	struct stat	 st;
	char		 full[4096];
	int		 fd = -1, head = strcmp(method, "HEAD") == 0, n;

	if (!head && strcmp(method, "GET") != 0) {
		*status = 405;
		return web_text(405, "method not allowed\n", allow);
	}
	n = snprintf(full, sizeof full, "%s%s%s", root, path,
	    path[strlen(path) - 1] == '/' ? "index.html" : "");
	if (web_path_ok(path) && n > 0 && (size_t)n < sizeof full)
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		*status = 404;
		return web_text(404, "not found\n", NULL);
	}
	*status = 200;
	w = web_new();
	web_head(w, 200, web_mime(full), (size_t)st.st_size, NULL);
	if (head)
		close(fd);
	else {
		w->fd = fd;
		w->left = st.st_size;
	}
	return w;
}

/* Queues the next piece of the file; 0, or -EIO when it cannot be read. */
static int
web_read(struct web *w)
{
	size_t	 want = w->left < WEB_PIECE ? (size_t)w->left : WEB_PIECE;
	uint8_t	*p = outq_push(&w->out, want, 0);
	ssize_t	 n;

	n = read(w->fd, p, want);
	if (n != (ssize_t)want)
		return -EIO;	/* the file shrank: the length sent is wrong */
	w->left -= n;
	if (w->left == 0) {
		close(w->fd);
		w->fd = -1;
	}
	return 0;
}

int
web_write(struct web *w, struct lws *wsi)
{
	if (w->out.head == NULL && w->fd >= 0 && web_read(w) != 0)
		return -EIO;
	switch (outq_write(&w->out, wsi)) {
	case 1:
		return 1;
	case 0:
		/* lws gives WRITEABLE only once its own buffer is sent */
		return 0;
	default:
		return -EIO;
	}
}

void
web_free(struct web *w)
{
	if (w == NULL)
		return;
	outq_clear(&w->out);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
