"""Script-backed commands (the exec plugin) and the example plugin (hello)
through the real daemon: admin gating, worker threads with every signal
blocked, the core's deadline bounding a run, and no process left behind.

The scripts are tests/fixtures/exec/*.sh (see tests/unit/test_exec.c).
"""

import os
import time

from harness import (IO_TIMEOUT, check, check_eq, check_match, elapsed_since,
                     wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures", "exec"))
ADMIN = "s3cret-admin"


def fx(name):
    return os.path.join(FIXTURES, name)


def start(t, exec_lines, server=None, security=None, load="exec hello"):
    """A daemon with [exec] holding exec_lines, on TCP and a Unix socket."""
    srv = {"listen": "127.0.0.1:0, unix:" + t.path("picmd.sock")}
    srv.update(server or {})
    extra = "[exec]\n" + "".join(line + "\n" for line in exec_lines)
    extra += "[hello]\ngreeting = hi\n"
    if security:
        extra += "[security]\n" + "".join(
            "%s = %s\n" % kv for kv in security.items())
    return t.start(server=srv, plugins={"load": load}, extra=extra)


def proc_stat(pid):
    """(state, ppid, pgrp) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def live_in_group(pgid):
    """Pids of live (not zombie) processes in process group pgid."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[2] == pgid and st[0] not in "ZX":
                found.append(int(name))
    return found


def zombie_children(pid):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[1] == pid and st[0] == "Z":
                found.append(int(name))
    return found


def test_exec_and_hello_over_the_unix_socket(t):
    d = start(t, ["temp = %s measure_temp" % fx("echo-args.sh"),
                  "fail = %s" % fx("fail.sh")])
    c = d.connect("unix")
    # Fixed args, then the request's, verbatim: no shell anywhere.
    check_eq(c.request('temp a "b c" $(id) ;'),
             "OK [measure_temp][a][b c][$(id)][;]", "temp")
    check_eq(c.request("fail"), "ERR DEVICE sensor not found", "fail")
    check_eq(c.request("hello Pi"), "OK hi, Pi", "hello")
    check_eq(c.request("HELP temp"), "OK temp [arg...]", "HELP temp")
    check_match(r"\bhello\b.*\btemp\b", c.request("HELP"), "HELP")


def test_exec_commands_need_the_admin_token_over_tcp(t):
    d = start(t, ["temp = %s measure_temp" % fx("echo-args.sh"),
                  "uptime = %s up" % fx("echo-args.sh"),
                  "public = uptime"],
              security={"admin_token": ADMIN})
    c = d.connect("tcp4")
    check_match(r"^ERR DENIED admin command", c.request("temp"), "temp")
    # Listed in "public": no admin credential needed.
    check_eq(c.request("uptime"), "OK [up]", "public command")
    check_eq(c.request("hello"), "OK hi, world", "hello")
    check_eq(c.request("AUTH " + ADMIN), "OK", "AUTH")
    check_eq(c.request("temp"), "OK [measure_temp]", "temp after AUTH")


def test_worker_signal_mask_does_not_reach_the_script(t):
    d = start(t, ["inherit = %s" % fx("inherit.sh")])
    reply = d.connect("unix").request("inherit")
    m = check_match(r"^OK blk=([0-9a-f]+) ign=([0-9a-f]+) fd77=closed$",
                    reply)
    check_eq(int(m.group(1), 16), 0, "signals blocked in the script")
    # Signals 1-31: glibc keeps its internal 32 and 33 ignored.
    check_eq(int(m.group(2), 16) & 0x7fffffff, 0,
             "signals ignored in the script")


def test_timeout_kills_the_script_and_its_children(t):
    d = start(t, ["timeout_ms = 300",
                  "sleepy = %s" % fx("sleepy.sh"),
                  "stubborn = %s" % fx("stubborn.sh")])
    c = d.connect("unix")
    for name in ("sleepy", "stubborn"):
        run_dir = t.path(name)
        os.mkdir(run_dir)
        start_t = time.monotonic()
        check_eq(c.request("%s %s" % (name, run_dir)),
                 "ERR TIMEOUT %s timed out after 300 ms" % name, name)
        took = elapsed_since(start_t)
        # stubborn ignores SIGTERM: SIGKILL after the 500 ms grace.
        low, high = (0.25, 0.8) if name == "sleepy" else (0.75, 3.0)
        check(low <= took <= high, "%s answered after %.3f s" % (name, took))
        with open(os.path.join(run_dir, "pid")) as f:
            pgid = int(f.read())
        wait_until(lambda: not live_in_group(pgid), timeout=3.0,
                   what="%s's process group gone" % name)
        check_eq(zombie_children(d.pid), [], "zombies of the daemon")


def test_the_command_deadline_bounds_a_run(t):
    """command_timeout_ms shorter than timeout_ms: the client is answered
    at the deadline, and the script is killed then, not 5 s later."""
    d = start(t, ["sleepy = %s" % fx("sleepy.sh")],
              server={"command_timeout_ms": "400"})
    c = d.connect("unix")
    run_dir = t.path("run")
    os.mkdir(run_dir)
    start_t = time.monotonic()
    check_match(r"^ERR TIMEOUT", c.request("sleepy " + run_dir), "sleepy")
    check(elapsed_since(start_t) < 2.0, "the core's deadline was not kept")
    with open(os.path.join(run_dir, "pid")) as f:
        pgid = int(f.read())
    wait_until(lambda: not live_in_group(pgid), timeout=3.0,
               what="the script's process group gone")
    # The worker is free again and nothing is left to reap.  The core
    # answered at its deadline while the handler was still killing the
    # script: the handler reaps it a moment after, so wait for that.
    check_eq(c.request("hello"), "OK hi, world", "hello afterwards")
    wait_until(lambda: zombie_children(d.pid) == [], timeout=IO_TIMEOUT,
               what="the daemon's children reaped")


def test_runs_in_parallel_on_the_workers(t):
    d = start(t, ["slow = %s" % fx("slow.sh")], server={"workers": "4"})
    c = d.connect("unix")
    start_t = time.monotonic()
    c.send_lines(["#%d slow %d" % (i, i) for i in range(4)])
    got = sorted(c.read_lines(4))
    check_eq(got, sorted("#%d OK done %d" % (i, i) for i in range(4)),
             "replies")
    # One after another would be 4 x 0.3 s.
    check(elapsed_since(start_t) < 1.0, "the runs did not overlap")
    check_eq(zombie_children(d.pid), [], "zombies of the daemon")


def test_bad_exec_lines_are_reported_with_their_line(t):
    text = t.config_text(plugins={"load": "exec"}, extra=(
        "[exec]\n"
        "rel = bin/true\n"
        "missing = /nonexistent/program\n"
        "timeout_ms = 0\n"))
    path = t.write_config(text)
    rc, _, err = t.run_picmdd("-t", "-c", path)
    check_eq(rc, 1, "picmdd -t exit status")
    for key, msg in (("rel =", "rel: program 'bin/true' must be an "
                      "absolute path"),
                     ("missing =", "missing: program /nonexistent/program: "
                      "No such file or directory"),
                     ("timeout_ms =", "timeout_ms must be a whole number "
                      "from 1 to 600000")):
        line = text.split("\n").index(
            next(l for l in text.split("\n") if l.startswith(key))) + 1
        want = "%s:%d: [exec] %s" % (path, line, msg)
        check(want in err, "stderr lacks %r:\n%s" % (want, err))
