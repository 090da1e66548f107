"""The event scenarios of "make bench" (bench/run.py imports this):

  (f) one GPIO edge (gpio sim-set on a watched line) fanned out to 100
      subscribed connections: the time from the sim-set reply, and from
      sending the sim-set, to the last subscriber's "!" line
  (g) 20,000 events/s (diag publish, 500 a request, 40 requests/s) to 10
      subscribers for 10 s: every event to every subscriber, nothing
      dropped, resident memory flat
  (h) PING 50 x 16 throughput while (g) runs, against PING alone

(f)'s subscribers are sockets in this process read through epoll; its
figures include this process's own reading (Python), so they are upper
bounds of the daemon's part.  (g)'s stream is bench/picmd-stream.c,
pinned to the load generator's CPU: one epoll loop in C, so the pace
holds while (h)'s load shares that CPU.
"""

import selectors
import socket
import subprocess
import threading
import time


def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _ask(s, line):
    s.sendall(line.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the daemon")
        buf += chunk
    return buf.decode().strip()


def _stats(port):
    s = _connect(port)
    try:
        reply = _ask(s, "STATS")
    finally:
        s.close()
    return {k: v for k, _, v in (w.partition("=") for w in reply.split()[1:])}


def _pct(values, q):
    values = sorted(values)
    i = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[i]


def fanout(port, subscribers=100, edges=300):
    """(f): latencies in microseconds, from the reply and from the send."""
    subs = []
    try:
        for _ in range(subscribers):
            s = _connect(port)
            if _ask(s, "SUBSCRIBE gpio.17") != "OK":
                raise RuntimeError("SUBSCRIBE refused")
            s.setblocking(False)
            subs.append(s)
        drv = _connect(port)
        if not _ask(drv, "gpio watch 17 both").startswith("OK"):
            raise RuntimeError("gpio watch refused")
        sel = selectors.DefaultSelector()
        for s in subs:
            sel.register(s, selectors.EVENT_READ)
        from_reply, from_send = [], []
        for i in range(edges):
            waiting = set(subs)
            t0 = time.perf_counter()
            drv.sendall(b"gpio sim-set 17 %d\n" % ((i + 1) % 2))
            reply = drv.recv(4096)
            t_reply = time.perf_counter()
            if not reply.startswith(b"OK"):
                raise RuntimeError("sim-set: %r" % reply)
            while waiting:
                for key, _ in sel.select(5):
                    data = key.fileobj.recv(65536)
                    if not data:
                        raise ConnectionError("a subscriber was closed")
                    waiting.discard(key.fileobj)
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError("%d subscribers got no event"
                                       % len(waiting))
            t_last = time.perf_counter()
            from_reply.append((t_last - t_reply) * 1e6)
            from_send.append((t_last - t0) * 1e6)
        drv.close()
    finally:
        for s in subs:
            s.close()
    return {"reply_p50": _pct(from_reply, 0.5),
            "reply_p99": _pct(from_reply, 0.99),
            "send_p50": _pct(from_send, 0.5),
            "send_p99": _pct(from_send, 0.99)}


class Stream:
    """(g): picmd-stream (bench/picmd-stream.c) subscribes 10 connections
    and publishes `rate` events a second in batches of `batch` for
    `seconds`; meanwhile this samples the daemon's VmRSS once a second."""

    def __init__(self, argv_prefix, port, subscribers=10, rate=20000,
                 batch=500, seconds=10.0, rss=None):
        self.argv = argv_prefix + [
            "-p", str(port), "-c", str(subscribers), "-s", "bench.*",
            "-t", "bench.tick", "-r", str(rate), "-b", str(batch),
            "-d", str(seconds)]
        self.seconds, self.rss = seconds, rss
        self.samples = []

    def run(self):
        proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            while True:
                try:
                    out, err = proc.communicate(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    if self.rss:
                        self.samples.append(self.rss())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise RuntimeError("picmd-stream failed (%s):\n%s" %
                               (" ".join(self.argv), err.strip()))
        r = {k: float(v) for k, _, v in
             (w.partition("=") for w in out.split())}
        return {"sent": int(r["sent"]), "rate": r["rate"],
                "min_got": int(r["min_got"]), "max_got": int(r["max_got"]),
                "late": int(r["late"]), "max_lag_us": int(r["max_lag_us"]),
                "rss_first": self.samples[0] if self.samples else 0,
                "rss_last": self.samples[-1] if self.samples else 0,
                "rss_max": max(self.samples) if self.samples else 0}


def scenarios(log, start_server, run_ping, rss_kib, stream_argv):
    """(f), (g), (h) on a daemon start_server() gives (diag and gpio on
    the simulated chip); run_ping(srv) is one PING 50 x 16 load;
    stream_argv starts picmd-stream (pinned like the load generator).
    Returns the figures by name."""
    srv = start_server().start()
    out = {}
    try:
        f = fanout(srv.port)
        log("  (f) one edge to 100 subscribers: last line %.0f us (p50) "
            "%.0f us (p99) after the sim-set reply, %.0f / %.0f us after "
            "sending it" % (f["reply_p50"], f["reply_p99"], f["send_p50"],
                            f["send_p99"]))
        out["f"] = f

        alone = run_ping(srv)
        log("  (h) PING 50 x 16 alone: %.0f req/s" % alone["rps"])
        dropped0 = int(_stats(srv.port)["events_dropped"])
        stream = Stream(stream_argv, srv.port,
                        rss=lambda: rss_kib(srv.pid)[0])
        result = {}
        th = threading.Thread(target=lambda: result.update(stream.run()))
        th.start()
        time.sleep(2.0)         # the stream at its pace before the PINGs
        during = run_ping(srv)
        th.join(60)
        g = result
        dropped = int(_stats(srv.port)["events_dropped"]) - dropped0
        g["dropped"] = dropped
        log("  (g) %.0f events/s to 10 subscribers for 10 s: sent %d, each "
            "got %d..%d, dropped %d; %d batches late (at most %d us); "
            "VmRSS %d -> %d KiB (max %d)" %
            (g["rate"], g["sent"], g["min_got"], g["max_got"], dropped,
             g["late"], g["max_lag_us"], g["rss_first"], g["rss_last"],
             g["rss_max"]))
        log("  (h) PING 50 x 16 during (g): %.0f req/s (%.2f of alone)" %
            (during["rps"], during["rps"] / alone["rps"]))
        out["g"] = g
        out["h"] = {"alone": alone["rps"], "during": during["rps"]}
    finally:
        srv.stop()
    return out


def table_rows(t, ev):
    """The rows of (f), (g), (h) in bench/run.py's table."""
    f, g, h = ev["f"], ev["g"], ev["h"]
    t.add("(f) one edge to 100 subscribers", "p50, from the sim-set reply",
          "us", {"picmd": f["reply_p50"]})
    t.add("(f)", "p99, from the sim-set reply", "us",
          {"picmd": f["reply_p99"]}, target="< 1,000 us",
          met=f["reply_p99"] < 1000)
    t.add("(f)", "p99, from sending the sim-set", "us",
          {"picmd": f["send_p99"]})
    t.add("(g) 20,000 events/s to 10 subscribers, 10 s", "events/s", "req/s",
          {"picmd": g["rate"]}, 20000, "asked", ">= 0.95 x asked",
          g["rate"] >= 19000)
    ok = g["dropped"] == 0 and g["min_got"] == g["sent"] == g["max_got"]
    t.add("(g)", "events lost (sent %d, each subscriber got %d..%d)" %
          (g["sent"], g["min_got"], g["max_got"]), "events",
          {"picmd": g["sent"] - g["min_got"] + g["dropped"]},
          target="0", met=ok)
    grow = g["rss_last"] - g["rss_first"]
    t.add("(g)", "VmRSS growth over the run", "KiB", {"picmd": grow},
          target="< 256 KiB (flat)", met=grow < 256)
    t.add("(h) PING 50 x 16 during (g)", "throughput", "req/s",
          {"picmd": h["during"]}, h["alone"], "PING alone",
          ">= 0.80 x alone", h["during"] / h["alone"] >= 0.8)
