"""Scenario (j) of "make bench" (bench/run.py imports this), informational:
calls per second from the Python package (python/picmd) on one
connection, sequential (call) and pipelined (call_async, 64 in flight),
beside the C load generator on one connection at depth 1 and 16, same
daemon, same run.  Both are PING, so the figures are the clients' costs.
"""

import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"

LOOP = r'''
import collections, sys, time
sys.path.insert(0, sys.argv[1])
import picmd
port, seconds, depth = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
with picmd.Client("127.0.0.1", port) as c:
    for _ in range(500):
        c.call("PING")
    n = 0
    start = time.perf_counter()
    end = start + seconds
    if depth == 1:
        while time.perf_counter() < end:
            c.call("PING")
            n += 1
    else:
        window = collections.deque(c.call_async("PING") for _ in range(depth))
        while time.perf_counter() < end:
            window.popleft().result()
            window.append(c.call_async("PING"))
            n += 1
        for f in window:
            f.result()
    print("rps=%.1f" % (n / (time.perf_counter() - start)))
'''


def _python_rps(pinned, port, seconds, depth):
    out = subprocess.run(
        pinned([PYTHON, "-c", LOOP, os.path.join(ROOT, "python"), str(port),
                str(seconds), str(depth)]),
        capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("(j) Python client failed: " + out.stderr)
    return float(out.stdout.split("=")[1])


def scenario(log, start_server, pinned, c_load, port, runs, seconds):
    """Medians over runs of {py_seq, py_pipe, c_seq, c_pipe} (calls/s);
    c_load(server, depth) runs the C load generator on one connection."""
    srv = start_server().start()
    got = {"py_seq": [], "py_pipe": [], "c_seq": [], "c_pipe": []}
    try:
        for run in range(runs):
            got["py_seq"].append(_python_rps(pinned, port, seconds, 1))
            got["py_pipe"].append(_python_rps(pinned, port, seconds, 64))
            got["c_seq"].append(c_load(srv, 1)["rps"])
            got["c_pipe"].append(c_load(srv, 16)["rps"])
            log("  run %d (j) Python %8.0f / %8.0f calls/s (1 / 64 in "
                "flight); C %8.0f / %8.0f (1 / 16)" % (
                    run + 1, got["py_seq"][-1], got["py_pipe"][-1],
                    got["c_seq"][-1], got["c_pipe"][-1]))
    finally:
        srv.stop(check=False)
    return {k: statistics.median(v) for k, v in got.items()}


def table_rows(t, j):
    t.add("(j) Python client, 1 connection", "sequential call()", "req/s",
          {"picmd": j["py_seq"]}, j["c_seq"], "C, depth 1")
    t.add("(j)", "pipelined call_async(), 64 in flight", "req/s",
          {"picmd": j["py_pipe"]}, j["c_pipe"], "C, depth 16")
