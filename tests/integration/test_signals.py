"""Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT drain."""

import os
import signal
import socket
import time

from harness import (check, check_between, check_eq, check_match,
                     elapsed_since, line_number, wait_until)


def refuses_new_clients(d, kind=None):
    """True when a new connection gets no service: refused, reset, or
    closed without a reply to PING."""
    try:
        c = d.connect(kind, timeout=5)
    except OSError:
        return True
    try:
        c.send_line("PING")
        return c.read_line(timeout=5) is None
    except (ConnectionResetError, BrokenPipeError):
        return True


def wait_inflight(d, n):
    """Wait until n plugin commands are queued or running, asking on a
    connection of its own (which a drain then closes as idle)."""
    probe = d.connect()
    wait_until(lambda: probe.stats()["inflight"] == n, what="inflight=%d" % n)


def test_sighup_applies_new_settings_to_new_requests(t):
    d = t.start(server={"command_timeout_ms": "3000"})
    c = d.connect()
    check_eq(c.request("diag sleep 300"), "OK slept 300", "before reload")
    c.send_line("#old diag sleep 800")
    wait_inflight(d, 1)
    check(not any(": debug: " in line for line in d.stderr().split("\n")),
          "debug lines at level info")

    t.config(server={"command_timeout_ms": "200"}, log={"level": "debug"})
    mark = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_line("info: reloaded", start=mark)

    # The request read before the reload keeps its 3 s deadline.
    check_eq(c.reply(), "#old OK slept 800", "request from before the reload")
    # New requests on the old connection get the new timeout.
    start = time.monotonic()
    check_eq(c.request("diag sleep 2000"),
             "ERR TIMEOUT command did not finish within 200 ms", "after reload")
    check(elapsed_since(start) < 1.5, "new timeout not applied")
    # The new log level shows on a new connection.
    c2 = d.connect()
    check_eq(c2.request("PING"), "OK PONG", "new connection")
    d.wait_line(": debug: ", start=mark)
    check_eq(c.request("PING"), "OK PONG", "old connection still works")


def test_sighup_shorter_timeout_overtakes_older_deadlines(t):
    # Deadlines are kept in order; a reload that shortens the timeout
    # gives a new request a deadline before those already waiting, and
    # it must still be answered on time.  "tplug block" ignores its
    # deadline, so only the deadline timer can answer it early.
    plugins = t.plugin_dir(["diag", "tplug"])
    d = t.start(server={"command_timeout_ms": "6000", "workers": "2"},
                plugins={"dir": plugins, "load": None})
    old = d.connect()
    old.send_line("#old tplug block 3000")
    wait_inflight(d, 1)

    t.config(server={"command_timeout_ms": "200", "workers": "2"},
             plugins={"dir": plugins, "load": None})
    mark = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_line("info: reloaded", start=mark)

    c = d.connect()
    start = time.monotonic()
    check_eq(c.request("tplug block 3000"),
             "ERR TIMEOUT command did not finish within 200 ms", "new request")
    check(elapsed_since(start) < 2.0,
          "answered after %.2f s: its deadline waited behind the older one"
          % elapsed_since(start))
    check_eq(old.reply(), "#old OK blocked 3000", "older request")
    check_eq(c.stats()["timeouts_total"], 1, "timeouts_total")


def test_sighup_with_a_bad_config_keeps_the_running_one(t):
    d = t.start(server={"command_timeout_ms": "200"})
    c = d.connect()
    text = t.config_text(server={"command_timeout_ms": "soon"},
                         log={"level": "debug"})
    path = t.write_config(text)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_line("reload failed; keeping the running configuration",
                start=mark)
    d.wait_line("%s:%d: bad value 'soon'" % (
        path, line_number(text, "command_timeout_ms")), start=mark)
    check_eq(c.request("PING"), "OK PONG", "old connection")
    check_match(r"^ERR TIMEOUT .* 200 ms$", c.request("diag sleep 2000"))
    c2 = d.connect()
    check_eq(c2.request("ECHO new"), "OK new", "new connection")
    check(not any(": debug: " in line
                  for line in d.stderr().split("\n")[mark:]),
          "the bad config's log level was applied")

    # A section for a plugin that is not loaded is refused the same way.
    text = t.config_text(server={"command_timeout_ms": "5000"},
                         extra="[nosuch]\nkey = 1\n")
    t.write_config(text)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_line("reload failed", start=mark)
    d.wait_line("%s:%d: section [nosuch]" % (path, line_number(text,
                                                                "[nosuch]")),
                start=mark)
    check_match(r"^ERR TIMEOUT .* 200 ms$", c.request("diag sleep 2000"))

    # A good config again is taken.
    t.config(server={"command_timeout_ms": "5000"})
    mark = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_line("info: reloaded", start=mark)
    check_eq(c.request("diag sleep 400"), "OK slept 400", "after good reload")


def test_sigterm_drains_then_exits(t):
    path = t.path("picmd.sock")
    d = t.start(server={"listen": "127.0.0.1:0 unix:" + path})
    slow = d.connect()
    tagged = d.connect("unix")
    idle = d.connect()
    slow.send_line("diag sleep 1000")
    tagged.send_lines(["#t diag sleep 700", "diag sleep 300", "PING"])
    wait_until(lambda: idle.stats()["inflight"] == 3, what="inflight=3")

    mark = d.mark()
    start = time.monotonic()
    d.signal(signal.SIGTERM)
    d.wait_line("SIGTERM: draining", start=mark)
    check(refuses_new_clients(d), "a new TCP client was served after SIGTERM")
    wait_until(lambda: not os.path.exists(path),
               what="Unix socket file removed")

    idle.expect_eof()
    check_eq(slow.reply(), "OK slept 1000", "slow client")
    slow.expect_eof()
    got = tagged.read_lines(3)
    check_eq(sorted(got), ["#t OK slept 700", "OK PONG", "OK slept 300"],
             "tagged client")
    tagged.expect_eof()
    d.check_exit(0)
    check_between(elapsed_since(start), 0.9, 5.0, "seconds to drain")
    d.wait_line("info: stopped", start=mark)


def test_sigint_drains_like_sigterm(t):
    d = t.start()
    c = d.connect()
    c.send_line("#i diag sleep 400")
    wait_inflight(d, 1)
    d.signal(signal.SIGINT)
    check_eq(c.reply(), "#i OK slept 400", "reply")
    c.expect_eof()
    d.check_exit(0)
    check("SIGINT: draining" in d.stderr(), "no SIGINT drain message")


def test_second_sigterm_stops_at_once(t):
    # The running command is not waited for, but still answered.
    d = t.start()
    c = d.connect()
    c.send_line("diag sleep 3000")
    # Running, not just queued: a queued one would be "not run".
    wait_stats(d.connect(), "the command running", workers_busy=1)
    mark = d.mark()
    d.signal(signal.SIGTERM)
    d.wait_line("draining", start=mark)
    d.signal(signal.SIGTERM)
    d.wait_line("stopping now", start=mark)
    # Within the 5 s drain the command would have answered OK.
    check_eq(c.reply(), "ERR TIMEOUT shutting down",
             "reply at the second SIGTERM")
    c.expect_eof(timeout=5)
    d.check_exit(0)


def wait_stats(probe, what, **want):
    """Poll STATS on probe until every key has its wanted value."""
    wait_until(lambda: all(probe.stats()[k] == v for k, v in want.items()),
               what=what)


def test_drain_deadline(t):
    # drain_timeout_s = 1, two workers busy with 2.5 s commands and one
    # command queued behind them: at about 1 s every request is answered
    # ERR TIMEOUT (the queued one never runs), in the protocol's order,
    # then each connection closes and the daemon exits 0.
    d = t.start(server={"drain_timeout_s": "1", "workers": "2"})
    probe = d.connect()
    untagged = d.connect()
    tagged = d.connect()
    queued = d.connect()
    untagged.send_lines(["diag sleep 2500", "PING"])
    tagged.send_line("#t diag sleep 2500")
    wait_stats(probe, "both workers running", workers_busy=2, inflight=2)
    queued.send_line("#q diag sleep 100")
    wait_stats(probe, "one command queued", inflight=3, queue_depth=1)
    mark = d.mark()
    start = time.monotonic()
    d.signal(signal.SIGTERM)
    d.wait_line("drain deadline passed", start=mark)
    check_eq(tagged.reply(), "#t ERR TIMEOUT shutting down", "tagged")
    check_between(elapsed_since(start), 0.8, 2.3, "seconds to the deadline")
    # PING's answer waited for the untagged command before it.
    check_eq(untagged.read_lines(2), ["ERR TIMEOUT shutting down",
                                      "OK PONG"], "untagged, in order")
    check_eq(queued.reply(), "#q ERR TIMEOUT shutting down; not run",
             "queued")
    for c in (untagged, tagged, queued, probe):
        c.expect_eof(timeout=5)
    # The workers finished their sleeps into requests nobody waits for:
    # the sanitizer build checks that no freed memory was touched.
    d.check_exit(0)
    d.wait_line("answering 3 unfinished commands", start=mark)


def test_deadline_shorter_than_a_blocking_handler(t):
    # A handler that ignores its deadline runs past the drain: its client
    # has its reply and is gone long before the handler returns, and the
    # daemon waits for the worker before it frees anything.
    plugins = t.plugin_dir(["diag", "tplug"])
    d = t.start(server={"drain_timeout_s": "1"},
                plugins={"dir": plugins, "load": None})
    c = d.connect()
    sent = time.monotonic()
    c.send_line("#b tplug block 2500")
    wait_stats(d.connect(), "handler running", workers_busy=1)
    mark = d.mark()
    d.signal(signal.SIGTERM)
    check_eq(c.reply(), "#b ERR TIMEOUT shutting down", "reply")
    c.expect_eof(timeout=5)
    answered = elapsed_since(sent)
    check(answered < 2.5, "answered %.2f s after the request: when the "
          "handler returned, not at the deadline" % answered)
    d.check_exit(0)
    check(elapsed_since(sent) >= 2.5, "exited before the handler returned")
    check(not any("a command is still running" in line
                  for line in d.stderr().split("\n")[mark:]),
          "the daemon gave up on the worker")


def test_handler_stuck_past_the_stop_wait(t):
    # A handler still blocked when the daemon stops waiting for workers:
    # its client was answered at the deadline, and the daemon exits 0
    # without freeing what that worker may still write into.
    plugins = t.plugin_dir(["diag", "tplug"])
    d = t.start(server={"drain_timeout_s": "0"},
                plugins={"dir": plugins, "load": None})
    c = d.connect()
    c.send_line("tplug block 8000")
    wait_stats(d.connect(), "handler running", workers_busy=1)
    mark = d.mark()
    d.signal(signal.SIGTERM)
    check_eq(c.reply(), "ERR TIMEOUT shutting down", "reply")
    c.expect_eof(timeout=5)
    d.check_exit(0)
    d.wait_line("a command is still running; not waiting", start=mark)


def test_lines_held_back_are_answered_not_run(t):
    # max_inflight = 1 holds the second and third lines in the daemon's
    # input while the first runs.  They are taken up only after the
    # deadline: the plugin command is answered without running, the
    # built-in runs, and the order holds.
    d = t.start(server={"drain_timeout_s": "1", "max_inflight": "1"})
    c = d.connect()
    c.send_lines(["diag sleep 3000", "diag sleep 10", "PING"])
    probe = d.connect()
    wait_stats(probe, "the first line running", workers_busy=1)
    d.signal(signal.SIGTERM)
    check_eq(c.read_lines(3), ["ERR TIMEOUT shutting down",
                               "ERR TIMEOUT shutting down; not run",
                               "OK PONG"], "replies")
    c.expect_eof(timeout=5)
    d.check_exit(0)


def test_held_untagged_lines_are_answered_not_run(t):
    # The second line has been read and waits for the first (untagged
    # commands of a connection run one at a time): at the drain deadline
    # it is answered without running, and the order holds.
    d = t.start(server={"drain_timeout_s": "1"})
    c = d.connect()
    c.send_lines(["diag sleep 3000", "diag sleep 10", "PING"])
    probe = d.connect()
    wait_stats(probe, "the first line running", workers_busy=1)
    d.signal(signal.SIGTERM)
    check_eq(c.read_lines(3), ["ERR TIMEOUT shutting down",
                               "ERR TIMEOUT shutting down; not run",
                               "OK PONG"], "replies")
    c.expect_eof(timeout=5)
    d.check_exit(0)


def test_sigterm_100_clients_get_one_line_each(t):
    # 100 connections with one 300 ms command each on 4 workers need
    # 7.5 s; the drain allows 5: each client gets exactly one line, the
    # result or the shutdown error, then EOF, and the daemon exits.
    n = 100
    d = t.start(server={"drain_timeout_s": "5", "workers": "4"})
    probe = d.connect()
    clients = [d.connect() for _ in range(n)]
    start = time.monotonic()
    for c in clients:
        c.send_line("diag sleep 300")
    asked = [0]

    def all_read():
        asked[0] += 1       # each STATS counts itself in commands_total
        return probe.stats()["commands_total"] - asked[0] >= n
    wait_until(all_read, what="%d requests read" % n)
    mark = d.mark()
    before_signal = elapsed_since(start)
    d.signal(signal.SIGTERM)
    allowed = ("OK slept 300", "ERR TIMEOUT shutting down",
               "ERR TIMEOUT shutting down; not run")
    got = []
    for i, c in enumerate(clients):
        line = c.read_line()
        check(line in allowed, "client %d: reply %r" % (i, line))
        got.append(line)
        c.expect_eof(timeout=5)
    d.check_exit(0)
    ok = got.count("OK slept 300")
    check(ok >= 1, "no command finished during the drain")
    # 4 workers cannot finish 100 x 300 ms within the 5 s drain plus the
    # time before the signal, unless that time was 2.5 s or more.
    if before_signal < 2.0:
        check(ok < n, "every command finished, though they need 7.5 s")
    d.wait_line("drain deadline passed", start=mark)


def test_drain_deadline_delivers_callback_results(t):
    # Callback mode: the result of a running command and of one still
    # queued go to the callback port as ERR TIMEOUT at the deadline.
    from test_callback import CallbackPort, check_once, queued_id
    d = t.start(server={"drain_timeout_s": "1", "workers": "1"})
    cb = CallbackPort(t)
    probe = d.connect()
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    queued_id(c.request("#run diag sleep 2500"), "run")
    wait_stats(probe, "the worker running", workers_busy=1)
    rid = queued_id(c.request("diag sleep 100"))
    wait_stats(probe, "one command queued", inflight=2, queue_depth=1)
    mark = d.mark()
    d.signal(signal.SIGTERM)
    want = ["#run ERR TIMEOUT shutting down",
            "#%s ERR TIMEOUT shutting down; not run" % rid]
    check_once(cb.collect(2), want)
    check_once(cb.drain(), want)
    c.expect_eof(timeout=5)
    d.check_exit(0)
    d.wait_line("drain deadline passed", start=mark)


def test_new_connections_refused_during_drain(t):
    d = t.start()
    c = d.connect()
    c.send_line("diag sleep 800")
    wait_inflight(d, 1)
    mark = d.mark()
    d.signal(signal.SIGTERM)
    d.wait_line("draining", start=mark)
    check(refuses_new_clients(d), "a new client was served while draining")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        err = s.connect_ex(("127.0.0.1", d.port()))
    finally:
        s.close()
    check(err != 0, "connect succeeded while draining")
    check_eq(c.reply(), "OK slept 800", "reply in flight")
    c.expect_eof()
    d.check_exit(0)
