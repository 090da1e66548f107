"""Callback delivery over real loopback sockets: CALLBACK <port>|OFF, the
OK QUEUED acknowledgement, results written to the client's own port after
the command connection is gone, one retry on a refused port, STATS
callbacks_sent/callbacks_failed, and picmd --callback."""

import re
import select
import signal
import socket
import time

from harness import (IO_TIMEOUT, Failure, check, check_between, check_eq,
                     check_match, wait_until)
from test_client import (Listener, PicmdProcess, free_port, one_line,
                         recv_line, run_picmd, start_with_tplug, tcp_args,
                         wait_exit)


class CallbackPort(Listener):
    """The test's callback listener: accepts every connection the daemon
    makes and splits what arrives into lines, counting connections."""

    def __init__(self, t, family=socket.AF_INET, host="127.0.0.1", port=0):
        super().__init__(t, family, host, port)
        self.lines = []
        self.open = {}          # socket -> bytes not yet a line
        self.per_conn = []      # lines received on each connection
        self.index = {}         # socket -> index in per_conn

    def _step(self, timeout):
        """Wait up to timeout for a connection or data and take it in."""
        ready, _, _ = select.select([self.sock] + list(self.open), [], [],
                                    max(0.0, timeout))
        for s in ready:
            if s is self.sock:
                conn, _ = self.sock.accept()
                conn.settimeout(IO_TIMEOUT)
                self.conns.append(conn)
                self.open[conn] = b""
                self.index[conn] = len(self.per_conn)
                self.per_conn.append(0)
                continue
            data = s.recv(65536)
            if not data:
                check(self.open[s] == b"", "callback connection closed "
                      "inside a line: %r" % self.open[s])
                del self.open[s]
                s.close()
                continue
            buf = self.open[s] + data
            *lines, rest = buf.split(b"\n")
            self.open[s] = rest
            for line in lines:
                self.lines.append(line.decode("utf-8", "replace"))
                self.per_conn[self.index[s]] += 1

    def collect(self, n, timeout=IO_TIMEOUT):
        """Every line received once n have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.lines) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("%d of %d callback results within %.1f s: %r"
                              % (len(self.lines), n, timeout, self.lines))
            self._step(left)
        return list(self.lines)

    def drain(self, timeout=IO_TIMEOUT):
        """Read every accepted connection to its end (the daemon closes a
        callback connection once it owes nothing more on it)."""
        deadline = time.monotonic() + timeout
        while self.open:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("callback connection still open after %.1f s"
                              % timeout)
            self._step(left)
        return list(self.lines)

    def pending_connections(self):
        """Connections waiting to be accepted right now."""
        ready, _, _ = select.select([self.sock], [], [], 0)
        return bool(ready)


def callback_config(**keys):
    return "[callback]\n" + "".join("%s = %s\n" % kv for kv in keys.items())


def check_once(lines, want, what="callback results"):
    """lines holds each wanted line exactly once and nothing else."""
    for line in lines:
        check_eq(lines.count(line), 1, "times %r was delivered" % line)
    check_eq(sorted(lines), sorted(want), what)


def queued_id(reply, tag=None):
    if tag is None:
        m = check_match(r"^OK QUEUED (\d+)$", reply, "acknowledgement")
        return m.group(1)
    check_eq(reply, "#%s OK QUEUED %s" % (tag, tag), "acknowledgement")
    return tag


# ---------------------------------------------------------------------------
# delivery


def test_result_delivered_after_command_connection_closed(t):
    d = t.start()
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    start = time.monotonic()
    rid = queued_id(c.request("diag sleep 300"))
    c.close()                       # hang up right after QUEUED
    lines = cb.collect(1)
    check_between(time.monotonic() - start, 0.25, IO_TIMEOUT,
                  "seconds until the result came")
    check_eq(lines, ["#%s OK slept 300" % rid], "callback result")

    # Same with a reset instead of a clean close.
    c2 = d.connect()
    check_eq(c2.request("#set CALLBACK %d" % cb.port), "#set OK",
             "tagged CALLBACK")
    queued_id(c2.request("#r diag sleep 200"), "r")
    c2.abort()
    lines = cb.collect(2)
    check_eq(lines[1], "#r OK slept 200", "result after a reset")
    check_once(cb.drain(), ["#%s OK slept 300" % rid, "#r OK slept 200"])
    s = d.connect().stats()
    check_eq((s["callbacks_sent"], s["callbacks_failed"]), (2, 0),
             "callbacks_sent, callbacks_failed")


def test_raw_listener_reads_tagged_result(t):
    # The example from the issue: #job1 diag sleep 100.
    d = t.start()
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    check_eq(c.request("#job1 diag sleep 100"), "#job1 OK QUEUED job1",
             "acknowledgement")
    c.close()
    check_eq(cb.collect(1), ["#job1 OK slept 100"], "callback result")
    check_eq(cb.drain(), ["#job1 OK slept 100"], "all callback lines")
    check(not cb.pending_connections(), "a further callback connection")


def test_tag_ids_and_server_assigned_ids(t):
    d = t.start()
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    c.send_lines(["#job1 diag sleep 100", "diag sleep 10", "diag sleep 20",
                  "#job2 diag error DEVICE boom", "diag sleep 0",
                  "diag error BUSY later"])
    replies = c.read_lines(6)
    queued_id(replies[0], "job1")
    queued_id(replies[3], "job2")
    ids = [int(queued_id(replies[i])) for i in (1, 2, 4, 5)]
    check_eq(ids, sorted(set(ids)), "server ids (distinct, increasing)")

    c2 = d.connect()
    check_eq(c2.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    more = [int(queued_id(c2.request("diag sleep 5"))) for _ in range(2)]
    check(more[0] > ids[-1] and more[1] > more[0],
          "ids on a second connection %r after %r" % (more, ids))
    # A tag that looks like a number is still the tag.
    queued_id(c2.request("#77 diag sleep 1"), "77")

    want = ["#job1 OK slept 100", "#%d OK slept 10" % ids[0],
            "#%d OK slept 20" % ids[1], "#job2 ERR DEVICE boom",
            "#%d OK slept 0" % ids[2], "#%d ERR BUSY later" % ids[3],
            "#%d OK slept 5" % more[0], "#%d OK slept 5" % more[1],
            "#77 OK slept 1"]
    cb.collect(len(want))
    check_once(cb.drain(), want)
    s = c.stats()
    check_eq((s["callbacks_sent"], s["callbacks_failed"]), (len(want), 0),
             "callbacks_sent, callbacks_failed")


def test_results_share_connections_and_arrive_once(t):
    d = t.start(server={"workers": "4"})
    cb = CallbackPort(t)
    want = []
    conns = []
    for k in range(3):
        c = d.connect()
        conns.append(c)
        check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
        lines = []
        if k == 0:
            lines.append("#long diag sleep 1000")
            want.append("#long OK slept 1000")
        for i in range(15):
            ms = (i * 37 + k * 11) % 120
            if i % 3 == 0:
                lines.append("#c%dr%d diag sleep %d" % (k, i, ms))
                want.append("#c%dr%d OK slept %d" % (k, i, ms))
            else:
                lines.append("diag sleep %d" % ms)
                want.append(ms)     # id known once queued
        c.send_lines(lines)
        replies = c.read_lines(len(lines))
        base = len(want) - len(lines)
        for j, (line, reply) in enumerate(zip(lines, replies)):
            if line.startswith("#"):
                tag = line[1:].split(" ", 1)[0]
                queued_id(reply, tag)
            else:
                rid = queued_id(reply)
                want[base + j] = "#%s OK slept %d" % (rid, want[base + j])
        if k == 1:
            c.close()               # results still come
    cb.collect(len(want))
    check_once(cb.drain(), want)
    check(not cb.pending_connections(), "a further callback connection")
    check_between(len(cb.per_conn), 1, len(want), "callback connections")
    check_eq(sum(cb.per_conn), len(want), "lines over all connections")
    s = conns[0].stats()
    check_eq((s["callbacks_sent"], s["callbacks_failed"]), (len(want), 0),
             "callbacks_sent, callbacks_failed")


def test_errors_before_queueing_are_answered_directly(t):
    d = t.start(server={"workers": "1", "queue": "1"})
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    c.send_lines(["nosuch", "diag sleep", "diag sleep 1 2", 'diag sleep "x',
                  "#t nosuch", "#u diag", "#bad!tag diag sleep 1", "PING",
                  "ECHO a b", "#v ECHO c", "HELP diag sleep",
                  "diag sleep 10"])
    replies = c.read_lines(12)
    for got, want in zip(replies, [
            r"^ERR UNKNOWN ", r"^ERR ARGS usage: diag sleep <ms>$",
            r"^ERR ARGS ", r"^ERR PROTO ", r"^#t ERR UNKNOWN ",
            r"^#u ERR UNKNOWN ", r"^ERR PROTO ", r"^OK PONG$", r"^OK a b$",
            r"^#v OK c$", r"^OK diag sleep <ms>$", r"^OK QUEUED \d+$"]):
        check_match(want, got, "direct reply")
    rid = queued_id(replies[-1])
    check_eq(cb.collect(1), ["#%s OK slept 10" % rid], "the one result")
    cb.drain()

    # BUSY: one worker and a queue of one; the rest is refused at once and
    # never delivered.
    c.send_lines(["#b%d diag sleep 300" % i for i in range(6)])
    replies = c.read_lines(6)
    queued = [r for r in replies if " OK QUEUED " in r]
    busy = [r for r in replies if " ERR BUSY " in r]
    check_eq(len(queued) + len(busy), 6, "QUEUED or BUSY: %r" % replies)
    check_between(len(queued), 1, 2, "accepted commands")
    for r in queued:
        tag = r.split(" ")[0][1:]
        queued_id(r, tag)
    want = ["#%s OK slept 300" % r.split(" ")[0][1:] for r in queued]
    cb.collect(1 + len(want))
    check_once(cb.drain(), ["#%s OK slept 10" % rid] + want)
    s = c.stats()
    check_eq(s["busy_total"], len(busy), "busy_total")
    check_eq((s["callbacks_sent"], s["callbacks_failed"]),
             (1 + len(want), 0), "callbacks_sent, callbacks_failed")


def test_callback_off_returns_to_normal_replies(t):
    d = t.start()
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK OFF"), "OK", "CALLBACK OFF when off")
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    queued_id(c.request("#a diag sleep 200"), "a")
    check_eq(c.request("callback off"), "OK", "callback off")
    check_eq(c.request("diag sleep 10"), "OK slept 10", "normal reply")
    check_eq(c.request("#b diag sleep 10"), "#b OK slept 10",
             "normal tagged reply")
    check_eq(cb.collect(1), ["#a OK slept 200"],
             "result queued before OFF still delivered")
    check_eq(c.request("#on CALLBACK %d" % cb.port), "#on OK", "on again")
    queued_id(c.request("#c diag sleep 1"), "c")
    check_once(cb.collect(2), ["#a OK slept 200", "#c OK slept 1"])
    cb.drain()
    check_eq(c.request("CALLBACK Off"), "OK", "CALLBACK Off")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "normal again")


# ---------------------------------------------------------------------------
# denied


def test_port_outside_range_is_denied(t):
    d = t.start(extra=callback_config(ports="20000-20010"))
    c = d.connect()
    for port in (19999, 20011, 1, 1023, 65535):
        check_match(r"^ERR DENIED .*%d.*20000-20010" % port,
                    c.request("CALLBACK %d" % port), "CALLBACK %d" % port)
    check_match(r"^#d ERR DENIED ", c.request("#d CALLBACK 30000"))
    for arg in ("0", "65536", "abc", "-5", "20005x", "1 2", ""):
        check_match(r"^ERR ARGS ", c.request(("CALLBACK " + arg).strip()),
                    "CALLBACK %s" % arg)
    check_eq(c.request("diag sleep 5"), "OK slept 5",
             "still normal replies after the denials")
    for port in (20000, 20010):
        check_eq(c.request("CALLBACK %d" % port), "OK", "CALLBACK %d" % port)
    check_eq(c.request("CALLBACK OFF"), "OK", "CALLBACK OFF")

    # picmd --callback 0 picks an ephemeral port, outside 20000-20010.
    before = c.stats()["commands_total"]
    rc, out, err = run_picmd(t, *tcp_args(d), "--callback", "0", "diag",
                             "sleep", "5")
    check_eq((rc, out), (1, ""), "picmd --callback on a denied port")
    check_match(r"^DENIED .*20000-20010", one_line(err, "denied"), "stderr")
    check_eq(c.stats()["commands_total"] - before, 2, "commands_total "
             "increase (the denied client sent only CALLBACK; STATS)")

    # The default range is 1024-65535.
    d2 = t.start(name="default.ini")
    c2 = d2.connect()
    check_match(r"^ERR DENIED .*1024-65535", c2.request("CALLBACK 1023"))
    check_eq(c2.request("CALLBACK 1024"), "OK", "CALLBACK 1024")
    check_eq(c2.request("CALLBACK 65535"), "OK", "CALLBACK 65535")


def test_disabled_callbacks_are_denied(t):
    d = t.start(extra=callback_config(enabled="false"))
    c = d.connect()
    check_match(r"^ERR DENIED ", c.request("CALLBACK 40000"))
    check_eq(c.request("CALLBACK OFF"), "OK", "CALLBACK OFF")
    check_eq(c.request("diag sleep 5"), "OK slept 5", "normal reply")
    rc, out, err = run_picmd(t, *tcp_args(d), "--callback", "0", "diag",
                             "sleep", "5")
    check_eq((rc, out), (1, ""), "picmd --callback with callbacks disabled")
    check_match(r"^DENIED ", one_line(err, "disabled"), "stderr")


def test_callback_on_unix_socket_is_denied(t):
    sock = t.path("cb.sock")
    d = t.start(server={"listen": "127.0.0.1:0 unix:" + sock})
    u = d.connect("unix")
    check_match(r"^ERR DENIED ", u.request("CALLBACK 40000"))
    check_match(r"^#x ERR DENIED ", u.request("#x CALLBACK 40000"))
    check_eq(u.request("diag sleep 5"), "OK slept 5", "normal reply")
    c = d.connect("tcp4")
    check_eq(c.request("CALLBACK 40000"), "OK", "CALLBACK over TCP")
    check_eq(c.request("CALLBACK OFF"), "OK", "CALLBACK OFF")
    rc, out, err = run_picmd(t, "-u", sock, "--callback", "0", "diag",
                             "sleep", "5")
    check(rc in (1, 2), "picmd -u --callback exit status %d" % rc)
    check_eq(out, "", "stdout")
    one_line(err, "picmd -u --callback")
    check_eq(u.stats()["callbacks_sent"], 0, "callbacks_sent")


# ---------------------------------------------------------------------------
# failures


def test_refused_callback_port_is_retried_once(t):
    d = t.start(log={"level": "debug"},
                extra=callback_config(retry_ms="300",
                                      connect_timeout_ms="2000"))
    port = free_port()
    c = d.connect()
    before = c.stats()
    mark = d.mark()
    check_eq(c.request("CALLBACK %d" % port), "OK", "CALLBACK")
    c.send_lines(["diag sleep 10", "#f2 diag sleep 10",
                  "diag error DEVICE x"])
    for r in c.read_lines(3):
        check_match(r"^(#f2 )?OK QUEUED ", r, "acknowledgement")
    start = time.monotonic()
    needle = "callback to 127.0.0.1:%d failed" % port
    d.wait_line(needle, start=mark)
    check(time.monotonic() - start >= 0.25,
          "failure logged %.3f s after QUEUED: no retry after retry_ms=300"
          % (time.monotonic() - start))
    wait_until(lambda: c.stats()["callbacks_failed"] -
               before["callbacks_failed"] >= 3, what="callbacks_failed += 3")
    s = c.stats()
    check_eq(s["callbacks_failed"] - before["callbacks_failed"], 3,
             "callbacks_failed increase")
    check_eq(s["callbacks_sent"], before["callbacks_sent"], "callbacks_sent")

    # Each failure is one retry, then the drop; the drops add up to 3.
    log = d.stderr().split("\n")[mark:]
    retries = [x for x in log if "callback to 127.0.0.1:%d: " % port in x
               and "retrying" in x]
    failures = [x for x in log if needle in x]
    check(len(failures) >= 1, "no failure logged")
    check_eq(len(retries), len(failures), "retries per failure (%r)"
             % (retries + failures))
    dropped = sum(int(re.search(r"(\d+) results? dropped", x).group(1))
                  for x in failures)
    check_eq(dropped, 3, "results dropped in the log (%r)" % failures)

    # The daemon keeps serving, on this connection and new ones, and
    # delivers to a port that works.
    check_eq(c.request("PING"), "OK PONG", "PING after the failure")
    check_eq(d.connect().request("PING"), "OK PONG", "PING, new client")
    cb = CallbackPort(t)
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    rid = queued_id(c.request("diag sleep 10"))
    check_eq(cb.collect(1), ["#%s OK slept 10" % rid], "later result")
    cb.drain()
    s = c.stats()
    check_eq(s["callbacks_sent"] - before["callbacks_sent"], 1,
             "callbacks_sent increase")
    check_eq(s["callbacks_failed"] - before["callbacks_failed"], 3,
             "callbacks_failed increase")


def test_command_timeout_delivers_err_timeout(t):
    d = start_with_tplug(t, server={"command_timeout_ms": "300",
                                    "workers": "2"})
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    start = time.monotonic()
    rid = queued_id(c.request("diag sleep 5000"))
    # tplug block ignores its deadline: its late result must be dropped.
    queued_id(c.request("#blk tplug block 2000"), "blk")
    c.close()
    msg = "ERR TIMEOUT command did not finish within 300 ms"
    want = ["#%s %s" % (rid, msg), "#blk %s" % msg]
    check_once(cb.collect(2), want)
    check_between(time.monotonic() - start, 0.25, 1.9,
                  "seconds until the TIMEOUT results")
    c2 = d.connect()
    wait_until(lambda: c2.stats()["inflight"] == 0, what="inflight=0")
    check_once(cb.drain(), want)
    check(not cb.pending_connections(), "a late result was delivered")
    s = c2.stats()
    check_eq((s["callbacks_sent"], s["callbacks_failed"],
              s["timeouts_total"]), (2, 0, 2),
             "callbacks_sent, callbacks_failed, timeouts_total")

    rc, out, err = run_picmd(t, *tcp_args(d), "--callback", "0", "diag",
                             "sleep", "5000")
    check_eq((rc, out, err), (1, "", msg[4:] + "\n"),
             "picmd --callback on a command that times out")


def test_sigterm_still_delivers_pending_result(t):
    d = t.start()
    cb = CallbackPort(t)
    c = d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    rid = queued_id(c.request("diag sleep 500"))
    tagged = queued_id(c.request("#late diag sleep 700"), "late")
    d.signal(signal.SIGTERM)
    want = ["#%s OK slept 500" % rid, "#%s OK slept 700" % tagged]
    check_once(cb.collect(2), want)
    check_once(cb.drain(), want)
    d.check_exit(0)


# ---------------------------------------------------------------------------
# picmd --callback


def test_picmd_callback_option(t):
    d = t.start(server={"listen": "127.0.0.1:0 [::1]:0"})
    a = tcp_args(d)
    rc, out, err = run_picmd(t, *a, "--callback", "0", "diag", "sleep", "50")
    check_eq((rc, out, err), (0, "slept 50\n", ""), "--callback 0")
    port = free_port()
    rc, out, err = run_picmd(t, *a, "--callback", str(port), "diag", "sleep",
                             "20")
    check_eq((rc, out, err), (0, "slept 20\n", ""), "--callback %d" % port)
    rc, out, err = run_picmd(t, *tcp_args(d, "tcp6"), "-c", "0", "diag",
                             "sleep", "30")
    check_eq((rc, out, err), (0, "slept 30\n", ""), "--callback over IPv6")
    rc, out, err = run_picmd(t, *a, "--callback=0", "diag", "error",
                             "DEVICE", "no device")
    check_eq((rc, out, err), (1, "", "DEVICE no device\n"),
             "--callback with an ERR result")
    # Answered directly: errors known before queueing, built-ins.
    rc, out, err = run_picmd(t, *a, "--callback", "0", "nosuch")
    check_eq((rc, out), (1, ""), "--callback nosuch")
    check_match(r"^UNKNOWN ", err, "stderr")
    rc, out, err = run_picmd(t, *a, "--callback", "0", "diag", "sleep")
    check_eq((rc, out, err), (1, "", "ARGS usage: diag sleep <ms>\n"),
             "--callback with a wrong argument count")
    rc, out, err = run_picmd(t, *a, "--callback", "0", "ping")
    check_eq((rc, out, err), (0, "PONG\n", ""), "--callback ping")
    rc, out, err = run_picmd(t, *a, "--callback", "0", "echo")
    check_eq((rc, out, err), (0, "", ""), "--callback echo (bare OK)")
    c = d.connect()
    s = c.stats()
    check_eq((s["callbacks_sent"], s["callbacks_failed"]), (4, 0),
             "callbacks_sent, callbacks_failed")

    # A port already taken: picmd cannot listen on it.
    busy = Listener(t)
    rc, out, err = run_picmd(t, *a, "--callback", str(busy.port), "diag",
                             "sleep", "1")
    check_eq((rc, out), (2, ""), "--callback on a port in use")
    check(str(busy.port) in one_line(err, "port in use"),
          "message does not name the port: %r" % err)

    # picmd gives up after --timeout; the daemon's delivery then fails.
    rc, out, err = run_picmd(t, *a, "--timeout", "300", "--callback", "0",
                             "diag", "sleep", "1200")
    check_eq((rc, out), (2, ""), "--callback past --timeout")
    check_match(r"(?i)(no result|time)", one_line(err, "timeout"), "stderr")
    wait_until(lambda: c.stats()["callbacks_failed"] == 1,
               timeout=IO_TIMEOUT + 3, what="callbacks_failed=1")
    check_eq(c.stats()["callbacks_sent"], 4, "callbacks_sent")


def _fake_daemon_handshake(srv, queued=b"OK QUEUED 7\n"):
    """Play the daemon's part up to OK QUEUED; the client's callback port."""
    conn = srv.accept()
    m = check_match(r"^CALLBACK (\d+)$", recv_line(conn), "first request")
    conn.sendall(b"OK\n")
    check_eq(recv_line(conn), "diag sleep 1", "the command")
    conn.sendall(queued)
    check_eq(recv_line(conn), None, "EOF: picmd hangs up after QUEUED")
    return int(m.group(1))


def test_picmd_callback_waits_for_its_own_id(t):
    # A fake daemon, so the callback port can be fed other ids first.
    srv = Listener(t)
    p = PicmdProcess(t, ["-p", str(srv.port), "--callback", "0", "diag",
                         "sleep", "1"])
    port = _fake_daemon_handshake(srv)
    first = socket.create_connection(("127.0.0.1", port), IO_TIMEOUT)
    try:
        first.sendall(b"#6 OK earlier\n#77 OK other\n")
    finally:
        first.close()
    second = socket.create_connection(("127.0.0.1", port), IO_TIMEOUT)
    try:
        second.sendall(b"#70 OK wrong\n#x7 OK wrong\n#7x OK wrong\n"
                       b"#7 ERR DEVICE mine\n#7 OK not this one\n")
        rc, out, err = p.finish()
    finally:
        second.close()
    check_eq((rc, out, err), (1, "", "DEVICE mine\n"), "picmd's result")


def test_picmd_callback_timeout_while_other_ids_stream_in(t):
    # Lines for other ids keep coming: --timeout still bounds the wait.
    srv = Listener(t)
    p = PicmdProcess(t, ["-p", str(srv.port), "--timeout", "500",
                         "--callback", "0", "diag", "sleep", "1"])
    port = _fake_daemon_handshake(srv)
    feed = socket.create_connection(("127.0.0.1", port), IO_TIMEOUT)
    start = time.monotonic()
    try:
        feed.settimeout(1.0)
        while p.proc.poll() is None and time.monotonic() - start < 4.0:
            try:
                feed.sendall(b"#6 OK other\n" * 64)
            except (socket.timeout, OSError):
                break
        # Then nothing more, and the connection stays open.
        exited = wait_exit(p, 3.0)
        check(exited, "picmd --timeout 500 still waiting %.1f s later"
              % (time.monotonic() - start))
        rc, out, err = p.finish()
    finally:
        feed.close()
    check_eq((rc, out), (2, ""), "picmd past its --timeout")
    check_match(r"(?i)(no result|time)", one_line(err, "timeout"), "stderr")
