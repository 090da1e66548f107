"""Events over real sockets: SUBSCRIBE and the "!" lines, with edges of
the gpio plugin's simulated chip (gpio watch, gpio sim-set)."""

import re

from harness import check, check_eq, check_match

EDGE = (r"^! gpio\.%d %s %d ts=\d{10}\.\d{9} mono=\d+\.\d{9} seq=%d$")


def start_events(t, server=None):
    return t.start(plugins={"load": "diag gpio"}, server=server,
                   extra="[gpio]\nbackend = sim\n")


def edge(off, kind, level, seq):
    return EDGE % (off, kind, level, seq)


def test_subscribe_and_edges(t):
    d = start_events(t)
    sub, drv = d.connect(), d.connect()
    check_eq(sub.request("SUBSCRIBE gpio.GPIO17"), "OK", "SUBSCRIBE by name")
    check_eq(sub.request("SUBSCRIPTIONS"), "OK gpio.17",
             "the name is kept as the offset")
    check_eq(drv.request("gpio watch 17 both"), "OK 0", "watch: its level")
    check_eq(drv.request("gpio sim-set 17 1"), "OK", "rising")
    check_eq(drv.request("gpio sim-set 17 1"), "OK", "no change, no edge")
    check_eq(drv.request("gpio sim-set 17 0"), "OK", "falling")
    lines = sub.read_lines(2)
    check_match(edge(17, "rising", 1, 1), lines[0], "first event")
    check_match(edge(17, "falling", 0, 2), lines[1], "second event")
    # The driver never subscribed: its next line is its reply.
    check_eq(drv.request("PING"), "OK PONG", "no event for a non-subscriber")
    check_eq(sub.request("PING"), "OK PONG", "nothing more for the subscriber")


def test_rising_only_and_wildcard_and_unsubscribe(t):
    d = start_events(t)
    sub, drv = d.connect(), d.connect()
    check_eq(sub.request("SUBSCRIBE gpio.*"), "OK", "wildcard")
    check_eq(drv.request("gpio watch GPIO22 rising pull-down"), "OK 0", "watch 22")
    check_eq(drv.request("gpio watch 5 falling pull-up"), "OK 1", "watch 5")
    for line in ("gpio sim-set 22 1", "gpio sim-set 22 0", "gpio sim-set 5 0",
                 "gpio sim-set 5 1"):
        check_eq(drv.request(line), "OK", line)
    lines = sub.read_lines(2)
    check_match(edge(22, "rising", 1, 1), lines[0], "22 rising only")
    check_match(edge(5, "falling", 0, 2), lines[1], "5 falling only")
    check_eq(sub.request("UNSUBSCRIBE gpio.*"), "OK", "UNSUBSCRIBE")
    check_eq(sub.request("UNSUBSCRIBE gpio.*"), "OK", "again: no error")
    check_eq(sub.request("SUBSCRIPTIONS"), "OK", "none left")
    check_eq(drv.request("gpio sim-set 22 1"), "OK", "an edge nobody wants")
    check_eq(sub.request("PING"), "OK PONG", "no event after UNSUBSCRIBE")
    check_eq(drv.request("gpio unwatch 22"), "OK", "unwatch")
    check_eq(sub.request("SUBSCRIBE gpio.22"), "OK", "subscribe again")
    check_eq(drv.request("gpio sim-set 22 0"), "OK", "edge of an unwatched line")
    check_eq(sub.request("PING"), "OK PONG", "no event after unwatch")


def test_two_subscribers_each_with_their_own_seq(t):
    d = start_events(t)
    a, b, drv = d.connect(), d.connect(), d.connect()
    check_eq(a.request("SUBSCRIBE gpio.4"), "OK", "a")
    check_eq(drv.request("gpio watch 4 both"), "OK 0", "watch")
    check_eq(drv.request("gpio sim-set 4 1"), "OK", "edge 1")
    check_match(edge(4, "rising", 1, 1), a.read_line(), "a: first")
    check_eq(b.request("SUBSCRIBE gpio.4 gpio.6"), "OK", "b, two topics")
    check_eq(drv.request("gpio sim-set 4 0"), "OK", "edge 2")
    check_match(edge(4, "falling", 0, 2), a.read_line(), "a: second")
    check_match(edge(4, "falling", 0, 1), b.read_line(), "b: its first")


def test_events_and_replies_share_a_connection(t):
    """A subscriber that drives the line itself gets its replies in order
    and the events between them, whole lines, each before the reply of
    the request that made it."""
    d = start_events(t)
    c = d.connect()
    check_eq(c.request("SUBSCRIBE gpio.9"), "OK", "subscribe")
    check_eq(c.request("gpio watch 9 both"), "OK 0", "watch")
    n = 40
    # Pipelined requests run on several workers: some may set the level
    # the line already has, so the edges are counted, not assumed.
    c.send_lines(["gpio sim-set 9 %d" % ((i + 1) % 2) for i in range(n)])
    replies, events = 0, []
    while replies < n:
        line = c.reply()
        if line.startswith("!"):
            events.append(line)
        else:
            check_eq(line, "OK", "reply %d" % replies)
            replies += 1
    check_eq(c.request("PING"), "OK PONG", "no event after the last reply")
    check(len(events) >= 1, "no event at all")
    for i, line in enumerate(events):
        check_match(edge(9, "rising" if i % 2 == 0 else "falling",
                         (i + 1) % 2, i + 1), line, "event %d" % i)
    check_eq(c.stats()["events_delivered"], len(events), "events_delivered")


def test_bad_subscriptions_and_watches(t):
    d = start_events(t)
    c = d.connect()
    for line, want in (
            ("SUBSCRIBE", r"^ERR ARGS usage: SUBSCRIBE <topic>"),
            ("SUBSCRIBE gpio.**", r"^ERR ARGS '\*' only at the end"),
            ("SUBSCRIBE gp*", r"^ERR ARGS '\*' must follow a '\.'"),
            ("SUBSCRIBE gpio..1", r"^ERR ARGS empty word"),
            ("SUBSCRIBE gpio.GPIO99", r"^ERR ARGS no gpio named 'GPIO99'"),
            ("SUBSCRIBE gpio.17 bad/topic", r"^ERR ARGS a topic has"),
            ("gpio watch 17 sideways", r"^ERR ARGS edges must be"),
            ("gpio watch 17 both 5000", r"^ERR ARGS debounce must be 0 to 1000"),
            ("gpio watch 17 both 5 pull-up extra", r"^ERR ARGS"),
            ("gpio watch 99 both", r"^ERR DEVICE line 99: out of range")):
        check_match(want, c.request(line), line)
    # SUBSCRIBE of several topics stops at the first bad one.
    check_eq(c.request("SUBSCRIPTIONS"), "OK gpio.17", "what was added")
    check_eq(c.request("gpio write 18 1"), "OK", "an output")
    check_match(r"^ERR BUSY line 18 is an output of picmd",
                c.request("gpio watch 18 both"), "watching an output")
    check_eq(c.request("gpio watch 19 both 20"), "OK 0", "watch 19")
    check_match(r"^ERR BUSY line 19 is watched",
                c.request("gpio write 19 1"), "driving a watched line")
    check_match(r"^ERR BUSY line 19 is watched",
                c.request("gpio mode 19 out"), "mode out on a watched line")
    check_match(r"^ERR BUSY line 19 is watched",
                c.request("gpio pulse 19 5"), "pulse on a watched line")
    check_eq(c.request("gpio release 19"), "OK", "release ends the watch")
    check_eq(c.request("gpio write 19 1"), "OK", "then it can be driven")
    check_eq(c.request("PING"), "OK PONG", "still serving")


def test_debounce_drops_bounces(t):
    d = start_events(t)
    sub, drv = d.connect(), d.connect()
    check_eq(sub.request("SUBSCRIBE gpio.13"), "OK", "subscribe")
    # A debounce far longer than the requests below take, even slowed.
    check_eq(drv.request("gpio watch 13 both 1000"), "OK 0", "watch")
    drv.send_lines(["gpio sim-set 13 1", "gpio sim-set 13 0",
                    "gpio sim-set 13 1"])
    check_eq(drv.read_lines(3), ["OK"] * 3, "three edges")
    check_match(edge(13, "rising", 1, 1), sub.read_line(), "the first")
    check_eq(sub.request("PING"), "OK PONG", "the bounces are not published")


def test_a_subscriber_that_does_not_read(t):
    """Its queue is bounded: the loop and other clients go on, the oldest
    events are dropped and counted, and the client learns how many."""
    d = start_events(t, server={"max_events_queued": "16",
                                "listen": "127.0.0.1:0, unix:" +
                                t.path("picmd.sock")})
    slow, drv, other = d.connect("unix"), d.connect(), d.connect()
    check_eq(slow.request("SUBSCRIBE gpio.*"), "OK", "subscribe")
    check_eq(drv.request("gpio watch 3 both"), "OK 0", "watch")
    # About 80 bytes each: 8,000 edges are far more than the socket's
    # buffer and the daemon's share of output hold.  (Pipelined requests
    # run on several workers, so two may set the same level: the edges
    # published are counted, not assumed.)
    total, batch = 8000, 500
    for start in range(0, total, batch):
        drv.send_lines(["gpio sim-set 3 %d" % ((i + 1) % 2)
                        for i in range(start, start + batch)])
        check_eq(drv.read_lines(batch), ["OK"] * batch, "a batch of edges")
    check_eq(other.request("PING"), "OK PONG", "another client is served")
    stats = other.stats()
    check(stats["events_published"] > total // 2, "published: %r" % stats)
    total = stats["events_published"]
    check(stats["events_dropped"] > 0, "nothing dropped: %r" % stats)
    check_eq(stats["subscriptions"], 1, "subscriptions")
    # Now read: the lines go up to the last seq, with an overflow report
    # where the gap is, whose count is the gap.
    seq, dropped_seen, overflows = 0, 0, 0
    while seq < total:
        line = slow.read_line()
        check(line is not None, "EOF from the slow subscriber's connection")
        m = re.match(r"^! overflow (\d+)$", line)
        if m:
            overflows += 1
            pending = int(m.group(1))
            continue
        m = re.match(r"^! gpio\.3 (rising|falling) [01] ts=\S+ mono=\S+ "
                     r"seq=(\d+)$", line)
        check(m is not None, "bad event line %r" % line)
        n = int(m.group(2))
        if n != seq + 1:
            check(overflows > 0 and pending == n - seq - 1,
                  "a gap from %d to %d without its overflow line" % (seq, n))
            dropped_seen += n - seq - 1
            pending = 0
        seq = n
    check(overflows >= 1, "no overflow line")
    check_eq(dropped_seen, other.stats()["events_dropped"],
             "the gaps add up to events_dropped")
    check_eq(other.stats()["events_delivered"], total - dropped_seen,
             "delivered")


def test_a_watch_nobody_subscribes_to_ends(t):
    d = t.start(plugins={"load": "diag gpio"},
                extra="[gpio]\nbackend = sim\nwatch_idle_s = 1\n")
    sub, drv = d.connect(), d.connect()
    check_eq(sub.request("SUBSCRIBE gpio.*"), "OK", "subscribe")
    check_eq(drv.request("gpio watch 17 both"), "OK 0", "watch 17")
    check_eq(drv.request("gpio watch 18 both"), "OK 0", "watch 18")
    # Subscribed to (by the pattern): both stay; then only 18 is.
    check_eq(sub.request("UNSUBSCRIBE gpio.*"), "OK", "unsubscribe")
    check_eq(sub.request("SUBSCRIBE gpio.18"), "OK", "keep 18")
    d.wait_line("gpio: line 17: nobody subscribed to gpio.17 for 1 s; "
                "watch ended")
    check_eq(drv.request("gpio write 17 1"), "OK", "17 is no longer watched")
    check_match(r"^ERR BUSY line 18 is watched", drv.request("gpio write 18 1"),
                "18 still is")
    check_eq(drv.request("gpio sim-set 18 1"), "OK", "an edge of 18")
    check_match(r"^! gpio\.18 rising 1 ", sub.read_line(), "18's edge")


def test_events_in_callback_mode_go_to_the_callback_port(t):
    from test_callback import CallbackPort
    d = start_events(t)
    cb = CallbackPort(t)
    c, drv = d.connect(), d.connect()
    check_eq(c.request("CALLBACK %d" % cb.port), "OK", "CALLBACK")
    check_eq(c.request("SUBSCRIBE gpio.17"), "OK", "SUBSCRIBE")
    check_eq(drv.request("gpio watch 17 both"), "OK 0", "watch")
    check_eq(drv.request("gpio sim-set 17 1"), "OK", "rising")
    check_eq(drv.request("gpio sim-set 17 0"), "OK", "falling")
    lines = cb.collect(2)
    check_match(edge(17, "rising", 1, 1), lines[0], "first, on the port")
    check_match(edge(17, "falling", 0, 2), lines[1], "second")
    # Nothing on the command connection but its own replies.
    check_eq(c.request("PING"), "OK PONG", "command connection")
    check_eq(c.request("CALLBACK OFF"), "OK", "CALLBACK OFF")
    check_eq(drv.request("gpio sim-set 17 1"), "OK", "rising again")
    check_match(edge(17, "rising", 1, 3), c.read_line(),
                "back on the command connection, the count going on")


def test_a_plugin_thread_publishes(t):
    """tests/plugins/ticker.c, the example of docs/PLUGINS.md."""
    d = t.start(plugins={"dir": t.plugin_dir(["ticker"]), "load": "ticker"},
                extra="[ticker]\ninterval_ms = 20\n")
    c = d.connect()
    check_eq(c.request("SUBSCRIBE ticker.*"), "OK", "subscribe")
    lines = c.read_lines(3)
    first = None
    for i, line in enumerate(lines):
        m = check_match(r"^! ticker\.tick (\d+) seq=%d$" % (i + 1), line,
                        "tick %d" % i)
        n = int(m.group(1))
        first = n if first is None else first
        check_eq(n, first + i, "ticks in order, none lost")
    # Unloading stops the thread (fini): a clean exit, checked at teardown.
