"""Reply order, the worker pool, backpressure and a full queue (BUSY)."""

import threading
import time

from harness import (check, check_between, check_eq, check_match,
                     elapsed_since)


def mixed_requests(n):
    """(line, expected reply) pairs: diag sleep of varying length, PING and
    ECHO interleaved."""
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            ms = (i * 37) % 120
            out.append(("diag sleep %d" % ms, "OK slept %d" % ms))
        elif kind == 1:
            out.append(("PING", "OK PONG"))
        else:
            out.append(("ECHO %d" % i, "OK %d" % i))
    return out


def test_pipelined_untagged_replies_keep_order(t):
    c = t.start().connect()
    reqs = mixed_requests(45)
    c.send_lines([line for line, _ in reqs])
    check_eq(c.read_lines(len(reqs)), [want for _, want in reqs],
             "pipelined replies")


def test_pipelined_order_per_client_with_concurrent_clients(t):
    d = t.start()
    clients = [d.connect() for _ in range(4)]
    results = [None] * len(clients)
    reqs = mixed_requests(60)

    def run(i):
        try:
            c = clients[i]
            lines = [line.replace("ECHO ", "ECHO c%d-" % i)
                     for line, _ in reqs]
            c.send_lines(lines)
            results[i] = c.read_lines(len(lines))
        except Exception as e:   # reported by the main thread
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(clients))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, got in enumerate(results):
        check(not isinstance(got, Exception), "client %d: %s" % (i, got))
        want = [w.replace("OK ", "OK c%d-" % i, 1)
                if line.startswith("ECHO") else w for line, w in reqs]
        check_eq(got, want, "client %d replies" % i)


def test_tagged_fast_reply_overtakes_slow_one(t):
    c = t.start().connect()
    c.send_lines(["#slow diag sleep 1000", "#fast diag sleep 10"])
    start = time.monotonic()
    check_eq(c.reply(), "#fast OK slept 10", "first reply")
    check(elapsed_since(start) < 0.9, "fast reply waited for the slow one "
          "(%.2f s)" % elapsed_since(start))
    check_eq(c.reply(), "#slow OK slept 1000", "second reply")


def test_tagged_and_untagged_are_independent(t):
    c = t.start().connect()
    # An untagged slow request does not hold back tagged ones, built-in
    # or not; untagged replies keep their own order.
    c.send_lines(["diag sleep 600", "#p PING", "#s diag sleep 10", "ECHO after"])
    replies = c.read_lines(4)
    check_eq(sorted(replies[:2]), ["#p OK PONG", "#s OK slept 10"],
             "tagged replies first")
    check_eq(replies[2:], ["OK slept 600", "OK after"], "untagged order")


def test_workers_run_commands_in_parallel(t):
    # 8 clients x 1 s on 4 workers: about 2 s, far from the serial 8 s.
    d = t.start(server={"workers": "4"})
    clients = [d.connect() for _ in range(8)]
    for c in clients:
        check_eq(c.request("PING"), "OK PONG", "PING")
    start = time.monotonic()
    for c in clients:
        c.send_line("diag sleep 1000")
    for i, c in enumerate(clients):
        check_eq(c.reply(timeout=10), "OK slept 1000", "client %d" % i)
    took = elapsed_since(start)
    check_between(took, 1.9, 6.0, "seconds for 8 x 1 s on 4 workers")


def test_backpressure_many_pipelined_requests(t):
    # max_inflight 3: the daemon stops reading this connection while 3
    # replies are owed, yet every one of 200 requests is answered in order.
    c = t.start(server={"max_inflight": "3", "workers": "2"}).connect()
    reqs = []
    for i in range(200):
        if i % 2 == 0:
            reqs.append(("diag sleep %d" % (i % 3), "OK slept %d" % (i % 3)))
        else:
            reqs.append(("ECHO %d" % i, "OK %d" % i))
    c.send_lines([line for line, _ in reqs])
    check_eq(c.read_lines(len(reqs), timeout=30), [w for _, w in reqs],
             "200 pipelined replies")
    s = c.stats()
    check_eq(s["busy_total"], 0, "busy_total (backpressure is no error)")
    check_eq(s["commands_total"], 201, "commands_total")


def test_untagged_plugin_commands_run_one_after_another(t):
    # Four workers could run the three sleeps at once (0.3 s); untagged
    # commands of one connection run in request order, one at a time, so
    # they take 0.9 s, while a tagged one runs beside them.
    c = t.start(server={"workers": "4"}).connect()
    start = time.monotonic()
    c.send_lines(["diag sleep 300", "diag sleep 301", "#t diag sleep 10",
                  "diag sleep 302", "PING"])
    replies = c.read_lines(5, timeout=30)
    took = elapsed_since(start)
    check_eq(replies[0], "#t OK slept 10", "the tagged one first")
    check_eq(replies[1:], ["OK slept 300", "OK slept 301", "OK slept 302",
                           "OK PONG"], "untagged, in order")
    check(took >= 0.85, "the untagged sleeps overlapped (%.2f s)" % took)
    check_eq(c.stats()["workers_busy"], 0, "workers_busy")


def test_held_command_deadline_starts_when_it_runs(t):
    # command_timeout_ms 700: each 500 ms sleep is within it, although the
    # second waits 500 ms for the first before it starts.
    c = t.start(server={"command_timeout_ms": "700"}).connect()
    c.send_lines(["diag sleep 500", "diag sleep 500"])
    check_eq(c.read_lines(2, timeout=30), ["OK slept 500", "OK slept 500"],
             "both ran")
    # A command that does overrun is given up, and the next one starts.
    c.send_lines(["diag sleep 2000", "diag sleep 10"])
    replies = c.read_lines(2, timeout=30)
    check_match(r"^ERR TIMEOUT command did not finish within 700 ms$",
                replies[0])
    check_eq(replies[1], "OK slept 10", "the one after the timeout")


def test_busy_when_queue_is_full(t):
    # One worker, two waiting places: a flood of tagged diag sleeps gets
    # some ERR BUSY; every request still gets exactly one reply, and an
    # untagged PING among them is answered.
    d = t.start(server={"workers": "1", "queue": "2"})
    c = d.connect()
    lines, wants = [], {}
    for i in range(20):
        lines.append("#q%d diag sleep %d" % (i, 100 + i))
        wants["#q%d" % i] = "OK slept %d" % (100 + i)
        if i == 10:
            lines.append("PING")
    c.send_lines(lines)
    replies = c.read_lines(len(lines), timeout=30)
    check("OK PONG" in replies, "PING unanswered: %r" % replies)
    busy, seen = 0, []
    for got in replies:
        if got == "OK PONG":
            continue
        tag, _, rest = got.partition(" ")
        seen.append(tag)
        if rest.startswith("ERR BUSY"):
            check_match(r"^ERR BUSY queue full", rest)
            busy += 1
        else:
            check_eq(rest, wants.get(tag), "reply to %s" % tag)
    check_eq(sorted(seen), sorted(wants), "one reply per tag")
    check(busy >= 1, "no ERR BUSY in %r" % replies)
    check(len(wants) - busy >= 2, "too few requests ran: %r" % replies)
    s = c.stats()
    check_eq(s["busy_total"], busy, "busy_total")
    check_eq(s["errors_total"], busy, "errors_total")
    check_eq(s["queue_depth"], 0, "queue_depth")
    # The queue has room again.
    check_eq(c.request("diag sleep 1"), "OK slept 1", "after the flood")


def test_busy_from_several_clients_tagged(t):
    # Tagged requests from two clients fill the queue too; each client gets
    # one reply per tag.
    d = t.start(server={"workers": "1", "queue": "1"})
    a, b = d.connect(), d.connect()
    a.send_lines(["#a%d diag sleep 150" % i for i in range(6)])
    b.send_lines(["#b%d diag sleep 150" % i for i in range(6)])
    busy = 0
    for c, prefix in ((a, "a"), (b, "b")):
        replies = c.read_lines(6, timeout=30)
        tags = sorted(r.split(" ", 1)[0] for r in replies)
        check_eq(tags, sorted("#%s%d" % (prefix, i) for i in range(6)),
                 "tags of client %s" % prefix)
        for r in replies:
            check_match(r"^#%s\d (OK slept 150|ERR BUSY )" % prefix, r)
            busy += " ERR BUSY " in r
    check(busy >= 1, "no ERR BUSY")
    check_eq(a.stats()["busy_total"], busy, "busy_total")
