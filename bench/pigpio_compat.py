"""Scenario (i) of "make bench" (bench/run.py imports this): the pigpio
front-end against picmd's own text protocol, same daemon, same run.

  round trips: one connection, one request at a time, for the run's
      seconds, from Debian's python3 pinned to the load generator's CPU:
      pigpio's Python module calling pi.read(17), and a plain socket
      sending "gpio read 17" lines; both are the same gpio plugin command
      on a worker, so the difference is the front-end's cost (and the
      module's)
  pigs: "pigs r 17" as a user types it, process start included, beside
      "picmd gpio read 17" (the C client) the same number of times

Target: a pigpio round trip costs at most 1.3 times a text one.
"""

import os
import shutil
import socket
import statistics
import subprocess
import time

PYTHON = "/usr/bin/python3"
INVOCATIONS = 100

LOOP = r'''
import socket, sys, time
mode, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if mode == "pigpio":
    import pigpio
    pi = pigpio.pi("127.0.0.1", port)
    if not pi.connected:
        raise SystemExit("cannot connect")
    def once():
        if pi.read(17) != 1:
            raise SystemExit("read: not 1")
else:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def once():
        s.sendall(b"gpio read 17\n")
        buf = b""
        while not buf.endswith(b"\n"):
            buf += s.recv(64)
        if buf != b"OK 1\n":
            raise SystemExit("reply: %r" % buf)
for _ in range(500):
    once()
lat = []
clock = time.perf_counter_ns
start = clock()
end = start + int(seconds * 1e9)
while True:
    t0 = clock()
    once()
    t1 = clock()
    lat.append(t1 - t0)
    if t1 >= end:
        break
lat.sort()
print("rps=%.1f p50_us=%.1f p99_us=%.1f" % (
    len(lat) / ((t1 - start) / 1e9), lat[len(lat) // 2] / 1e3,
    lat[len(lat) * 99 // 100] / 1e3))
'''


def available():
    """None, or why (i) cannot run here."""
    if shutil.which("pigs") is None:
        return "no pigs (Debian's pigpio-tools is not installed)"
    if subprocess.run([PYTHON, "-c", "import pigpio"],
                      stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        return "no python3-pigpio"
    return None


def _loop(pinned, mode, port, seconds):
    out = subprocess.run(pinned([PYTHON, "-c", LOOP, mode, str(port),
                                 str(seconds)]),
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("(i) %s loop failed: %s" % (mode, out.stderr))
    return dict((k, float(v)) for k, v in
                (w.split("=") for w in out.stdout.split()))


def _invocations(pinned, argv, env=None):
    """Median wall time of argv, run INVOCATIONS times, in ms."""
    times = []
    for _ in range(INVOCATIONS):
        t0 = time.perf_counter()
        out = subprocess.run(pinned(argv), capture_output=True, text=True,
                             env=env, timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
        if out.returncode != 0 or "1" not in out.stdout:
            raise RuntimeError("(i) %s: %r %r" % (argv, out.stdout,
                                                  out.stderr))
    return statistics.median(times)


def scenario(log, start_server, pinned, build, text_port, pigpio_port,
             runs, seconds):
    srv = start_server().start()
    try:
        # Line 17 an output at 1, through the text protocol.
        with socket.create_connection(("127.0.0.1", text_port)) as s:
            s.sendall(b"gpio write 17 1\n")
            if not s.recv(64).startswith(b"OK"):
                raise RuntimeError("(i): gpio write 17 1 failed")
        text, pig = [], []
        for run in range(runs):
            for mode, port, into in (("text", text_port, text),
                                     ("pigpio", pigpio_port, pig)):
                r = _loop(pinned, mode, port, seconds)
                into.append(r)
                log("  run %d (i) %-6s %9.0f req/s  p50 %5.0f  p99 %5.0f us"
                    % (run + 1, mode, r["rps"], r["p50_us"], r["p99_us"]))
        env = dict(os.environ, PIGPIO_ADDR="127.0.0.1",
                   PIGPIO_PORT=str(pigpio_port))
        pigs_ms = _invocations(pinned, ["pigs", "r", "17"], env)
        client_ms = _invocations(pinned, [os.path.join(build, "picmd"),
                                          "-p", str(text_port), "gpio",
                                          "read", "17"])
        log("  (i) pigs r 17: %.2f ms; picmd gpio read 17: %.2f ms "
            "(median of %d)" % (pigs_ms, client_ms, INVOCATIONS))
    finally:
        srv.stop(check=False)

    def med(rs, k):
        return statistics.median(r[k] for r in rs)
    return {"text_rps": med(text, "rps"), "pig_rps": med(pig, "rps"),
            "text_p50": med(text, "p50_us"), "pig_p50": med(pig, "p50_us"),
            "text_p99": med(text, "p99_us"), "pig_p99": med(pig, "p99_us"),
            "pigs_ms": pigs_ms, "client_ms": client_ms}


def table_rows(t, i):
    """The rows of (i) in bench/run.py's table."""
    per_text, per_pig = 1e6 / i["text_rps"], 1e6 / i["pig_rps"]
    t.add("(i) pigpio pi.read(), 1 x 1", "round trips", "req/s",
          {"picmd": i["pig_rps"]}, i["text_rps"], "text gpio read")
    t.add("(i)", "time per request", "us", {"picmd": per_pig}, per_text,
          "text gpio read", "<= 1.3 x text", per_pig <= 1.3 * per_text)
    t.add("(i)", "p99", "us", {"picmd": i["pig_p99"]}, i["text_p99"],
          "text gpio read")
    t.add("(i) pigs r 17, process included", "median", "ms",
          {"picmd": i["pigs_ms"]}, i["client_ms"], "picmd gpio read 17")
