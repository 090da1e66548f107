"""Connection lifetime: disconnects, half-close, Unix and IPv6 listeners."""

import os
import socket
import stat

from harness import Failure, check, check_eq, wait_until


def ipv6_loopback_works():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def test_disconnect_while_command_runs(t):
    # The client resets the connection while its command runs: the result
    # is discarded safely (teardown's sanitizer check proves no leak or
    # use-after-free) and the daemon carries on.
    d = t.start(server={"command_timeout_ms": "2000"})
    watcher = d.connect()
    c = d.connect()
    c.send_lines(["diag sleep 500", "#t diag sleep 300", "PING"])
    wait_until(lambda: watcher.stats()["inflight"] == 2, what="inflight=2")
    c.abort()
    s = wait_until(lambda: (lambda s: s if s["clients"] == 1 else None)(
        watcher.stats()), what="clients=1")
    # PING's reply waits behind "diag sleep 500", so it is dropped too.
    check_eq(s["dropped_total"], 3, "dropped_total")
    wait_until(lambda: watcher.stats()["inflight"] == 0, what="inflight=0")
    check_eq(watcher.request("diag sleep 10"), "OK slept 10", "still serving")
    s = watcher.stats()
    check_eq(s["timeouts_total"], 0, "timeouts_total")
    check_eq(s["dropped_total"], 3, "dropped_total afterwards")


def test_disconnect_while_commands_are_queued(t):
    # One worker: of 4 requests, one runs and 3 wait in the queue when the
    # client goes; each is discarded once, then the worker is free again.
    d = t.start(server={"workers": "1", "command_timeout_ms": "3000"})
    watcher = d.connect()
    c = d.connect()
    c.send_lines(["diag sleep 300", "diag sleep 10", "#a diag sleep 10",
                  "diag error DEVICE x"])
    wait_until(lambda: watcher.stats()["inflight"] == 4, what="inflight=4")
    c.abort()
    wait_until(lambda: watcher.stats()["inflight"] == 0, what="inflight=0")
    s = watcher.stats()
    check_eq(s["dropped_total"], 4, "dropped_total")
    check_eq(s["clients"], 1, "clients")
    check_eq(watcher.request("diag sleep 1"), "OK slept 1", "still serving")


def test_disconnect_before_a_timeout(t):
    # The request's timer must die with its connection.
    d = t.start(server={"command_timeout_ms": "300"})
    watcher = d.connect()
    c = d.connect()
    c.send_line("diag sleep 1000")
    wait_until(lambda: watcher.stats()["inflight"] == 1, what="inflight=1")
    c.abort()
    wait_until(lambda: watcher.stats()["inflight"] == 0, what="inflight=0")
    s = watcher.stats()
    check_eq(s["dropped_total"], 1, "dropped_total")
    check_eq(s["timeouts_total"], 0, "timeouts_total")
    check_eq(watcher.request("PING"), "OK PONG", "still serving")


def test_close_while_command_runs(t):
    # A plain close (FIN, unlike the reset above): the daemon cannot tell
    # it from a half-close, writes the reply into the void and goes on.
    d = t.start()
    watcher = d.connect()
    c = d.connect()
    c.send_line("diag sleep 300")
    wait_until(lambda: watcher.stats()["inflight"] == 1, what="inflight=1")
    c.close()
    wait_until(lambda: watcher.stats()["clients"] == 1, what="clients=1")
    check_eq(watcher.request("PING"), "OK PONG", "still serving")


def test_half_close_still_gets_every_reply(t):
    c = t.start().connect()
    c.send_lines(["diag sleep 300", "#t diag sleep 100", "PING", "ECHO last"])
    c.shutdown_write()
    replies = c.read_lines(4)
    check_eq(sorted(replies), sorted(["#t OK slept 100", "OK slept 300",
                                      "OK PONG", "OK last"]), "replies")
    check_eq([r for r in replies if not r.startswith("#")],
             ["OK slept 300", "OK PONG", "OK last"], "untagged order")
    c.expect_eof()


def test_last_line_without_newline_after_half_close(t):
    c = t.start().connect()
    c.send("PING\nECHO no newline")
    c.shutdown_write()
    check_eq(c.read_lines(2), ["OK PONG", "OK no newline"], "replies")
    c.expect_eof()


def test_unix_socket_listener(t):
    path = t.path("picmd.sock")
    d = t.start(server={"listen": "unix:" + path})
    check_eq(d.listen.get("unix"), path, "Unix listener")
    st = os.stat(path)
    check(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % path)
    check_eq(oct(st.st_mode & 0o777), oct(0o660), "socket mode")
    c = d.connect("unix")
    check_eq(c.request("PING"), "OK PONG", "PING over Unix")
    c.send_lines(["#s diag sleep 200", "diag sleep 10", "ECHO u"])
    got = c.read_lines(3)
    check_eq(got, ["OK slept 10", "OK u", "#s OK slept 200"], "replies")
    d.stop()
    check(not os.path.exists(path), "socket file left after exit")


def test_stale_unix_socket_is_replaced(t):
    path = t.path("picmd.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()          # a socket file nobody listens on
    d = t.start(server={"listen": "unix:" + path})
    check_eq(d.connect("unix").request("PING"), "OK PONG", "PING")


def test_unix_path_that_is_not_a_socket_is_refused(t):
    path = t.path("picmd.sock")
    with open(path, "w") as f:
        f.write("precious\n")
    d = t.start(server={"listen": "unix:" + path}, wait=False)
    d.wait_line("exists and is not a socket")
    d.check_exit(1)
    with open(path) as f:
        check_eq(f.read(), "precious\n", "the file is left alone")


def test_ipv6_listener(t):
    if not ipv6_loopback_works():
        raise Failure("no IPv6 loopback on this machine")
    d = t.start(server={"listen": "[::1]:0"})
    check_eq(d.listen["tcp6"][0], "::1", "IPv6 listener")
    c = d.connect("tcp6")
    check_eq(c.request("PING"), "OK PONG", "PING over IPv6")
    check_eq(c.request("#v6 diag sleep 5"), "#v6 OK slept 5", "diag over IPv6")


def test_every_listener_kind_at_once(t):
    path = t.path("picmd.sock")
    listen = "127.0.0.1:0, [::1]:0 unix:" + path
    if not ipv6_loopback_works():
        listen = "127.0.0.1:0, unix:" + path
    d = t.start(server={"listen": listen})
    kinds = sorted(d.listen)
    want = ["tcp4", "tcp6", "unix"] if "[::1]" in listen else ["tcp4", "unix"]
    check_eq(kinds, want, "listeners")
    clients = [d.connect(k) for k in kinds]
    for k, c in zip(kinds, clients):
        check_eq(c.request("ECHO " + k), "OK " + k, "ECHO over " + k)
    check_eq(clients[0].stats()["clients"], len(kinds), "clients")
