/*
 * fuzz_router: route specs and object names (gateway/router.c). The first
 * line of the input is a spec line, route specs separated by spaces (a
 * spec never holds one), each given to router_add as --route would; every
 * further line is a request path, routed into a name buffer of the size
 * server.c uses and into a short one, tested with router_matches and, as
 * a name, with router_name_valid. The answers must agree with each other
 * and with router.h.
 */
#include <string.h>

#include "driver.h"
#include "router.h"
#include "xmalloc.h"

#define FUZZ_NAME_SIZE	(ROUTER_NAME_MAX_DEFAULT + 1)
#define FUZZ_SHORT_SIZE	8

/* Adds each space-separated spec of the line; @return how many took. */
static size_t
fuzz_add_specs(struct router *r, const char *line)
{
	const char	*p = line, *sp;
	char		*spec;
	size_t		 added = 0;
	int		 err;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		spec = xstrndup(p, (size_t)(sp - p));
		err = router_add(r, spec);
		FUZZ_EXPECT(err == 0 || err == ROUTER_ESPEC);
		FUZZ_EXPECT(router_strerror(err) != NULL);
		added += err == 0;
		free(spec);
		p = *sp == ' ' ? sp + 1 : sp;
	}
	return added;
}

/* Routes one path both ways and checks the answers agree. */
static void
fuzz_route(const struct router *r, const char *path)
{
	char	*name = xmalloc(FUZZ_NAME_SIZE);
	char	*shrt = xmalloc(FUZZ_SHORT_SIZE);
	int	 rc, rc_short, matches;

	rc = router_route(r, path, name, FUZZ_NAME_SIZE);
	matches = router_matches(r, path);
	FUZZ_EXPECT(router_strerror(rc) != NULL);
	if (rc == 0)
		FUZZ_EXPECT(router_name_valid(name, strlen(name),
		    ROUTER_NAME_MAX_DEFAULT) && matches);
	else
		FUZZ_EXPECT((rc == ROUTER_ENAME && matches) ||
		    (rc == ROUTER_ENOROUTE && !matches));

	/* A buffer too small refuses the name whole, and nothing else. */
	rc_short = router_route(r, path, shrt, FUZZ_SHORT_SIZE);
	if (rc == 0 && strlen(name) < FUZZ_SHORT_SIZE)
		FUZZ_EXPECT(rc_short == 0 && strcmp(shrt, name) == 0);
	else
		FUZZ_EXPECT(rc_short == (rc == 0 ? ROUTER_ENAME : rc));
	(void)router_name_valid(path, strlen(path), ROUTER_NAME_MAX_DEFAULT);
	free(name);
	free(shrt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct router	*r = router_create(0);
	const uint8_t	*p = data, *end = data + size, *nl;
	char		*line;
	size_t		 added, len;

	/*
	 * Lines become C strings, cut at a NUL as a path from the server
	 * would be; xstrndup allocates just that, so ASan sees overreads.
	 */
	nl = memchr(p, '\n', size);
	len = (size_t)((nl != NULL ? nl : end) - p);
	line = xstrndup((const char *)p, len);
	added = fuzz_add_specs(r, line);
	FUZZ_EXPECT(router_count(r) == added);
	free(line);
	while (nl != NULL) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl != NULL ? nl : end) - p);
		line = xstrndup((const char *)p, len);
		fuzz_route(r, line);
		free(line);
	}
	router_free(r);
	return 0;
}
