/*
 * router: request path -> object name. Exact routes live in a hash by
 * path (a server may have many fixed rooms); prefix routes are few and
 * kept in an array sorted longest first, so the first match is the
 * longest. The router decides which requests may upgrade, so it is also
 * where object names are validated: everything downstream (registry,
 * store keys that use 0x00 as a separator, log lines) can trust them.
 * Paths are compared as bytes, without percent-decoding.
 */
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "xmalloc.h"

/* uthash's own failure path exits quietly; abort with a message instead. */
#define uthash_malloc(sz)	xmalloc(sz)
#include <uthash.h>

struct router_exact {
	char		*path;
	char		*object;
	UT_hash_handle	 hh;
};

struct router {
	size_t			 name_max;
	struct router_exact	*exact;		/* uthash head */
	size_t			 nexact;
	/* Prefixes keep their trailing '/'; the longest comes first. */
	char			**prefixes;
	size_t			 nprefixes;
};

struct router *
router_create(size_t name_max)
{
	struct router	*r;

	r = xcalloc(1, sizeof *r);
	/* A router that refuses every name is useless: 0 means the default. */
	r->name_max = name_max ? name_max : ROUTER_NAME_MAX_DEFAULT;
	return r;
}

void
router_free(struct router *r)
{
	struct router_exact	*e, *tmp;
	size_t			 i;

	if (r == NULL)
		return;
	HASH_ITER(hh, r->exact, e, tmp) {
		HASH_DEL(r->exact, e);
		free(e->path);
		free(e->object);
		free(e);
	}
	for (i = 0; i < r->nprefixes; i++)
		free(r->prefixes[i]);
	free(r->prefixes);
	free(r);
}

int
router_name_valid(const char *name, size_t len, size_t name_max)
{
	size_t	i;

	if (len == 0 || len > name_max)
		return 0;
	/* "." and ".." would read as path steps wherever a name is shown. */
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* 0x21..0x7E excludes the store's 0x00 separator too. */
		if (c < 0x21 || c > 0x7e || c == '/')
			return 0;
	}
	return 1;
}

/* A route path: starts with '/', visible ASCII, no query or fragment. */
static int
router_path_valid(const char *path, size_t len)
{
	size_t	i;

	if (len == 0 || path[0] != '/')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c < 0x21 || c > 0x7e || c == '?' || c == '#')
			return 0;
	}
	return 1;
}

/* Adds "PATH=OBJECT"; the path is everything before the first '='. */
static int
router_add_exact(struct router *r, const char *spec, const char *eq)
{
	struct router_exact	*e;
	size_t			 plen = (size_t)(eq - spec);
	const char		*object = eq + 1;

	if (!router_path_valid(spec, plen) ||
	    !router_name_valid(object, strlen(object), r->name_max))
		return ROUTER_ESPEC;
	HASH_FIND(hh, r->exact, spec, plen, e);
	if (e != NULL)
		return ROUTER_ESPEC;	/* the same path twice is a typo */
	e = xcalloc(1, sizeof *e);
	e->path = xstrndup(spec, plen);
	e->object = xstrdup(object);
	HASH_ADD_KEYPTR(hh, r->exact, e->path, plen, e);
	r->nexact++;
	return 0;
}

/* Adds a prefix route (spec ends in "/" and '*'), longest first. */
static int
router_add_prefix(struct router *r, const char *spec, size_t len)
{
	size_t	plen = len - 1, i;	/* keep the '/', drop the '*' */

	if (!router_path_valid(spec, plen))
		return ROUTER_ESPEC;
	for (i = 0; i < r->nprefixes; i++) {
		if (strlen(r->prefixes[i]) == plen &&
		    memcmp(r->prefixes[i], spec, plen) == 0)
			return ROUTER_ESPEC;
	}
	for (i = 0; i < r->nprefixes; i++) {
		if (strlen(r->prefixes[i]) < plen)
			break;
	}
	r->prefixes = xrealloc(r->prefixes,
	    (r->nprefixes + 1) * sizeof *r->prefixes);
	memmove(r->prefixes + i + 1, r->prefixes + i,
	    (r->nprefixes - i) * sizeof *r->prefixes);
	r->prefixes[i] = xstrndup(spec, plen);
	r->nprefixes++;
	return 0;
}

int
router_add(struct router *r, const char *spec)
{
	const char	*eq;
	size_t		 len;

	eq = strchr(spec, '=');
	if (eq != NULL)
		return router_add_exact(r, spec, eq);
	len = strlen(spec);
	if (len >= 2 && spec[len - 2] == '/' && spec[len - 1] == '*')
		return router_add_prefix(r, spec, len);
	return ROUTER_ESPEC;
}

/* The longest prefix route path lies under, or NULL. */
static const char *
router_find_prefix(const struct router *r, const char *path)
{
	size_t	i;

	for (i = 0; i < r->nprefixes; i++) {
		if (strncmp(path, r->prefixes[i], strlen(r->prefixes[i])) == 0)
			return r->prefixes[i];
	}
	return NULL;
}

int
router_route(const struct router *r, const char *path, char *name,
    size_t name_size)
{
	struct router_exact	*e;
	const char		*prefix, *object;
	size_t			 len;

	HASH_FIND_STR(r->exact, path, e);
	if (e != NULL) {
		object = e->object;
		len = strlen(object);
	} else {
		prefix = router_find_prefix(r, path);
		if (prefix == NULL)
			return ROUTER_ENOROUTE;
		object = path + strlen(prefix);
		len = strlen(object);
		if (!router_name_valid(object, len, r->name_max))
			return ROUTER_ENAME;
	}
	/* A caller buffer too small for a valid name refuses it whole. */
	if (len >= name_size)
		return ROUTER_ENAME;
	memcpy(name, object, len);
	name[len] = '\0';
	return 0;
}

int
router_matches(const struct router *r, const char *path)
{
	struct router_exact	*e;

	HASH_FIND_STR(r->exact, path, e);
	return e != NULL || router_find_prefix(r, path) != NULL;
}

size_t
router_count(const struct router *r)
{
	return r->nexact + r->nprefixes;
}

const char *
router_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case ROUTER_ESPEC:
		return "malformed route (want PATH=OBJECT or PREFIX/*)";
	case ROUTER_ENOROUTE:
		return "no route for this path";
	case ROUTER_ENAME:
		return "invalid object name";
	default:
		return "unknown router error";
	}
}
