/*
 * Unit tests for gateway/router.c: route specs, exact-over-prefix and
 * longest-prefix matching, and the object-name rule byte by byte.
 */
#include "router.c"

#include "tap.h"

#define NAME_SIZE	(ROUTER_NAME_MAX_DEFAULT + 1)

/* Routes path and compares the name; want NULL expects err. */
static int
routes_to(const struct router *r, const char *path, const char *want,
    int err)
{
	char	name[NAME_SIZE];
	int	got;

	memset(name, 'X', sizeof name);
	got = router_route(r, path, name, sizeof name);
	if (want == NULL)
		return got == err;
	return got == 0 && strcmp(name, want) == 0;
}

static void
test_exact(void)
{
	struct router	*r = router_create(ROUTER_NAME_MAX_DEFAULT);

	ok(router_count(r) == 0, "new router is empty");
	ok(routes_to(r, "/websocket", NULL, ROUTER_ENOROUTE),
	    "empty router: no route");
	ok(router_add(r, "/websocket=test-room") == 0, "add the default route");
	ok(routes_to(r, "/websocket", "test-room", 0), "exact route");
	ok(routes_to(r, "/websocket/", NULL, ROUTER_ENOROUTE),
	    "exact means exact: trailing slash differs");
	ok(routes_to(r, "/websock", NULL, ROUTER_ENOROUTE), "no prefix match");
	ok(router_matches(r, "/websocket") && !router_matches(r, "/") &&
	    !router_matches(r, "/websocket2"), "matches only that path");
	ok(router_add(r, "/a=b=c") == 0 && routes_to(r, "/a", "b=c", 0),
	    "the path ends at the first '='");
	ok(router_add(r, "/websocket=other") == ROUTER_ESPEC,
	    "the same path twice is refused");
	ok(routes_to(r, "/websocket", "test-room", 0),
	    "a refused duplicate changes nothing");
	ok(router_count(r) == 2, "count");
	router_free(r);
}

static void
test_prefix(void)
{
	struct router	*r = router_create(ROUTER_NAME_MAX_DEFAULT);

	ok(router_add(r, "/rooms/*") == 0, "add a prefix route");
	ok(routes_to(r, "/rooms/abc", "abc", 0),
	    "name is the rest of the path");
	ok(routes_to(r, "/rooms/", NULL, ROUTER_ENAME), "empty name: ENAME");
	ok(routes_to(r, "/rooms/a/b", NULL, ROUTER_ENAME),
	    "'/' in name: ENAME");
	ok(routes_to(r, "/rooms/.", NULL, ROUTER_ENAME), "\".\": ENAME");
	ok(routes_to(r, "/rooms/..", NULL, ROUTER_ENAME), "\"..\": ENAME");
	ok(routes_to(r, "/rooms/...", "...", 0), "\"...\" is a name");
	ok(routes_to(r, "/rooms/a%20b", "a%20b", 0), "no percent-decoding");
	ok(routes_to(r, "/rooms", NULL, ROUTER_ENOROUTE),
	    "the prefix without its slash does not match");
	ok(routes_to(r, "/roomsx/a", NULL, ROUTER_ENOROUTE), "other path");
	ok(router_matches(r, "/rooms/x") && router_matches(r, "/rooms/") &&
	    router_matches(r, "/rooms/a/b"), "paths under the prefix match");
	ok(!router_matches(r, "/rooms") && !router_matches(r, "/index.html"),
	    "paths outside do not");

	ok(router_add(r, "/rooms/vip/*") == 0, "add a longer prefix");
	ok(router_add(r, "/r/*") == 0, "add a shorter prefix after it");
	ok(routes_to(r, "/rooms/vip/x", "x", 0), "the longest prefix wins");
	ok(routes_to(r, "/rooms/vipx", "vipx", 0), "a near miss falls back");
	ok(routes_to(r, "/r/x", "x", 0), "the short prefix still works");
	ok(routes_to(r, "/rooms/vip/", NULL, ROUTER_ENAME),
	    "no fallback to a shorter prefix for a bad name");
	ok(router_add(r, "/rooms/lobby=main-lobby") == 0 &&
	    routes_to(r, "/rooms/lobby", "main-lobby", 0),
	    "an exact route wins over a prefix");
	ok(router_add(r, "/rooms/*") == ROUTER_ESPEC,
	    "duplicate prefix refused");
	ok(router_count(r) == 4, "count has exact and prefix routes");
	router_free(r);

	r = router_create(ROUTER_NAME_MAX_DEFAULT);
	ok(router_add(r, "/*") == 0 && routes_to(r, "/x", "x", 0) &&
	    routes_to(r, "/", NULL, ROUTER_ENAME), "root prefix route");
	router_free(r);
}

static void
test_specs(void)
{
	static const char *const bad[] = {
		"", "=", "/", "websocket=x", "/a=", "/a=b/c", "/a=.", "/a=..",
		"/a=b c", "/a b=c", "/a?q=1=x", "/a#f=x", "/rooms", "/rooms*",
		"rooms/*", "*", "/rooms/x", "/a\x01=b", "/a=b\x7f",
		"/ro oms/*",
	};
	struct router	*r = router_create(ROUTER_NAME_MAX_DEFAULT);
	size_t		 i;
	int		 good = 1;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (router_add(r, bad[i]) != ROUTER_ESPEC) {
			good = 0;
			printf("# accepted: \"%s\"\n", bad[i]);
		}
	}
	ok(good, "%zu malformed specs refused", sizeof bad / sizeof bad[0]);
	ok(router_count(r) == 0, "refused specs add nothing");
	ok(router_add(r, "/rooms/*=fixed") == 0 &&
	    routes_to(r, "/rooms/*", "fixed", 0),
	    "with '=', a trailing star is part of an exact path");
	router_free(r);
	router_free(NULL);
	ok(1, "router_free(NULL)");
}

static void
test_name_max(void)
{
	struct router	*r = router_create(8);
	char		 name[16];

	ok(router_add(r, "/x=12345678") == 0, "exact: name of name_max OK");
	ok(router_add(r, "/y=123456789") == ROUTER_ESPEC,
	    "exact: name_max + 1 refused");
	ok(router_add(r, "/p/*") == 0, "prefix added");
	ok(routes_to(r, "/p/abcdefgh", "abcdefgh", 0),
	    "prefix: name of name_max OK");
	ok(routes_to(r, "/p/abcdefghi", NULL, ROUTER_ENAME),
	    "prefix: name_max + 1 is ENAME");
	ok(router_route(r, "/p/abcd", name, 5) == 0 &&
	    strcmp(name, "abcd") == 0, "buffer of exactly len + 1");
	ok(router_route(r, "/p/abcd", name, 4) == ROUTER_ENAME,
	    "buffer too small: ENAME");
	ok(router_route(r, "/x", name, 8) == ROUTER_ENAME,
	    "buffer too small for an exact route's name: ENAME");
	router_free(r);

	r = router_create(0);
	ok(r->name_max == ROUTER_NAME_MAX_DEFAULT, "name_max 0: the default");
	router_free(r);
}

static void
test_name_bytes(void)
{
	char	name[3] = "a";
	int	c, good = 1, want;

	/* Every byte value, in the middle of a name. */
	for (c = 0; c < 256; c++) {
		name[1] = (char)c;
		name[2] = 'z';
		want = c >= 0x21 && c <= 0x7e && c != '/';
		if (router_name_valid(name, 3, 128) != want) {
			good = 0;
			printf("# byte 0x%02x\n", c);
		}
	}
	ok(good, "every byte: valid iff 0x21..0x7E and not '/'");
	ok(!router_name_valid("a\0b", 3, 128), "the store separator 0x00");
	ok(!router_name_valid("", 0, 128), "empty");
	ok(!router_name_valid(".", 1, 128) && !router_name_valid("..", 2, 128),
	    "\".\" and \"..\"");
	ok(router_name_valid(".a", 2, 128) && router_name_valid("a..", 3, 128),
	    "dots inside a longer name are fine");
	ok(router_name_valid("abc", 3, 3) && !router_name_valid("abcd", 4, 3),
	    "length limit at the boundary");
	ok(!router_name_valid("a", 1, 0), "name_max 0 allows nothing");
	ok(router_name_valid("test-room", 9, 128), "the default object name");
	ok(strcmp(router_strerror(ROUTER_ENAME), router_strerror(ROUTER_ESPEC))
	    != 0 && strcmp(router_strerror(ROUTER_ENOROUTE),
	    router_strerror(-1)) != 0, "strerror names each code");
}

int
main(void)
{
	test_exact();
	test_prefix();
	test_specs();
	test_name_max();
	test_name_bytes();
	return tap_done();
}
