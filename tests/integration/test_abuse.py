"""Faults and abuse (issue 6): the real daemon over loopback TCP, fed what
a hostile or broken peer sends.  Each case asserts its own outcome, and
then that the daemon is still fine (after_case):

- it answers PING on a fresh connection;
- its resident memory (VmRSS in /proc/PID/status) stays below the
  baseline taken at start plus RSS_SLACK_MB (more under a sanitizer or
  valgrind, see Memory), and for cases run in rounds does not keep
  growing from round to round;
- its STATS counters add up on an otherwise idle daemon:
  commands_total = replies_total + dropped_total + 1 (the STATS request
  itself is the one not yet answered).

Counts and times are bounded everywhere; every socket operation has a
timeout.  Random input comes from a seeded generator whose seed is in the
failure message, so a failing run can be replayed.
"""

import errno
import os
import random
import re
import select
import signal
import socket
import threading
import time

from harness import (EXIT_TIMEOUT, IO_TIMEOUT, SLOW, WRAPPER, Failure, check,
                     check_between, check_eq, check_match, elapsed_since,
                     wait_until)

KiB = 1024
MiB = 1024 * KiB
RSS_SLACK_MB = 20       # growth of VmRSS over the baseline allowed

TOKEN = "abuse-token-0123"


# AddressSanitizer keeps freed memory in a quarantine (256 MiB by
# default) to catch use after free; that memory counts in RSS.  The
# daemons here get a smaller one, so a bound on RSS still means something
# under ASan: RSS_SLACK plus the quarantine and its shadow.
ASAN_QUARANTINE_MB = 16


def _sanitizer(t):
    """How the daemon was built: "address", "thread" or None."""
    try:
        with open(t.picmdd, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"__asan_init" in data:
        return "address"
    if b"__tsan_init" in data:
        return "thread"
    return None


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failure("no VmRSS for pid %d" % pid)


class Memory:
    """The daemon's resident memory against a baseline taken at start."""

    def __init__(self, t, d):
        self.pid = d.pid
        san = _sanitizer(t)
        if WRAPPER or san == "thread":
            # valgrind's and TSan's own bookkeeping grows with the heap.
            slack, round_slack = 96, 48
        elif san == "address":
            # The quarantine fills over the first rounds, then stays.
            slack = RSS_SLACK_MB + 2 * ASAN_QUARANTINE_MB
            round_slack = 4 + 2 * ASAN_QUARANTINE_MB
        else:
            slack, round_slack = RSS_SLACK_MB, 4
        self.slack = slack * MiB // KiB
        self.round_slack = round_slack * MiB // KiB
        self.base = rss_kib(self.pid)
        self.rounds = []

    def check(self, what):
        now = rss_kib(self.pid)
        check(now < self.base + self.slack,
              "%s: VmRSS %d KiB, baseline %d KiB: grew by more than %d KiB"
              % (what, now, self.base, self.slack))
        return now

    def round_done(self, what):
        self.rounds.append(self.check(what))

    def check_rounds(self, what):
        """Later rounds did not grow past the first one (by more than a
        few MiB of allocator noise)."""
        check(len(self.rounds) >= 2, "fewer than two rounds measured")
        first = self.rounds[0]
        check(max(self.rounds[1:]) < first + self.round_slack,
              "%s: VmRSS per round %r KiB keeps growing (first %d KiB)"
              % (what, self.rounds, first))


def start(t, server=None, extra="", **kw):
    """A daemon on 127.0.0.1 and a Unix socket; 4 workers."""
    srv = {"listen": "127.0.0.1:0, unix:" + t.path("picmd.sock"),
           "workers": "4"}
    srv.update(server or {})
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + \
        "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB
    try:
        return t.start(server=srv, extra=extra, **kw)
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old


def balanced(d, clients=None, timeout=IO_TIMEOUT):
    """Wait until the daemon is idle (no plugin command in flight) and its
    counters add up, asking STATS on fresh Unix connections; the last
    STATS.  clients: also wait for that many connections (the probe
    included)."""
    deadline = time.monotonic() + timeout
    while True:
        c = d.connect("unix")
        try:
            s = c.stats()
        finally:
            c.close()
        ok = (s["inflight"] == 0 and s["commands_total"] ==
              s["replies_total"] + s["dropped_total"] + 1 and
              (clients is None or s["clients"] == clients))
        if ok:
            return s
        if time.monotonic() >= deadline:
            raise Failure("counters do not add up on an idle daemon within "
                          "%.1f s: commands_total=%d replies_total=%d "
                          "dropped_total=%d inflight=%d clients=%d%s"
                          % (timeout, s["commands_total"], s["replies_total"],
                             s["dropped_total"], s["inflight"], s["clients"],
                             "" if clients is None else
                             " (waiting for clients=%d)" % clients))
        time.sleep(0.05)


def after_case(d, mem, what, clients=None):
    """The daemon answers PING on a fresh connection, its counters add up
    and its memory is bounded; the STATS that showed it."""
    c = d.connect("tcp4")
    try:
        check_eq(c.request("PING"), "OK PONG", "%s: PING afterwards" % what)
    finally:
        c.close()
    s = balanced(d, clients=clients)
    mem.check(what)
    return s


def read_until_closed(c, timeout=IO_TIMEOUT, partial_ok=False):
    """Every reply line until the daemon closes (EOF or reset).  A partial
    line cut by the close is returned as is, or dropped with partial_ok
    (a close without warning, as for HTTP, may cut a reply not yet sent
    in full)."""
    lines = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("connection still open after %.1f s (replies so "
                          "far: %r)" % (timeout, lines[-5:]))
        try:
            line = c.read_line(left)
        except (ConnectionResetError, BrokenPipeError):
            return lines
        except Failure as e:
            if "closed inside a line" in str(e):
                if partial_ok:
                    return lines
                return lines + [c.buf.decode("utf-8", "replace")]
            raise
        if line is None:
            return lines
        lines.append(line)


def is_closed(sock, timeout=0.0):
    """True when the peer closed (EOF or reset) within timeout; data that
    arrives meanwhile is discarded."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        return False
    try:
        data = sock.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (BlockingIOError, socket.timeout):
        return False
    return data == b""


class Writer(threading.Thread):
    """Send data on a socket in the background, in chunks, tolerating the
    daemon's close; at most `limit` seconds."""

    def __init__(self, sock, data, chunk=64 * KiB, limit=30.0,
                 shutdown=False):
        super().__init__(daemon=True)
        self.sock = sock
        self.data = data
        self.chunk = chunk
        self.limit = limit
        self.shutdown = shutdown
        self.sent = 0
        self.error = None
        self.start()

    def run(self):
        deadline = time.monotonic() + self.limit
        view = memoryview(self.data)
        try:
            while self.sent < len(view) and time.monotonic() < deadline:
                n = self.sock.send(view[self.sent:self.sent + self.chunk])
                self.sent += n
            if self.shutdown:
                self.sock.shutdown(socket.SHUT_WR)
        except socket.timeout:
            self.error = "timeout"
        except OSError as e:
            self.error = e.errno

    def finish(self, timeout=IO_TIMEOUT):
        self.join(timeout)
        check(not self.is_alive(), "writer still sending after %.1f s"
              % timeout)


# ---------------------------------------------------------------------------
# huge and hostile input


def test_megabyte_line_without_newline(t):
    d = start(t)
    mem = Memory(t, d)
    line = b"ECHO " + b"x" * MiB
    for r in range(3):
        clients = [d.connect("tcp4") for _ in range(4)]
        writers = [Writer(c.sock, line) for c in clients]
        for c in clients:
            check_eq(read_until_closed(c),
                     ["ERR TOOLONG line longer than 4096 bytes"],
                     "round %d: replies to a 1 MiB line" % r)
        for w in writers:
            w.finish()
        after_case(d, mem, "1 MiB lines, round %d" % r)
        mem.round_done("1 MiB lines, round %d" % r)
    mem.check_rounds("1 MiB lines")
    # The largest max_line: the daemon holds up to 1 MiB per connection
    # and lets it go again.
    d2 = start(t, name="big.ini", server={
        "max_line": "1048576", "listen": "127.0.0.1:0, unix:" +
        t.path("big.sock")})
    mem2 = Memory(t, d2)
    for r in range(3):
        clients = [d2.connect("tcp4") for _ in range(4)]
        writers = [Writer(c.sock, line + b"tail") for c in clients]
        for c in clients:
            check_eq(read_until_closed(c),
                     ["ERR TOOLONG line longer than 1048576 bytes"],
                     "round %d: max_line 1048576" % r)
        for w in writers:
            w.finish()
        after_case(d2, mem2, "max_line 1 MiB, round %d" % r)
        mem2.round_done("max_line 1 MiB, round %d" % r)
    mem2.check_rounds("max_line 1 MiB")


def _mixed_lines(n, rng):
    """n request lines of every kind; (bytes, untagged expectations as
    regexes in order, tagged expectations as a set, non-blank count)."""
    out = []
    untagged = []
    tagged = set()
    nonblank = 0
    for i in range(n):
        k = i % 12
        if k == 0:
            out.append(b"ECHO seq %d" % i)
            untagged.append(r"OK seq %d" % i)
        elif k == 1:
            out.append(b'ECHO "quoted %d"\tx' % i)
            untagged.append(r"OK quoted %d x" % i)
        elif k == 2:
            out.append(b'ECHO "open %d' % i)
            untagged.append(r"ERR PROTO .+")
        elif k == 3:
            out.append(b"nosuch%d arg" % i)
            untagged.append(r"ERR UNKNOWN unknown command 'nosuch%d' .*" % i)
        elif k == 4:
            out.append(rng.choice([b"", b"   ", b"\t \t", b"\r", b" \r"]))
            continue
        elif k == 5:
            out.append(b"ECHO crlf %d\r" % i)
            untagged.append(r"OK crlf %d" % i)
        elif k == 6:
            out.append(b"#t%d ECHO %d" % (i, i))
            tagged.add("#t%d OK %d" % (i, i))
        elif k == 7:
            out.append(b"diag error DEVICE e%d" % i)
            untagged.append(r"ERR DEVICE e%d" % i)
        elif k == 8:
            out.append(b"#p%d diag sleep 0" % i)
            tagged.add("#p%d OK slept 0" % i)
        elif k == 9:
            out.append(rng.choice([b"ECHO a\x01b %d" % i,
                                   b"#bad!%d ECHO x" % i,
                                   b"ECHO a\x7f %d" % i,
                                   b"ECHO a\x00 %d" % i]))
            untagged.append(r"ERR PROTO .+")
        elif k == 10:
            out.append(b"diag sleep 0")
            untagged.append(r"OK slept 0")
        else:
            out.append(b"#q%d nosuch" % i)
            tagged.add("#q%d ERR UNKNOWN unknown command 'nosuch' "
                       "(HELP lists commands)" % i)
        nonblank += 1
    return b"".join(x + b"\n" for x in out), untagged, tagged, nonblank


def test_ten_thousand_pipelined_mixed_lines(t):
    d = start(t)
    mem = Memory(t, d)
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data, untagged, tagged, nonblank = _mixed_lines(10000, rng)
    data += b"QUIT\n"
    c = d.connect("tcp4")
    c.sock.settimeout(IO_TIMEOUT)

    # The writer splits the stream at random points, inside lines too.
    class Splitter(threading.Thread):
        def __init__(self):
            super().__init__(daemon=True)
            self.error = None
            self.start()

        def run(self):
            pos = 0
            try:
                while pos < len(data):
                    n = rng.randint(1, 9000)
                    c.sock.sendall(data[pos:pos + n])
                    pos += n
            except OSError as e:
                self.error = e

    w = Splitter()
    got = b""
    deadline = time.monotonic() + 60 * SLOW
    while True:
        check(time.monotonic() < deadline, "seed %d: replies still coming "
              "after 60 s (%d lines)" % (seed, got.count(b"\n")))
        try:
            chunk = c.sock.recv(256 * KiB)
        except socket.timeout:
            raise Failure("seed %d: no reply for %.1f s after %d lines"
                          % (seed, IO_TIMEOUT, got.count(b"\n")))
        if not chunk:
            break
        got += chunk
    w.join(IO_TIMEOUT)
    check(w.error is None, "seed %d: writer: %s" % (seed, w.error))
    check(got.endswith(b"\n"), "seed %d: last reply cut" % seed)
    replies = got.decode("utf-8", "replace").split("\n")[:-1]
    check_eq(len(replies), nonblank + 1, "seed %d: replies (one per "
             "non-blank line, and BYE)" % seed)
    check_eq(replies[-1], "OK BYE", "last reply")
    plain = [r for r in replies[:-1] if not r.startswith("#")]
    tags = set(r for r in replies[:-1] if r.startswith("#"))
    check_eq(len(plain), len(untagged), "seed %d: untagged replies" % seed)
    for i, (got_line, want) in enumerate(zip(plain, untagged)):
        if re.fullmatch(want, got_line) is None:
            raise Failure("seed %d: untagged reply %d is %r, expected /%s/ "
                          "(replies around it: %r)"
                          % (seed, i, got_line, want, plain[i - 2:i + 3]))
    check_eq(len(tags), len(tagged), "seed %d: distinct tagged replies"
             % seed)
    check(tags == tagged, "seed %d: tagged replies differ: missing %r, "
          "unexpected %r" % (seed, sorted(tagged - tags)[:5],
                             sorted(tags - tagged)[:5]))
    s = after_case(d, mem, "10,000 pipelined lines")
    # Every non-blank line was counted once, plus QUIT, PING, STATS.
    check(s["commands_total"] >= nonblank + 3, "commands_total %d < %d"
          % (s["commands_total"], nonblank + 3))


REPLY_TO_GARBAGE = re.compile(
    r"(#[A-Za-z0-9._:-]{1,64} )?ERR (PROTO|TOOLONG|UNKNOWN) .*")


def test_random_binary(t):
    d = start(t)
    mem = Memory(t, d)
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    before = balanced(d)
    # With newlines (about one byte in 256 is one): many lines, each
    # answered by an error, or the connection closed when a line happens
    # to look like HTTP.  Half-closed at the end, so each ends in EOF.
    lines_sent = 0
    for k in range(6):
        blob = rng.randbytes(64 * KiB)
        lines_sent += sum(1 for x in blob.split(b"\n")[:-1]
                          if x.strip(b" \t\r"))
        c = d.connect("tcp4")
        w = Writer(c.sock, blob, chunk=rng.randint(100, 9000), shutdown=True)
        replies = read_until_closed(c, timeout=30 * SLOW, partial_ok=True)
        w.finish()
        for r in replies:
            check(REPLY_TO_GARBAGE.fullmatch(r) is not None,
                  "seed %d, connection %d: reply %r to random bytes"
                  % (seed, k, r))
        check(len(replies) <= blob.count(b"\n") + 1,
              "seed %d: %d replies to %d lines" % (seed, len(replies),
                                                   blob.count(b"\n") + 1))
    after_case(d, mem, "random binary with newlines")
    # Without newlines: the line is too long once max_line is passed.
    for k in range(4):
        blob = rng.randbytes(96 * KiB).replace(b"\n", b"N")
        c = d.connect("tcp4")
        w = Writer(c.sock, blob)
        check_eq(read_until_closed(c),
                 ["ERR TOOLONG line longer than 4096 bytes"],
                 "seed %d: random bytes without a newline" % seed)
        w.finish()
    s = after_case(d, mem, "random binary without newlines")
    check(s["commands_total"] > before["commands_total"] + 4,
          "random lines were not counted as requests")
    # Before AUTH: at most 256 bytes a line, nothing but DENIED, PROTO or
    # TOOLONG, and the connection closed at the latest by auth_timeout_s.
    d2 = start(t, name="tok.ini", server={
        "listen": "127.0.0.1:0, unix:" + t.path("tok.sock")},
        extra="[security]\ntoken = %s\nauth_timeout_s = 1\n" % TOKEN)
    mem2 = Memory(t, d2)
    for k in range(4):
        blob = rng.randbytes(32 * KiB)
        c = d2.connect("tcp4")
        w = Writer(c.sock, blob)
        replies = read_until_closed(c, timeout=10 * SLOW, partial_ok=True)
        w.finish()
        for r in replies:
            check_match(r"^(#[A-Za-z0-9._:-]{1,64} )?ERR (DENIED|PROTO|"
                        r"TOOLONG) ", r, "seed %d: pre-AUTH reply" % seed)
    after_case(d2, mem2, "random binary before AUTH")


def test_http_request_closes_without_reply_or_effect(t):
    d = start(t, log={"level": "info"})
    mem = Memory(t, d)
    u = d.connect("unix")
    before = u.stats()
    requests = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:15769\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 24\r\n\r\n"
        b"diag error DEVICE pwned\n",
        # A form post whose body comes in the same packet as its headers.
        b"POST / HTTP/1.0\r\nContent-Length: 40\r\n\r\n"
        b"diag error DEVICE pwned\ndiag sleep 1\n",
        # A header line alone (the request line lost): still HTTP.
        b"Host: example.org\r\ndiag error DEVICE pwned\n",
        b"OPTIONS * HTTP/1.1\r\n\r\n",
        b"PUT http://127.0.0.1/ HTTP/1.1\r\n\r\ndiag error DEVICE pwned\n",
    ]
    for req in requests:
        c = d.connect("tcp4")
        c.send(req)
        check_eq(read_until_closed(c), [], "replies to %r" % req[:20])
    s = u.stats()
    check_eq(s["http_rejected_total"] - before["http_rejected_total"],
             len(requests), "http_rejected_total increase")
    check_eq(s["errors_total"], before["errors_total"],
             "errors_total (no diag error ran)")
    check_eq(s["commands_total"] - before["commands_total"], 1,
             "commands_total increase (only this STATS)")
    check_eq(s["inflight"], 0, "inflight")
    d.wait_line("sent an HTTP request; closing")
    after_case(d, mem, "HTTP requests")


# ---------------------------------------------------------------------------
# floods


def test_preauth_flood_and_wrong_tokens(t):
    d = start(t, server={"max_clients": "400"},
              extra="[security]\ntoken = %s\nauth_timeout_s = 1\n" % TOKEN)
    mem = Memory(t, d)
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    good = d.connect("tcp4")
    check_eq(good.request("AUTH " + TOKEN), "OK", "AUTH")
    per_kind = 30
    for r in range(2):
        before = good.stats()
        start_t = time.monotonic()
        wrong = [d.connect("tcp4") for _ in range(per_kind)]
        denied = [d.connect("tcp4") for _ in range(per_kind)]
        long_ = [d.connect("tcp4") for _ in range(per_kind)]
        garbage = [d.connect("tcp4") for _ in range(per_kind)]
        for i, c in enumerate(wrong):
            c.send_lines(["AUTH wrong-%d-%d-a" % (r, i),
                          "AUTH wrong-%d-%d-b" % (r, i),
                          "AUTH wrong-%d-%d-c" % (r, i), "AUTH " + TOKEN,
                          "ECHO never"])
        for c in denied:
            c.send_lines(["ECHO x", "STATS", "nosuch", "#t HELP",
                          "diag error DEVICE ran"])
        for c in long_:
            c.send("ECHO " + "y" * 300 + "\nPING\n")
        for c in garbage:
            c.send(rng.randbytes(rng.randint(10, 600)).replace(b"\n", b"") +
                   b"\n")
        # The authenticated client is served all along.
        check_eq(good.request("ECHO during"), "OK during", "during the flood")
        for c in wrong:
            check_eq(read_until_closed(c),
                     ["ERR DENIED wrong token"] * 2 +
                     ["ERR DENIED wrong token; closing"], "3 wrong tokens")
        for c in long_:
            check_eq(read_until_closed(c),
                     ["ERR TOOLONG line longer than 256 bytes before AUTH"],
                     "long line before AUTH")
        for c in denied:
            check_eq(read_until_closed(c, timeout=5 * SLOW),
                     ["ERR DENIED authentication required"] * 3 +
                     ["#t ERR DENIED authentication required",
                      "ERR DENIED authentication required"],
                     "requests before AUTH (then closed by auth_timeout_s)")
        for c in garbage:
            for line in read_until_closed(c, timeout=5 * SLOW,
                                          partial_ok=True):
                check_match(r"^(#\S+ )?ERR (DENIED|PROTO|TOOLONG) ", line,
                            "seed %d: reply to garbage" % seed)
        check(elapsed_since(start_t) < 6 * SLOW, "the flood took %.1f s"
              % elapsed_since(start_t))
        check_eq(good.request("ECHO after"), "OK after", "after the flood")
        s = good.stats()
        check_eq(s["auth_failed_total"] - before["auth_failed_total"],
                 3 * per_kind, "auth_failed_total increase")
        # Every reply to the flood is an error; the OKs are the two
        # ECHOs and the reply to the first STATS.
        check_eq(s["errors_total"] - before["errors_total"],
                 s["replies_total"] - before["replies_total"] - 3,
                 "errors among the replies")
        check_between(s["errors_total"] - before["errors_total"],
                      9 * per_kind, 10 * per_kind, "errors_total increase")
        for c in wrong + denied + long_ + garbage:
            c.close()
        after_case(d, mem, "pre-AUTH flood, round %d" % r, clients=2)
        mem.round_done("pre-AUTH flood, round %d" % r)
    mem.check_rounds("pre-AUTH flood")


def _ping_fresh(d):
    """PING on a new Unix connection, closed again; True on OK PONG."""
    c = d.connect("unix")
    try:
        return c.request("PING") == "OK PONG"
    finally:
        c.close()


def test_connection_flood_to_max_clients_plus_50(t):
    d = start(t, server={"max_clients": "20"})
    mem = Memory(t, d)
    for r in range(2):
        before = balanced(d)
        clients = [d.connect("tcp4") for _ in range(20)]
        for i, c in enumerate(clients):
            check_eq(c.request("ECHO c%d" % i), "OK c%d" % i, "client %d" % i)
        extra = []
        for i in range(50):
            e = d.connect("unix" if i % 10 == 9 else "tcp4")
            extra.append(e)
        for i, e in enumerate(extra):
            check_eq(read_until_closed(e), ["ERR BUSY too many clients"],
                     "round %d: extra client %d" % (r, i))
        for i, c in enumerate(clients):
            check_eq(c.request("ECHO c%d" % i), "OK c%d" % i,
                     "client %d after the flood" % i)
        s = clients[0].stats()
        check_eq(s["rejected_total"] - before["rejected_total"], 50,
                 "rejected_total increase")
        check_eq(s["clients"], 20, "clients")
        # Slots free when clients leave, and only as many as left.
        for c in clients[10:]:
            c.close()
        wait_until(lambda: clients[0].stats()["clients"] == 10,
                   what="clients=10")
        fresh = [d.connect("tcp4") for _ in range(10)]
        for i, c in enumerate(fresh):
            check_eq(c.request("PING"), "OK PONG", "client in a freed slot")
        over = d.connect("tcp4")
        check_eq(read_until_closed(over), ["ERR BUSY too many clients"],
                 "one more than max_clients")
        for c in clients[:10] + fresh:
            c.close()
        wait_until(lambda: _ping_fresh(d), what="a free slot")
        after_case(d, mem, "connection flood, round %d" % r, clients=1)
        mem.round_done("connection flood, round %d" % r)
    mem.check_rounds("connection flood")


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_out_of_descriptors_pauses_accepting(t):
    """With its descriptors used up, the listener pauses instead of
    spinning on accept(); connections waiting in the backlog are served
    once descriptors free up."""
    import resource
    d = start(t)
    mem = Memory(t, d)
    nfds = len(os.listdir("/proc/%d/fd" % d.pid))
    hard = resource.prlimit(d.pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (nfds + 10, hard))
    held = []
    for i in range(10):
        c = d.connect("tcp4")
        held.append(c)
        check_eq(c.request("ECHO h%d" % i), "OK h%d" % i, "client %d" % i)
    mark = d.mark()
    waiting = [d.connect("tcp4") for _ in range(10)]   # in the backlog
    for i, c in enumerate(waiting):
        c.send_line("ECHO w%d" % i)
    d.wait_line("pausing for 1 s: Too many open files", start=mark)
    ticks = cpu_ticks(d.pid)
    time.sleep(2.0)
    spent = (cpu_ticks(d.pid) - ticks) / os.sysconf("SC_CLK_TCK")
    check(spent < 0.5 * SLOW, "the daemon used %.2f s of CPU in 2 s while "
          "out of descriptors (spinning on accept?)" % spent)
    for i, c in enumerate(held):
        check_eq(c.request("ECHO h%d" % i), "OK h%d" % i,
                 "client %d while out of descriptors" % i)
    for c in held:
        c.close()
    for i, c in enumerate(waiting):
        check_eq(c.reply(timeout=10 * SLOW), "OK w%d" % i,
                 "client %d that waited in the backlog" % i)
    for c in waiting:
        c.close()
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (hard, hard))
    after_case(d, mem, "out of descriptors")


# ---------------------------------------------------------------------------
# slow and stuck peers


def test_idle_and_slowloris_clients_are_cut(t):
    d = start(t, server={"idle_timeout_s": "2"})
    mem = Memory(t, d)
    before = balanced(d)
    # Each victim's idle time counts from its connect, or from its last
    # complete request.
    victims = {}
    since = {}
    for name in ("idle", "loris0", "loris1", "loris2"):
        victims[name] = d.connect("tcp4")
        since[name] = time.monotonic()
    # One that made a request first and dribbles after it.
    late = victims["late"] = d.connect("tcp4")
    check_eq(late.request("PING"), "OK PONG", "request before dribbling")
    since["late"] = time.monotonic()
    active = d.connect("tcp4")
    payload = b"ECHO " + b"s" * 200
    closed_at = {}
    n = 0
    start_t = time.monotonic()
    next_step = start_t
    while len(closed_at) < len(victims):
        now = time.monotonic()
        if now - start_t > 8.0 * SLOW:
            raise Failure("still open after 8 s: %r" %
                          sorted(set(victims) - set(closed_at)))
        if now >= next_step:
            # Every 0.7 s: one byte from each dribbler, one whole request
            # from the active client.
            for name, c in victims.items():
                if name != "idle" and name not in closed_at:
                    try:
                        c.sock.send(payload[n % len(payload):][:1])
                    except OSError:
                        closed_at[name] = time.monotonic()
            check_eq(active.request("ECHO %d" % n), "OK %d" % n,
                     "active client, request %d" % n)
            n += 1
            next_step += 0.7
        # Meanwhile, note each close as it happens.
        open_ = [c.sock for name, c in victims.items()
                 if name not in closed_at]
        ready, _, _ = select.select(open_, [], [],
                                    max(0.0, next_step - time.monotonic()))
        for name, c in victims.items():
            if c.sock in ready and name not in closed_at and \
                    is_closed(c.sock):
                closed_at[name] = time.monotonic()
    for name, when in closed_at.items():
        check_between(when - since[name], 1.98, 4.5 * SLOW,
                      "seconds until %s was cut (idle_timeout_s = 2)" % name)
    check(n >= 4, "only %d bytes dribbled" % n)
    # The active client, which sent a request every 0.7 s, is still here.
    check_eq(active.request("PING"), "OK PONG", "active client at the end")
    s = after_case(d, mem, "idle and slowloris")
    check_eq(s["idle_closed_total"] - before["idle_closed_total"], 5,
             "idle_closed_total increase")


def _never_reader(d):
    """A client with a tiny receive buffer that never reads."""
    c = d.connect("tcp4")
    # A small receive window, so the kernel's buffers fill early.
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return c


def test_client_that_never_reads_is_cut_at_max_output(t):
    d = start(t, server={"max_output": "65536", "max_line": "8192"})
    mem = Memory(t, d)
    request = b"ECHO " + b"r" * (4 * KiB) + b"\n"
    burst = request * 4096          # 16 MiB at most per client
    for r in range(3):
        mark = d.mark()
        clients = [_never_reader(d) for _ in range(4)]
        start_t = time.monotonic()
        writers = [Writer(c.sock, burst, limit=20 * SLOW) for c in clients]
        for w in writers:
            w.finish(timeout=30 * SLOW)
        took = elapsed_since(start_t)
        for c, w in zip(clients, writers):
            check(w.error in (errno.EPIPE, errno.ECONNRESET),
                  "round %d: a client that never reads sent %d bytes "
                  "and was not cut (%s)" % (r, w.sent, w.error))
            port = c.sock.getsockname()[1]
            i = d.wait_line("client 127.0.0.1:%d does not read its replies"
                            % port, start=mark)
            m = re.search(r"\((\d+) bytes unsent\); closing$",
                          d.stderr().split("\n")[i])
            check(m is not None, "log line %r" % d.stderr().split("\n")[i])
            unsent = int(m.group(1))
            check_between(unsent, 65537, 65536 + len(request),
                          "bytes unsent when the client was cut")
            check(w.sent < len(burst), "all sent")
        check(took < 25 * SLOW, "cutting the clients took %.1f s" % took)
        for c in clients:
            c.close()
        after_case(d, mem, "never-reading clients, round %d" % r)
        mem.round_done("never-reading clients, round %d" % r)
    mem.check_rounds("never-reading clients")


def test_client_that_reads_is_not_cut_by_max_output(t):
    """The other side of max_output: replies batched in one loop
    iteration may exceed it (STATS answers 6 bytes with about 340), but a
    client that reads them is never cut."""
    d = start(t, server={"max_output": "65536"})
    mem = Memory(t, d)
    for lines in (["STATS"] * 3000, ["HELP"] * 8000,
                  ["ECHO " + "e" * 2000] * 600):
        c = d.connect("tcp4")
        data = "".join(x + "\n" for x in lines).encode()
        w = Writer(c.sock, data, chunk=len(data))
        got = c.read_lines(len(lines), timeout=30 * SLOW)
        w.finish()
        check(w.error is None, "writer: %s" % w.error)
        check_match(r"^OK ", got[-1], "last reply to %d x %s"
                    % (len(lines), lines[0][:10]))
        check_eq(c.request("PING"), "OK PONG", "still connected")
        c.close()
    check("does not read its replies" not in d.stderr(),
          "a reading client was cut:\n%s" % d.stderr())
    after_case(d, mem, "reading clients with batched replies")


def test_200_clients_disconnect_mid_command(t):
    # 200 x 300 ms on 40 workers: all of them run, 1.5 s in all.
    d = start(t, server={"workers": "40", "max_clients": "300"})
    mem = Memory(t, d)
    before = balanced(d)
    clients = [d.connect("tcp4") for _ in range(200)]
    for i, c in enumerate(clients):
        c.send_line("diag sleep 300" if i % 2 else "#j%d diag sleep 300" % i)
    # Wait until the daemon has read every one of them, so each is
    # "mid-command" when its client goes.
    probe = d.connect("unix")
    asked = [0]

    def all_read():
        asked[0] += 1
        s = probe.stats()
        return s["commands_total"] - before["commands_total"] - asked[0] \
            >= 200
    wait_until(all_read, what="200 requests read")
    # 150 disappear with a reset, 50 close normally (their replies still
    # go out, into a closed socket, and count as replies).
    for c in clients[:150]:
        c.abort()
    for c in clients[150:]:
        c.close()
    probe.close()
    s = balanced(d, timeout=IO_TIMEOUT + 5)
    check_eq(s["dropped_total"] - before["dropped_total"], 150,
             "dropped_total increase")
    # The 50 that closed normally were answered (into a closed socket).
    check(s["replies_total"] - before["replies_total"] >= 50 + asked[0],
          "replies_total increase %d < %d" % (
              s["replies_total"] - before["replies_total"], 50 + asked[0]))
    check_eq(s["clients"], 1, "clients (the probe)")
    after_case(d, mem, "200 clients gone mid-command")


# ---------------------------------------------------------------------------
# callbacks that cannot be delivered


def _black_hole(t):
    """A loopback port whose SYNs get no answer: a listener with a
    backlog of 0 whose one queue slot is taken and which never accepts.
    Returns (port, sockets to close) or None when this kernel answers
    anyway."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    keep = [srv]
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    keep.append(filler)
    filler.settimeout(IO_TIMEOUT)
    filler.connect(("127.0.0.1", port))     # takes the one slot
    time.sleep(0.05)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setblocking(False)
    probe.connect_ex(("127.0.0.1", port))
    _, w, _ = select.select([], [probe], [], 0.5)
    probe.close()
    if w:
        for s in keep:
            s.close()
        return None
    return port, keep


def test_callback_to_closed_and_black_hole_ports(t):
    d = start(t, log={"level": "debug"},
              extra="[callback]\nconnect_timeout_ms = 400\nretry_ms = 100\n"
              "max_pending = 4\n")
    mem = Memory(t, d)
    c = d.connect("tcp4")
    other = d.connect("tcp4")

    # A closed port: refused at once, tried once more, then counted.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    before = c.stats()
    check_eq(c.request("CALLBACK %d" % port), "OK", "CALLBACK closed port")
    c.send_lines(["diag sleep 10", "#a diag sleep 10", "diag error DEVICE x"])
    for r in c.read_lines(3):
        check_match(r"^(#a )?OK QUEUED ", r, "acknowledgement")
    wait_until(lambda: other.stats()["callbacks_failed"] -
               before["callbacks_failed"] >= 3, what="callbacks_failed += 3")
    d.wait_line("callback to 127.0.0.1:%d failed (connect failed)" % port)
    log = d.stderr().split("\n")
    retries = [x for x in log if "callback to 127.0.0.1:%d: connect failed; "
               "retrying" % port in x]
    fails = [x for x in log if "callback to 127.0.0.1:%d failed" % port in x]
    check_eq(len(retries), len(fails), "one retry per failure: %r"
             % (retries + fails))
    after_case(d, mem, "callback to a closed port")

    # A black hole: the connect hangs until connect_timeout_ms, twice.
    hole = _black_hole(t)
    if hole is None:
        raise Failure("cannot make a loopback connect hang here (listen(0) "
                      "with its queue full still answers)")
    port, keep = hole
    try:
        before = other.stats()
        check_eq(c.request("CALLBACK %d" % port), "OK", "CALLBACK black hole")
        start_t = time.monotonic()
        # At most max_pending (4) results may be owed to one client.
        c.send_lines(["#h%d diag sleep 1" % i for i in range(6)])
        check_eq(sorted(c.read_lines(6)),
                 ["#h%d OK QUEUED h%d" % (i, i) for i in range(4)] +
                 ["#h%d ERR BUSY 4 callback results already pending for "
                  "this client" % i for i in (4, 5)], "QUEUED and BUSY")
        # The loop is not blocked by the hanging connect.
        for i in range(5):
            t0 = time.monotonic()
            check_eq(other.request("ECHO %d" % i), "OK %d" % i, "meanwhile")
            check(elapsed_since(t0) < 0.5 * SLOW, "ECHO took %.3f s"
                  % elapsed_since(t0))
        wait_until(lambda: other.stats()["callbacks_failed"] -
                   before["callbacks_failed"] >= 4,
                   what="callbacks_failed += 4")
        # Two connects of 400 ms and a 100 ms pause: about 0.9 s.
        check_between(elapsed_since(start_t), 0.8, 5.0 * SLOW,
                      "seconds until the results were given up")
        d.wait_line("callback to 127.0.0.1:%d failed (connect timed out): "
                    "4 results dropped" % port)
        # One retry, no storm.
        log = d.stderr().split("\n")
        check_eq(len([x for x in log if "callback to 127.0.0.1:%d: timed "
                      "out; retrying" % port in x]), 1, "retries logged")
        s = other.stats()
        check_eq(s["callbacks_sent"], before["callbacks_sent"],
                 "callbacks_sent")
        check_eq(s["callbacks_failed"] - before["callbacks_failed"], 4,
                 "callbacks_failed increase")
        # Once given up, the client may queue again.
        check_eq(c.request("#again diag sleep 1"), "#again OK QUEUED again",
                 "QUEUED after the failure")
        wait_until(lambda: other.stats()["callbacks_failed"] -
                   before["callbacks_failed"] >= 5,
                   what="callbacks_failed += 5")
    finally:
        for s in keep:
            s.close()
    check_eq(c.request("CALLBACK OFF"), "OK", "CALLBACK OFF")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "normal replies again")
    after_case(d, mem, "callback to a black hole")


# ---------------------------------------------------------------------------
# signals under load


def test_sigterm_with_100_slow_jobs_in_flight(t):
    d = start(t, server={"workers": "4", "drain_timeout_s": "60"})
    probe = d.connect("unix")
    base = probe.stats()["commands_total"]
    clients = [d.connect("tcp4") for _ in range(10)]
    want = []
    for k, c in enumerate(clients):
        lines, replies = [], []
        for i in range(10):
            if i % 2:
                lines.append("#c%dj%d diag sleep 100" % (k, i))
                replies.append("#c%dj%d OK slept 100" % (k, i))
            else:
                lines.append("diag sleep 100")
                replies.append("OK slept 100")
        c.send_lines(lines)
        want.append(sorted(replies))
    asked = [1]

    def all_read():
        asked[0] += 1
        return probe.stats()["commands_total"] - base - (asked[0] - 1) >= 100
    wait_until(all_read, what="100 requests read")
    s = probe.stats()
    check(s["inflight"] > 50, "only %d of 100 commands in flight at SIGTERM"
          % s["inflight"])
    mark = d.mark()
    start_t = time.monotonic()
    d.signal(signal.SIGTERM)
    for k, c in enumerate(clients):
        got = read_until_closed(c, timeout=30 * SLOW)
        check_eq(sorted(got), want[k], "client %d: replies, then EOF" % k)
    check(read_until_closed(probe) == [], "probe got a reply")
    d.check_exit(0, timeout=EXIT_TIMEOUT + 30)
    # 100 x 100 ms on 4 workers: about 2.5 s.
    check_between(elapsed_since(start_t), 1.5, 30 * SLOW,
                  "seconds from SIGTERM to exit")
    log = "\n".join(d.stderr().split("\n")[mark:])
    check("SIGTERM: draining" in log, "no drain message: %r" % log)
    check("drain deadline passed" not in log, "drain deadline passed")


def test_sighup_valid_and_invalid_under_load(t):
    d = start(t, server={"command_timeout_ms": "5000"})
    mem = Memory(t, d)
    stop = threading.Event()

    class Load(threading.Thread):
        """One connection sending windows of 8 pipelined requests and
        checking each reply."""

        def __init__(self, k):
            super().__init__(daemon=True)
            self.k = k
            self.c = d.connect("tcp4")
            self.sent = 0
            self.answered = 0
            self.error = None
            self.start()

        def run(self):
            try:
                n = 0
                while not stop.is_set():
                    lines, want = [], []
                    for _ in range(8):
                        n += 1
                        if n % 4 == 0:
                            lines.append("#s%d diag sleep 2" % n)
                            want.append("#s%d OK slept 2" % n)
                        elif n % 4 == 1:
                            lines.append("diag sleep 1")
                            want.append("OK slept 1")
                        else:
                            lines.append("ECHO l%d-%d" % (self.k, n))
                            want.append("OK l%d-%d" % (self.k, n))
                    self.c.send_lines(lines)
                    self.sent += len(lines)
                    got = self.c.read_lines(len(lines))
                    self.answered += len(got)
                    if sorted(got) != sorted(want) or \
                            [g for g in got if not g.startswith("#")] != \
                            [w for w in want if not w.startswith("#")]:
                        raise Failure("connection %d: replies %r, expected "
                                      "%r" % (self.k, got, want))
            except Exception as e:     # reported by the main thread
                self.error = "%s: %s" % (type(e).__name__, e)

    loads = [Load(k) for k in range(4)]
    try:
        for cycle in range(3):
            time.sleep(0.2)
            t.config(server={
                "listen": "127.0.0.1:0, unix:" + t.path("picmd.sock"),
                "workers": "4",
                "command_timeout_ms": str(4000 + cycle),
                "max_line": "2048" if cycle % 2 == 0 else "4096"},
                log={"level": "debug" if cycle % 2 == 0 else "info"})
            mark = d.mark()
            d.signal(signal.SIGHUP)
            d.wait_line("info: reloaded", start=mark)
            time.sleep(0.2)
            t.config(server={"command_timeout_ms": "soon"})
            mark = d.mark()
            d.signal(signal.SIGHUP)
            d.wait_line("reload failed; keeping the running configuration",
                        start=mark)
            for ld in loads:
                check(ld.error is None, "load connection %d: %s"
                      % (ld.k, ld.error))
    finally:
        time.sleep(0.2)
        stop.set()
        for ld in loads:
            ld.join(IO_TIMEOUT)
    for ld in loads:
        check(not ld.is_alive(), "load connection %d stuck" % ld.k)
        check(ld.error is None, "load connection %d: %s" % (ld.k, ld.error))
        check_eq(ld.answered, ld.sent, "connection %d: replies" % ld.k)
        check(ld.sent >= 8, "connection %d sent only %d requests"
              % (ld.k, ld.sent))
        check_eq(ld.c.request("PING"), "OK PONG", "connection %d still open"
                 % ld.k)
    after_case(d, mem, "SIGHUP under load")
