#!/usr/bin/python3
"""
test_user: least privilege. Started as root with --user, the gateway runs
its handlers as that user (exec'ed directly), keeps the run dir 0700 and
root's, and the handlers can still use the store.
"""

import os
import pwd
import shutil
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


@h.test("--user nobody: handlers run as nobody, the run dir is root's "
        "and 0700, storage works")
def test_user():
    if os.geteuid() != 0:
        h.skip("needs root (the gateway drops handlers to --user as root)")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        h.skip("no user 'nobody' on this machine")
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], static=None, args=["--user", "nobody"],
                  start=False)
    # the store must be reachable by nobody, as /var/lib/torpor is
    os.chmod(g.root, 0o711)
    # and so must the handler, as an installed one is: a build tree may
    # sit in a 0700 directory (a clone into mktemp -d). The program is
    # linked -static with libtorpor, so a copy runs the same.
    with open(V1, "rb") as f:
        h.expect(f.read(4) == b"\x7fELF", "%s is not a binary" % V1)
    handler = os.path.join(g.root, "testhandler-v1")
    shutil.copy2(V1, handler)
    os.chmod(handler, 0o755)
    g.handler = [handler]
    g.start()
    with g.ws() as c:
        for i in (1, 2):
            c.send_text("inc")
            h.expect_eq(c.recv_text(), "n=%d v=1" % i, "inc %d" % i)
        kids = g.children()
        h.expect(kids, "a handler process")
        for pid in kids:
            h.expect_eq(uid_of(pid), nobody.pw_uid,
                        "uid of handler pid %d" % pid)
        st = os.stat(g.run_dir)
        h.expect_eq(stat.S_IMODE(st.st_mode), 0o700, "run dir mode")
        h.expect_eq(st.st_uid, 0, "run dir owner")
    h.expect("handlers run as user nobody" in g.log_text(), "log line")


@h.test("--user refused when the user does not exist")
def test_user_unknown():
    if os.geteuid() != 0:
        h.skip("needs root")
    g = h.Gateway(args=["--user", "no-such-user-torpor"], start=False)
    try:
        g.start()
    except AssertionError:
        pass
    else:
        raise AssertionError("the gateway started with an unknown --user")
    h.expect("no such user" in g.log_text(all_runs=True),
             "the log says why")


if __name__ == "__main__":
    h.run()
