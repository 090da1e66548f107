"""Limits: command_timeout_ms, max_line, max_clients, idle_timeout_s."""

import time

from harness import (check, check_between, check_eq, check_match,
                     elapsed_since, wait_until)


def wait_workers_idle(c):
    """Poll STATS until no plugin command is queued or running."""
    wait_until(lambda: c.stats()["inflight"] == 0, what="inflight=0")


def test_timeout_of_a_running_command(t):
    c = t.start(server={"command_timeout_ms": "200"}).connect()
    start = time.monotonic()
    check_eq(c.request("diag sleep 5000"),
             "ERR TIMEOUT command did not finish within 200 ms", "reply")
    check_between(elapsed_since(start), 0.15, 2.5, "seconds to ERR TIMEOUT")
    start = time.monotonic()
    check_match(r"^#t ERR TIMEOUT ", c.request("#t diag sleep 5000"))
    check_between(elapsed_since(start), 0.15, 2.5, "seconds to tagged TIMEOUT")
    check_eq(c.request("diag sleep 10"), "OK slept 10", "a quick command")
    s = c.stats()
    check_eq(s["timeouts_total"], 2, "timeouts_total")
    check_eq(s["errors_total"], 2, "errors_total")


def test_timeout_keeps_untagged_order(t):
    c = t.start(server={"command_timeout_ms": "300"}).connect()
    c.send_lines(["ECHO first", "diag sleep 5000", "PING", "diag sleep 20"])
    replies = c.read_lines(4)
    check_eq(replies[0], "OK first", "reply 1")
    check_match(r"^ERR TIMEOUT ", replies[1])
    check_eq(replies[2:], ["OK PONG", "OK slept 20"], "replies 3 and 4")


def test_late_result_of_a_running_command_is_discarded(t):
    # tplug block ignores its deadline: the client gets ERR TIMEOUT at
    # 200 ms and nothing more when the handler finishes at 700 ms.
    pdir = t.plugin_dir(["diag", "tplug"])
    c = t.start(server={"command_timeout_ms": "200", "workers": "1"},
                plugins={"dir": pdir, "load": None}).connect()
    start = time.monotonic()
    check_match(r"^ERR TIMEOUT ", c.request("tplug block 700"))
    check(elapsed_since(start) < 0.65, "TIMEOUT waited for the handler")
    c.send_line("#x tplug block 400")
    check_match(r"^#x ERR TIMEOUT ", c.reply())
    wait_workers_idle(c)
    check_eq(c.request("PING"), "OK PONG", "next reply is PING's")
    check_eq(c.stats()["timeouts_total"], 2, "timeouts_total")


def test_queued_command_past_its_deadline_never_runs(t):
    # One worker held by #a well past the 300 ms deadline: #b and #c wait
    # in the queue, time out there, and must never run (a late
    # "gpio write" must not fire).
    pdir = t.plugin_dir(["diag", "tplug"])
    c = t.start(server={"command_timeout_ms": "300", "workers": "1"},
                plugins={"dir": pdir, "load": None}).connect()
    c.send_lines(["#a tplug block 1200", "#b diag error DEVICE ran",
                  "#c tplug mark c", "diag error DEVICE ran", "tplug mark d"])
    start = time.monotonic()
    replies = sorted(c.read_lines(5))
    check(elapsed_since(start) < 1.1, "TIMEOUT replies waited for #a")
    check_eq([r.split(" ")[:3] for r in replies],
             [["#a", "ERR", "TIMEOUT"], ["#b", "ERR", "TIMEOUT"],
              ["#c", "ERR", "TIMEOUT"], ["ERR", "TIMEOUT", "command"],
              ["ERR", "TIMEOUT", "command"]], "replies")
    wait_workers_idle(c)
    check_eq(c.request("tplug marks"), "OK", "commands that ran")
    s = c.stats()
    check_eq(s["timeouts_total"], 5, "timeouts_total")
    check_eq(s["queue_depth"], 0, "queue_depth")
    check_eq(c.request("tplug mark e"), "OK marked e", "a new command runs")
    check_eq(c.request("tplug marks"), "OK e", "commands that ran")


def test_line_too_long_closes_the_connection(t):
    d = t.start(server={"max_line": "64"})
    other = d.connect()
    check_eq(other.request("PING"), "OK PONG", "other client")
    c = d.connect()
    c.send_lines(["diag sleep 200", "#t diag sleep 100", "PING",
                  "ECHO " + "x" * 60, "PING"])
    replies = c.read_lines(4)
    check_eq(sorted(replies[:3]), ["#t OK slept 100", "OK PONG",
                                   "OK slept 200"], "earlier replies")
    check_eq(replies[3], "ERR TOOLONG line longer than 64 bytes", "TOOLONG")
    c.expect_eof()
    check_eq(other.request("PING"), "OK PONG", "other client afterwards")
    # Without a newline in sight, the line is too long just as well.
    c2 = d.connect()
    c2.send("ECHO " + "y" * 500)
    check_eq(c2.reply(), "ERR TOOLONG line longer than 64 bytes", "no LF")
    c2.expect_eof()
    check_eq(other.request("PING"), "OK PONG", "other client at the end")


def test_line_of_exactly_max_line_bytes_is_accepted(t):
    c = t.start(server={"max_line": "64"}).connect()
    word = "x" * 59
    line = "ECHO " + word
    check_eq(len(line), 64, "line length")
    check_eq(c.request(line), "OK " + word, "64 bytes + LF")
    c.send(line + "\r\n")
    check_eq(c.reply(), "OK " + word, "64 bytes + CRLF")
    c.send(line + "z\r\n")
    check_eq(c.reply(), "ERR TOOLONG line longer than 64 bytes", "65 bytes")
    c.expect_eof()


def test_max_clients(t):
    d = t.start(server={"max_clients": "2"})
    a, b = d.connect(), d.connect()
    check_eq(a.request("PING"), "OK PONG", "client 1")
    check_eq(b.request("PING"), "OK PONG", "client 2")
    c = d.connect()
    check_eq(c.reply(), "ERR BUSY too many clients", "third client")
    c.expect_eof()
    check_eq(a.request("ECHO a"), "OK a", "client 1 afterwards")
    check_eq(b.request("ECHO b"), "OK b", "client 2 afterwards")
    s = a.stats()
    check_eq(s["rejected_total"], 1, "rejected_total")
    check_eq(s["clients"], 2, "clients")
    # A slot frees when a client leaves.
    b.close()
    wait_until(lambda: a.stats()["clients"] == 1, what="clients=1")
    e = d.connect()
    check_eq(e.request("PING"), "OK PONG", "client after a slot freed")


def test_idle_clients_are_closed(t):
    d = t.start(server={"idle_timeout_s": "1"})
    idle = d.connect()
    waiting = [d.connect() for _ in range(3)]
    start = time.monotonic()
    for c in waiting:
        c.send_line("diag sleep 2000")
    idle.expect_eof(timeout=10)
    check_between(elapsed_since(start), 0.9, 5.0, "seconds to idle close")
    # Waiting for a reply is not idling, and the reply is never lost to
    # the idle timer, even when both are due at once.
    for c in waiting:
        check_eq(c.reply(), "OK slept 2000", "reply after 2 s")
    # Idle time counts from the last request: now they are idle.
    for c in waiting:
        c.expect_eof(timeout=10)


def test_active_client_is_not_idle(t):
    d = t.start(server={"idle_timeout_s": "1"})
    c = d.connect()
    for i in range(5):
        time.sleep(0.4)
        check_eq(c.request("ECHO %d" % i), "OK %d" % i, "request %d" % i)
