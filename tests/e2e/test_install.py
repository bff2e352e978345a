#!/usr/bin/python3
"""
test_install: `make install` into a temporary DESTDIR, then what a user
does with the result: checks that every installed file is where the
configured directories say, builds a handler out of the tree against the
installed torpor.pc (a counter kept in object storage, like the example of
torpor(3)), once with the shared libtorpor and once with the static one,
and runs it under the installed gateway on a private port.

The build directory comes from TORPOR_BUILDDIR (AM_TESTS_ENVIRONMENT);
the installation directories from its Makefile. Skipped, test by test,
only where cc or pkg-config is missing.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

BUILDDIR = os.environ.get("TORPOR_BUILDDIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(h.GATEWAY)))

COUNTER_C = r"""
/* counter.c: counts each object's messages, replies with the count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <torpor.h>

static int
on_message(torpor_event *ev, void *user)
{
	const void	*val;
	size_t		 len;
	char		 buf[64];
	unsigned long	 count = 0;
	int		 rc;

	rc = torpor_get(ev, "count", &val, &len);
	if (rc == 0 && len < sizeof buf) {
		memcpy(buf, val, len);
		buf[len] = '\0';
		count = strtoul(buf, NULL, 10);
	} else if (rc != 0 && rc != -ENOENT)
		return rc;
	count++;
	len = (size_t)snprintf(buf, sizeof buf, "%lu", count);
	if ((rc = torpor_put(ev, "count", buf, len)) != 0)
		return rc;
	snprintf(buf, sizeof buf, "{\"count\":%lu}", count);
	return torpor_reply_text(ev, buf);
}

int
main(void)
{
	static const struct torpor_handlers handlers = {
		.on_message = on_message,
	};
	int	rc;

	if ((rc = torpor_run(&handlers, NULL)) != 0) {
		fprintf(stderr, "counter: %s\n", torpor_strerror(rc));
		return 1;
	}
	return 0;
}
"""


class Install:
    """One `make install DESTDIR=...` shared by the tests of this script."""

    def __init__(self):
        self.dest = None
        self.error = None
        self.dirs = {}
        self.work = None

    def get(self):
        if self.error:
            raise AssertionError("make install failed (in an earlier "
                                 "test):\n" + self.error)
        if self.dest is None:
            self.install()
        return self

    def install(self):
        makefile = os.path.join(BUILDDIR, "Makefile")
        h.expect(os.path.isfile(makefile),
                 "no Makefile in the build directory %s (TORPOR_BUILDDIR)"
                 % BUILDDIR)
        self.dirs = makefile_dirs(makefile)
        self.root = tempfile.mkdtemp(prefix="torpor-install-")
        self.dest = os.path.join(self.root, "dest")
        self.work = os.path.join(self.root, "work")
        os.mkdir(self.work)
        env = dict(os.environ)
        # Not the jobserver or the variables of the `make check` around us.
        for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DESTDIR"):
            env.pop(k, None)
        argv = [os.environ.get("MAKE") or "make", "-s", "-C", BUILDDIR,
                "install", "DESTDIR=" + self.dest]
        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        if r.returncode != 0:
            self.error = "%s: exit status %d\n%s" % (
                " ".join(argv), r.returncode,
                r.stdout.decode("utf-8", "replace")[-3000:])
            raise AssertionError(self.error)

    def path(self, var, *rest):
        """DESTDIR + the configured directory `var` + rest."""
        return os.path.join(self.dest + self.dirs[var], *rest)

    def cleanup(self):
        if self.dest is None:
            return
        if os.environ.get("TORPOR_E2E_KEEP") == "1":
            h.comment("kept: %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def makefile_dirs(makefile):
    """The installation directories, expanded, from a configured Makefile."""
    var = {}
    with open(makefile) as f:
        for line in f:
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*) = (.*?)\s*$", line)
            if m:
                var.setdefault(m.group(1), m.group(2))

    def expand(name, depth=0):
        h.expect(depth < 20, "recursive Makefile variable %s" % name)
        return re.sub(r"\$[({]([A-Za-z0-9_]+)[)}]",
                      lambda m: expand(m.group(1), depth + 1),
                      var.get(name, ""))
    out = {}
    for name in ("bindir", "libdir", "includedir", "pkglibexecdir",
                 "pkgdatadir", "mandir", "PACKAGE_VERSION"):
        out[name] = expand(name)
        h.expect(out[name], "no %s in %s" % (name, makefile))
    return out


INSTALL = Install()


def need_tools():
    for tool in ("cc", "pkg-config"):
        if shutil.which(tool) is None:
            h.skip("%s is not installed: cannot build a handler against "
                   "the installed SDK" % tool)


def run(argv, env=None, shell=False, what=None, cwd=None):
    r = subprocess.run(argv, env=env, shell=shell, cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    h.expect(r.returncode == 0, "%s: exit status %d\n%s" % (
        what or argv, r.returncode, out[-3000:]))
    return out


def pkg_env(inst):
    """pkg-config sees the staged torpor.pc, its paths under DESTDIR."""
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = inst.path("libdir", "pkgconfig")
    env["PKG_CONFIG_SYSROOT_DIR"] = inst.dest
    return env


def sanitizer_flags(inst):
    """A libtorpor built with ASan needs a program built with it too."""
    lib = inst.path("libdir", "libtorpor.so")
    if shutil.which("readelf") is None or not os.path.exists(lib):
        return ""
    r = subprocess.run(["readelf", "-d", lib], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    if b"libasan" in r.stdout:
        return "-fsanitize=address,undefined"
    return ""


class InstalledGateway(h.Gateway):
    """The gateway as installed under DESTDIR instead of the build's."""

    def __init__(self, binary, **kw):
        self.binary = binary
        h.Gateway.__init__(self, **kw)

    def argv(self, port, run_dir):
        argv = h.Gateway.argv(self, port, run_dir)
        argv[0] = self.binary
        return argv


@h.test("make install DESTDIR=...: every file in its configured directory",
        timeout=150)
def test_installed_files():
    inst = INSTALL.get()
    want = [
        ("bindir", "torpor-gateway", True),
        ("libdir", "libtorpor.so", False),
        ("libdir", "libtorpor.a", False),
        ("libdir", "pkgconfig/torpor.pc", False),
        ("includedir", "torpor.h", False),
        ("pkglibexecdir", "pingpong", True),
        ("pkgdatadir", "www/index.html", False),
        ("pkgdatadir", "client/websocket_client.py", True),
        ("pkgdatadir", "systemd/torpor.service", False),
        ("mandir", "man8/torpor-gateway.8", False),
        ("mandir", "man3/torpor.3", False),
    ]
    missing = []
    for var, rel, exe in want:
        p = inst.path(var, rel)
        if not os.path.isfile(p) or (exe and not os.access(p, os.X_OK)):
            missing.append("%s/%s (%s)" % (inst.dirs[var], rel,
                                            "executable" if exe else "file"))
    h.expect(not missing, "not installed under %s: %s"
             % (inst.dest, ", ".join(missing)))
    with open(inst.path("pkgdatadir", "systemd/torpor.service")) as f:
        unit = f.read()
    left = re.findall(r"@[a-z_]+@", unit)
    h.expect(not left, "torpor.service still has placeholders: %s"
             % " ".join(sorted(set(left))))
    h.expect("ExecStart=%s/torpor-gateway " % inst.dirs["bindir"] in unit,
             "torpor.service does not start %s/torpor-gateway"
             % inst.dirs["bindir"])
    h.expect("ExecReload=/bin/kill -HUP $MAINPID" in unit,
             "torpor.service has no ExecReload by SIGHUP")


@h.test("the installed gateway looks for the reference app where make "
        "install put it", timeout=150)
def test_default_app_paths():
    inst = INSTALL.get()
    with open(inst.path("bindir", "torpor-gateway"), "rb") as f:
        binary = f.read()
    for var, rel in (("pkglibexecdir", "pingpong"), ("pkgdatadir", "www")):
        p = inst.dirs[var] + "/" + rel
        h.expect(p.encode() in binary,
                 "the installed gateway does not mention %s, where the "
                 "default app was installed" % p)
        h.expect(os.path.exists(inst.dest + p), "%s not installed" % p)


@h.test("pkg-config: the installed torpor.pc", timeout=150)
def test_pkg_config():
    need_tools()
    inst = INSTALL.get()
    env = pkg_env(inst)
    out = run(["pkg-config", "--modversion", "torpor"], env=env).strip()
    h.expect_eq(out, inst.dirs["PACKAGE_VERSION"], "pkg-config --modversion")
    out = run(["pkg-config", "--cflags", "--libs", "torpor"], env=env)
    h.expect("-ltorpor" in out.split(), "no -ltorpor in %r" % out)
    h.expect("-L" + inst.path("libdir") in out.split()
             or inst.dirs["libdir"] in ("/usr/lib", "/lib"),
             "no -L%s in %r" % (inst.path("libdir"), out))


def build_counter(inst, static):
    """counter.c built out of the tree; returns the path of the program."""
    need_tools()
    src = os.path.join(inst.work, "counter.c")
    with open(src, "w") as f:
        f.write(COUNTER_C)
    env = pkg_env(inst)
    san = sanitizer_flags(inst)
    if not static:
        # The command torpor(3) and the README give, through a shell.
        out = os.path.join(inst.work, "counter")
        run("cc %s -o counter counter.c $(pkg-config --cflags --libs torpor)"
            % san, env=env, shell=True, cwd=inst.work,
            what="cc ... $(pkg-config --cflags --libs torpor)")
        return out
    # libtorpor.a, and the libraries it needs from Libs.private.
    out = os.path.join(inst.work, "counter-static")
    cflags = run(["pkg-config", "--cflags", "torpor"], env=env).split()
    libs = run(["pkg-config", "--static", "--libs", "torpor"], env=env).split()
    libs = [a for a in libs if a != "-ltorpor"]
    run(["cc"] + san.split() + ["-o", out, src] + cflags +
        [inst.path("libdir", "libtorpor.a")] + libs, env=env,
        what="cc (static libtorpor)")
    if shutil.which("readelf"):
        dyn = run(["readelf", "-d", out])
        h.expect("libtorpor" not in dyn,
                 "counter-static needs the shared libtorpor:\n" + dyn)
    return out


def counter_rounds(gw, expected):
    for path, want in expected:
        with gw.ws(path) as c:
            c.send_text("hello")
            h.expect_eq(c.recv_text(), '{"count":%d}' % want,
                        "reply on %s" % path)


@h.test("an out-of-tree handler (shared and static libtorpor) under the "
        "installed gateway; the count survives a restart", timeout=150)
def test_out_of_tree_handler():
    need_tools()
    inst = INSTALL.get()
    shared = build_counter(inst, static=False)
    static = build_counter(inst, static=True)
    gw = InstalledGateway(
        inst.path("bindir", "torpor-gateway"), handler=[shared],
        routes=["/counter/*"], static=None,
        env={"LD_LIBRARY_PATH": inst.path("libdir")})
    counter_rounds(gw, [("/counter/a", 1), ("/counter/a", 2),
                        ("/counter/b", 1)])
    # The same store under the statically linked handler, no library path.
    gw.handler = [static]
    gw.extra_env = {"LD_LIBRARY_PATH": ""}
    gw.restart()
    counter_rounds(gw, [("/counter/a", 3), ("/counter/b", 2)])
    gw.stop()


if __name__ == "__main__":
    try:
        h.run()
    finally:
        INSTALL.cleanup()
