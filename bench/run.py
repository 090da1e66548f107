#!/usr/bin/env python3
"""picmd benchmarks: "make bench" and "make bench-instr".

make bench runs, with build/picmd-bench as the load generator:

  (a) PING, 50 connections, 1 request in flight each
  (b) PING, 50 connections, 16 in flight each (pipelined)
  (c) "#c diag sleep 0" (a plugin command on a worker), 50 x 16; tagged,
      because a connection's untagged commands run one at a time
  (d) "diag sleep 10", 64 connections x 1, workers = 8 (ideal: 800/s), with
      a PING probe connection alongside that must never wait for them
  (e) resident memory: idle with every plugin loaded, and per connection
      with 1000 idle connections that each sent one request
  (f) (g) (h) events (bench/events.py): one edge to 100 subscribers, a
      20,000 events/s stream to 10 subscribers, PING beside that stream
  (i) the pigpio front-end (bench/pigpio_compat.py): pigpio's Python
      module reading a line beside the text protocol doing the same, and
      pigs beside the picmd client; skipped where Debian has no pigpio
  (j) the Python package (bench/python_client.py), informational: calls
      per second on one connection, sequential and pipelined, beside the
      C load generator on one connection

(a), (b) and (e) also run against redis-server (inline PING) and memcached
(version) when they are installed, in the same run and alternating
(picmd, redis, memcached, picmd, ...), several runs each after a warm-up;
the table shows medians, each figure as a ratio to the best peer.  Servers
are pinned to one CPU and the load generator to another when there are two.

make bench-instr runs (b) and (c) for a fixed number of requests each with
the daemon under callgrind and prints instructions per request: the Ir of
that run minus the Ir of an idle start and stop, over the number of
requests.
"""

import argparse
import datetime
import hashlib
import os
import platform
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import events as bench_events
import pigpio_compat as bench_pigpio
import python_client as bench_python

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SECONDS_READY = 10


class BenchError(Exception):
    pass


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- machine

def cpu_sets():
    """(server CPUs, client CPUs) for taskset, or (None, None)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None, None
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None, None
    return str(cpus[0]), str(cpus[1])


def pinned(argv, cpu):
    return ["taskset", "-c", cpu] + argv if cpu is not None else argv


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=10)
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_description(server_cpu, client_cpu):
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
        mem = "%.1f GiB" % (mem_kib / 1048576)
    except (OSError, ValueError, IndexError):
        mem = "?"
    head = first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD",
                            "--", "src", "include", "commands"],
                           capture_output=True).returncode != 0
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc)
         .strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", model),
        ("cores", "%d online (%s)" % (os.cpu_count() or 0,
                                      "servers on CPU %s, load generator "
                                      "on CPU %s" % (server_cpu, client_cpu)
                                      if server_cpu is not None else
                                      "not pinned: fewer than 2 CPUs")),
        ("memory", mem),
        ("kernel", "%s %s" % (platform.system(), platform.release())),
        ("compiler", first_line([os.environ.get("CC") or "cc",
                                 "--version"])),
        ("libevent", first_line(["pkg-config", "--modversion",
                                 "libevent"])),
        ("redis-server", first_line(["redis-server", "--version"])
         if shutil.which("redis-server") else "not installed"),
        ("memcached", first_line(["memcached", "-V"])
         if shutil.which("memcached") else "not installed"),
        ("source", "commit %s%s; tree hash %s (src/, include/, "
         "commands/)" % (head, " + uncommitted changes" if dirty else "",
                         source_hash())),
    ]


def source_hash():
    """A short hash of the daemon's sources as built, so that runs of
    uncommitted trees can be told apart."""
    h = hashlib.sha256()
    for top in ("src", "include", "commands"):
        for d, dirs, files in sorted(os.walk(os.path.join(ROOT, top))):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    path = os.path.join(d, name)
                    h.update(os.path.relpath(path, ROOT).encode() + b"\0")
                    with open(path, "rb") as f:
                        h.update(f.read())
    return h.hexdigest()[:12]


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def rss_kib(pid):
    """VmRSS, RssAnon, RssFile in KiB."""
    want = {"VmRSS:": 0, "RssAnon:": 0, "RssFile:": 0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            w = line.split()
            if w and w[0] in want:
                want[w[0]] = int(w[1])
    if not want["VmRSS:"]:
        raise BenchError("no VmRSS for pid %d" % pid)
    return want["VmRSS:"], want["RssAnon:"], want["RssFile:"]


def cpu_seconds(pid):
    """User + system CPU time of a process, every thread."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- servers

class Server:
    """One server process we start, pin, probe, measure and stop."""

    def __init__(self, name, kind, argv, port, probe, err_prefix, tmp,
                 cpu, ready_seconds=SECONDS_READY):
        self.name, self.kind, self.argv, self.port = name, kind, argv, port
        self.probe, self.err_prefix = probe, err_prefix
        self.tmp, self.cpu, self.ready_seconds = tmp, cpu, ready_seconds
        self.proc = None
        self.logpath = os.path.join(tmp, "%s.log" % name)

    def start(self):
        if not port_free(self.port):
            raise BenchError("port %d is in use; choose others with "
                             "BENCH_PORT=<first of three>" % self.port)
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(pinned(self.argv, self.cpu),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_seconds
        while True:
            if self.proc.poll() is not None:
                raise BenchError("%s exited at start (status %s):\n%s" %
                                 (self.name, self.proc.returncode,
                                  self.log_tail()))
            try:
                reply = request_line(self.port, self.probe)
                if self.err_prefix and reply.startswith(self.err_prefix):
                    raise BenchError("%s answers %r to %r" %
                                     (self.name, reply, self.probe))
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop(check=False)
                raise BenchError("%s did not answer on port %d within "
                                 "%d s:\n%s" % (self.name, self.port,
                                                self.ready_seconds,
                                                self.log_tail()))
            time.sleep(0.05)

    @property
    def pid(self):
        # Behind taskset the pid is the server's own: taskset execs it.
        return self.proc.pid

    def stop(self, check=True, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            status = self.proc.returncode if self.proc else 0
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise BenchError("%s did not stop within %d s of SIGTERM" %
                                 (self.name, timeout))
        self.logf.close()
        if check and self.kind == "picmd" and status != 0:
            raise BenchError("%s exited with status %s:\n%s" %
                             (self.name, status, self.log_tail()))
        return status

    def log_tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def request_line(port, line, timeout=1.0):
    """Send one request line, return the reply line (without CR/LF)."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(line.encode() + b"\n")
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before a reply")
            data += chunk
    return data.split(b"\n", 1)[0].rstrip(b"\r").decode(errors="replace")


def picmd_config(template, tmp, name, port, plugin_dir, workers=None,
                 all_plugins=False, load=None, extra=""):
    """A copy of bench/picmdd-bench.ini for one daemon."""
    out, section = [], None
    with open(template) as f:
        lines = f.read().splitlines()
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            out.append(line)
            if section == "server" and workers is not None:
                out.append("workers = %d" % workers)
            continue
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and \
            not stripped.startswith(";") else None
        if section == "server" and key == "listen":
            line = "listen = 127.0.0.1:%d" % port
        elif section == "server" and key == "workers" and workers is not None:
            continue
        elif section == "plugins" and key == "dir":
            line = "dir = %s" % plugin_dir
        elif section == "plugins" and key == "load" and all_plugins:
            continue
        elif section == "plugins" and key == "load" and load is not None:
            line = "load = %s" % load
        out.append(line)
    path = os.path.join(tmp, "%s.ini" % name)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n" + extra)
    return path


def make_servers(args, tmp, server_cpu):
    """Factories for every server the run needs, by name."""
    build = os.path.abspath(args.build)
    plugin_dir = os.path.join(build, "commands")
    daemon = os.path.join(build, "picmdd")
    template = os.path.join(HERE, "picmdd-bench.ini")
    p0 = args.port

    def picmd(name, **kw):
        cfg = picmd_config(template, tmp, name, p0, plugin_dir, **kw)
        return Server(name, "picmd", [daemon, "-c", cfg], p0, "PING", "ERR",
                      tmp, server_cpu)

    f = {
        "picmd": lambda: picmd("picmd"),
        "picmd-all": lambda: picmd("picmd-all", all_plugins=True),
        "picmd-w8": lambda: picmd("picmd-w8", workers=8),
        # (f)-(h): events from the simulated chip and diag publish.
        "picmd-events": lambda: picmd("picmd-events", load="diag gpio",
                                      extra="[gpio]\nbackend = sim\n"),
        # (i): the pigpio front-end on the simulated chip.
        "picmd-pigpio": lambda: picmd(
            "picmd-pigpio", load="diag gpio",
            extra="[gpio]\nbackend = sim\n[pigpio]\nlisten = "
            "127.0.0.1:%d\nhwver = 0xa02082\n" % (p0 + 3)),
    }
    if not args.no_peers and shutil.which("redis-server"):
        # Inline commands on the default single I/O thread; no
        # persistence, so nothing but the requests costs anything.
        f["redis"] = lambda: Server("redis", "redis", [
            "redis-server", "--port", str(p0 + 1), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--loglevel", "warning", "--maxclients", "4096"],
            p0 + 1, "PING", "-ERR", tmp, server_cpu)
    if not args.no_peers and shutil.which("memcached"):
        # The text protocol over TCP only, default threads (-t 4).
        argv = ["memcached", "-p", str(p0 + 2), "-U", "0", "-l",
                "127.0.0.1", "-c", "4096"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        f["memcached"] = lambda: Server("memcached", "memcached", argv,
                                        p0 + 2, "version", "ERROR", tmp,
                                        server_cpu)
    return f


# ---------------------------------------------------------------- load

REQUEST = {"picmd": "PING", "redis": "PING", "memcached": "version"}


def run_load(args, client_cpu, server, conns, depth, request=None,
             seconds=None, warmup=None, limit=None, stall=None):
    argv = [os.path.join(args.build, "picmd-bench"), "-j",
            "-p", str(server.port), "-c", str(conns), "-P", str(depth),
            "-r", request or REQUEST[server.kind]]
    if server.err_prefix:
        argv += ["-e", server.err_prefix]
    if limit is not None:
        argv += ["-n", str(limit)]
    else:
        argv += ["-d", str(seconds or args.seconds),
                 "-w", str(args.warmup if warmup is None else warmup)]
    if stall is not None:
        argv += ["-s", str(stall)]
    return pinned(argv, client_cpu)


def parse_kv(text):
    out = {}
    for word in text.split():
        k, _, v = word.partition("=")
        out[k] = float(v)
    return out


def load(args, client_cpu, server, conns, depth, **kw):
    """One load run; adds the CPU use of the server and of the load
    generator over the whole run (warm-up and drain included), in % of
    one CPU."""
    argv = run_load(args, client_cpu, server, conns, depth, **kw)
    t0, s0, c0 = time.monotonic(), cpu_seconds(server.pid), children_cpu()
    res = subprocess.run(argv, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if res.returncode != 0:
        raise BenchError("load on %s failed (%s):\n%s" %
                         (server.name, " ".join(argv),
                          res.stderr.strip() or res.stdout.strip()))
    if server.proc.poll() is not None:
        raise BenchError("%s died during the load:\n%s" %
                         (server.name, server.log_tail()))
    r = parse_kv(res.stdout)
    r["srv_cpu"] = 100 * (cpu_seconds(server.pid) - s0) / wall
    r["cli_cpu"] = 100 * (children_cpu() - c0) / wall
    return r


def hold_connections(port, n, request, timeout=20.0):
    """Open n connections, send one request on each, read every reply;
    return the sockets, still open."""
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(s)
        for s in socks:
            s.sendall(request.encode() + b"\n")
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        waiting = len(socks)
        deadline = time.monotonic() + timeout
        while waiting:
            if time.monotonic() > deadline:
                raise BenchError("%d of %d held connections got no reply "
                                 "within %.0f s" % (waiting, n, timeout))
            for key, _ in sel.select(0.5):
                data = key.fileobj.recv(4096)
                if not data:
                    raise BenchError("a held connection was closed by the "
                                     "server")
                key.data.extend(data)
                if b"\n" in key.data:
                    sel.unregister(key.fileobj)
                    waiting -= 1
        sel.close()
        return socks
    except BaseException:
        for s in socks:
            s.close()
        raise


# ---------------------------------------------------------------- table

def med(runs, key):
    return statistics.median(r[key] for r in runs)


def fmt_num(v, unit):
    if v is None:
        return "-"
    if unit == "req/s":
        return "{:,.0f}".format(v)
    if unit in ("KiB", "bytes", "us", "ms"):
        return "{:,.0f}".format(v) if v >= 100 else "{:,.1f}".format(v)
    return "%g" % v


class Table:
    """Rows of: scenario, metric, unit, {server: value}, reference value,
    how the ratio reads, target text, met (True/False/None)."""

    def __init__(self):
        self.rows = []

    def add(self, scen, metric, unit, values, ref=None, ref_name="",
            target="", met=None):
        self.rows.append((scen, metric, unit, values, ref, ref_name, target,
                          met))

    def peer_row(self, scen, metric, unit, values, lower_is_better,
                 target_ratio=None):
        peers = {k: v for k, v in values.items() if k != "picmd" and
                 v is not None}
        best = None
        if peers:
            best = (min if lower_is_better else max)(peers.values())
        met, target = None, ""
        if target_ratio is not None and best:
            ratio = values["picmd"] / best
            met = ratio <= target_ratio if lower_is_better else \
                ratio >= target_ratio
            target = ("<= %.2f x best peer" if lower_is_better else
                      ">= %.2f x best peer") % target_ratio
        self.add(scen, metric, unit, values, best, "best peer", target, met)

    def render(self, servers):
        head = ["scenario", "metric"] + servers + ["ratio to", "target",
                                                   "met"]
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join("---" for _ in head) + "|"]
        for scen, metric, unit, values, ref, ref_name, target, met in \
                self.rows:
            cells = [scen, "%s (%s)" % (metric, unit)]
            for s in servers:
                v = values.get(s)
                if v is None:
                    cells.append("-")
                elif ref:
                    cells.append("%s (%.2f)" % (fmt_num(v, unit), v / ref))
                else:
                    cells.append(fmt_num(v, unit))
            cells.append("%s %s" % (ref_name, fmt_num(ref, unit))
                         if ref else "")
            cells.append(target)
            cells.append("" if met is None else ("yes" if met else "**no**"))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


# ---------------------------------------------------------------- bench

def scenario_memory(args, factories, held):
    """(e): idle VmRSS, then VmRSS with `held` idle connections."""
    out = {}
    for name in ["picmd-all", "redis", "memcached"]:
        if name not in factories:
            continue
        srv = factories[name]().start()
        try:
            time.sleep(0.5)
            idle, idle_anon, idle_file = rss_kib(srv.pid)
            socks = hold_connections(srv.port, held, srv.probe)
            try:
                time.sleep(0.5)
                busy, _, _ = rss_kib(srv.pid)
            finally:
                for s in socks:
                    s.close()
        finally:
            srv.stop()
        key = "picmd" if name == "picmd-all" else name
        out[key] = {"idle_kib": idle, "held_kib": busy,
                    "anon_kib": idle_anon, "file_kib": idle_file,
                    "per_conn": (busy - idle) * 1024.0 / held}
        log("  (e) %-9s idle %6d KiB (%d anonymous, %d file-backed), with "
            "%d connections %6d KiB: %.0f bytes per connection" %
            (key, idle, idle_anon, idle_file, held, busy,
             out[key]["per_conn"]))
    return out


def bench(args):
    server_cpu, client_cpu = cpu_sets()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    machine = machine_description(server_cpu, client_cpu)
    load_start = loadavg()
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="picmd-bench-")
    f = make_servers(args, tmp, server_cpu)
    peers = [p for p in ("redis", "memcached") if p in f]
    servers = ["picmd"] + peers
    log("bench: %d runs of %g s after %g s warm-up; servers: %s; logs in %s"
        % (args.runs, args.seconds, args.warmup, ", ".join(servers), tmp))
    if not peers:
        log("bench: redis-server and memcached are not installed "
            "(tools/deps.sh bench): picmd figures only")

    mem = scenario_memory(args, f, args.held)

    # (a) (b): the three servers side by side, alternating.
    ab = {s: {"a": [], "b": []} for s in servers}
    running = {}
    try:
        running["picmd"] = f["picmd"]().start()
        for p in peers:
            running[p] = f[p]().start()
        for run in range(args.runs):
            for scen, depth in (("a", 1), ("b", 16)):
                for s in servers:
                    r = load(args, client_cpu, running[s], 50, depth)
                    ab[s][scen].append(r)
                    log("  run %d (%s) %-9s %9.0f req/s  p50 %5d  p99 %5d "
                        "p99.9 %6d us  cpu: server %3.0f%% client %3.0f%%"
                        % (run + 1, scen, s, r["rps"], r["p50_us"],
                           r["p99_us"], r["p999_us"], r["srv_cpu"],
                           r["cli_cpu"]))
        for p in peers:
            running.pop(p).stop()
        # (c): a worker round trip per request, same daemon.
        srv = running["picmd"]
        stats = request_line(srv.port, "STATS")
        workers = dict(w.split("=", 1) for w in stats.split()[1:]
                       if "=" in w).get("workers", "?")
        c_runs = []
        for run in range(args.runs):
            r = load(args, client_cpu, srv, 50, 16,
                     request="#c diag sleep 0")
            c_runs.append(r)
            log("  run %d (c) picmd     %9.0f req/s  p50 %5d  p99 %5d "
                "p99.9 %6d us  cpu: server %3.0f%% client %3.0f%%" %
                (run + 1, r["rps"], r["p50_us"], r["p99_us"], r["p999_us"],
                 r["srv_cpu"], r["cli_cpu"]))
        running.pop("picmd").stop()

        # (d): 64 slow commands on 8 workers, and a PING probe alongside.
        srv = running["picmd-w8"] = f["picmd-w8"]().start()
        d_runs, probe_runs = [], []
        for run in range(args.runs):
            probe = subprocess.Popen(
                run_load(args, client_cpu, srv, 1, 1, request="PING"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                r = load(args, client_cpu, srv, 64, 1,
                         request="diag sleep 10")
            finally:
                pout, perr = probe.communicate()
            if probe.returncode != 0:
                raise BenchError("PING probe during (d) failed:\n" + perr)
            p = parse_kv(pout)
            d_runs.append(r)
            probe_runs.append(p)
            log("  run %d (d) picmd     %9.1f req/s  p50 %5d  p99.9 %6d  "
                "max %6d us; PING alongside: p99.9 %d max %d us" %
                (run + 1, r["rps"], r["p50_us"], r["p999_us"], r["max_us"],
                 p["p999_us"], p["max_us"]))
        running.pop("picmd-w8").stop()

        # (f), (g), (h): events.
        ev = bench_events.scenarios(
            log, f["picmd-events"],
            lambda srv: load(args, client_cpu, srv, 50, 16, seconds=5),
            rss_kib,
            pinned([os.path.join(args.build, "picmd-stream")], client_cpu))

        # (i): pigpio's clients through the front-end.
        why_not = bench_pigpio.available()
        if why_not is None:
            pg = bench_pigpio.scenario(
                log, f["picmd-pigpio"], lambda argv: pinned(argv, client_cpu),
                os.path.abspath(args.build), args.port, args.port + 3,
                args.runs, args.seconds)
        else:
            pg = None
            log("bench: (i) skipped: %s" % why_not)

        # (j): the Python client beside the C one.
        py = bench_python.scenario(
            log, f["picmd"], lambda argv: pinned(argv, client_cpu),
            lambda srv, depth: load(args, client_cpu, srv, 1, depth),
            args.port, args.runs, args.seconds)
    finally:
        for srv in running.values():
            srv.stop(check=False)

    # ---- the table
    t = Table()
    for scen, label in (("a", "(a) PING 50 x 1"), ("b", "(b) PING 50 x 16")):
        for key, metric, lower, target in (
                ("rps", "throughput", False, 1.0),
                ("p50_us", "p50", True, None),
                ("p99_us", "p99", True, 1.0),
                ("p999_us", "p99.9", True, None)):
            vals = {s: med(ab[s][scen], key) for s in servers}
            t.peer_row(label, metric, "req/s" if key == "rps" else "us",
                       vals, lower, target)
    b_rps = med(ab["picmd"]["b"], "rps")
    c_rps = med(c_runs, "rps")
    t.add("(c) diag sleep 0, 50 x 16", "throughput", "req/s",
          {"picmd": c_rps}, b_rps, "picmd (b)", ">= 0.50 x (b)",
          c_rps / b_rps >= 0.5)
    for key, metric in (("p50_us", "p50"), ("p99_us", "p99"),
                        ("p999_us", "p99.9")):
        t.add("(c)", metric, "us", {"picmd": med(c_runs, key)})
    ideal_rps, ideal_ms = 8 / 0.010, 64 / 8 * 10.0
    d_rps = med(d_runs, "rps")
    t.add("(d) diag sleep 10, 64 x 1, 8 workers", "throughput", "req/s",
          {"picmd": d_rps}, ideal_rps, "ideal", ">= 0.90 x ideal",
          d_rps / ideal_rps >= 0.9)
    for key, metric in (("p50_us", "p50"), ("p999_us", "p99.9"),
                        ("max_us", "max (median of runs)")):
        t.add("(d)", metric, "ms", {"picmd": med(d_runs, key) / 1000},
              ideal_ms, "ideal (64 / 8 x 10 ms)")
    probe_max = max(p["max_us"] for p in probe_runs) / 1000
    t.add("(d) PING on its own connection alongside", "p99.9", "ms",
          {"picmd": med(probe_runs, "p999_us") / 1000})
    t.add("(d) PING alongside", "max of all runs", "ms",
          {"picmd": probe_max}, target="< 10 ms (one slow command)",
          met=probe_max < 10)
    if "picmd" in mem:
        t.peer_row("(e) memory, every plugin", "idle VmRSS", "KiB",
                   {s: mem.get(s, {}).get("idle_kib") for s in servers},
                   True)
        t.rows[-1] = t.rows[-1][:6] + ("< 3072 KiB",
                                       mem["picmd"]["idle_kib"] < 3072)
        t.peer_row("(e) %d idle connections" % args.held, "per connection",
                   "bytes",
                   {s: mem.get(s, {}).get("per_conn") for s in servers},
                   True)
        t.rows[-1] = t.rows[-1][:6] + ("< 1024 bytes",
                                       mem["picmd"]["per_conn"] < 1024)

    bench_events.table_rows(t, ev)
    if pg is not None:
        bench_pigpio.table_rows(t, pg)
    bench_python.table_rows(t, py)
    table = t.render(servers)
    memtab = "\n".join(
        ["| server | idle VmRSS KiB | anonymous | file-backed | with %d "
         "connections | bytes per connection |" % args.held,
         "|---|---|---|---|---|---|"] +
        ["| %s | %d | %d | %d | %d | %.0f |" %
         (s, m["idle_kib"], m["anon_kib"], m["file_kib"], m["held_kib"],
          m["per_conn"]) for s, m in ((s, mem[s]) for s in servers
                                      if s in mem)])
    load_end = loadavg()
    elapsed = time.monotonic() - started
    raw = ["| server | scenario | run | req/s | p50 us | p99 us | p99.9 us "
           "| max us | server CPU | load generator CPU |",
           "|---|---|---|---|---|---|---|---|---|---|"]

    def raw_rows(name, scen, runs):
        for i, r in enumerate(runs):
            raw.append("| %s | %s | %d | %.0f | %d | %d | %d | %d | %s | "
                       "%s |" % (name, scen, i + 1, r["rps"], r["p50_us"],
                                 r["p99_us"], r["p999_us"], r["max_us"],
                                 "%.0f%%" % r["srv_cpu"] if "srv_cpu" in r
                                 else "-", "%.0f%%" % r["cli_cpu"]
                                 if "cli_cpu" in r else "-"))
    for scen in ("a", "b"):
        for s in servers:
            raw_rows(s, scen, ab[s][scen])
    raw_rows("picmd", "c", c_runs)
    raw_rows("picmd", "d", d_runs)
    raw_rows("picmd", "d: PING alongside", probe_runs)

    md = ["# picmd benchmark results", "",
          "Written by `make bench` (bench/run.py); docs/PERFORMANCE.md "
          "explains the scenarios and the targets.", "",
          "## Machine", ""]
    md += ["- %s: %s" % kv for kv in machine]
    md += ["- load average (1, 5, 15 min): %s at the start, %s at the end "
           "(anything above 0 is other work sharing the CPUs)" %
           (load_start, load_end),
           "- picmdd: %s workers for (a)-(c) (the default: one per CPU), 8 "
           "for (d)" % workers,
           "- redis-server: `--save '' --appendonly no`, one I/O thread "
           "(the default); memcached: `-U 0 -c 4096`, 4 worker threads "
           "(the default -t 4)",
           "", "## Results", "",
           "Medians of %d runs of %g s, each after %g s of warm-up, "
           "servers alternating; latencies are from the load generator "
           "(queueing of the request to the newline of its reply). "
           "In parentheses: the ratio to the best peer (throughput: higher "
           "is better; latency and memory: lower is better), or to the "
           "reference the row names. Run time %.0f s." %
           (args.runs, args.seconds, args.warmup, elapsed), "", table, "",
           "", "Memory (e), VmRSS split as /proc/PID/status reports it "
           "(file-backed pages are mostly shared libraries, shared with "
           "other processes):", "", memtab, "",
           "## Every run", "",
           "CPU use is over the whole run (warm-up and drain included), in "
           "% of one CPU; a server near 100% is the bottleneck, a load "
           "generator near 100% would make the figure its own.", ""] + raw + [""]
    with open(args.out, "w") as fo:
        fo.write("\n".join(md))
    log("")
    log(table)
    log("")
    log("bench: load average %s at the start, %s at the end; %.0f s; "
        "written to %s" % (load_start, load_end, elapsed,
                           os.path.relpath(args.out)))
    shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- instr

def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise BenchError("no totals in %s" % path)


def instr(args):
    server_cpu, client_cpu = cpu_sets()
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is not installed (tools/deps.sh bench)")
    tmp = tempfile.mkdtemp(prefix="picmd-bench-instr-")
    build = os.path.abspath(args.build)
    cfg = picmd_config(os.path.join(HERE, "picmdd-bench.ini"), tmp,
                       "picmd", args.port, os.path.join(build, "commands"))
    totals = {}
    runs = (("idle", 0, None), ("b", args.requests, "PING"),
            ("c", args.requests, "#c diag sleep 0"))
    for name, n, request in runs:
        out = os.path.join(tmp, "callgrind.%s.out" % name)
        srv = Server("picmd-callgrind-%s" % name, "picmd",
                     ["valgrind", "--tool=callgrind", "-q",
                      "--callgrind-out-file=" + out,
                      os.path.join(build, "picmdd"), "-c", cfg],
                     args.port, "PING", "ERR", tmp, server_cpu,
                     ready_seconds=60)
        srv.start()
        try:
            if n:
                t0 = time.monotonic()
                r = load(args, client_cpu, srv, 50, 16, request=request,
                         limit=n, stall=60)
                log("bench-instr: %d requests (50 x 16 %s) under "
                    "callgrind in %.1f s (%.0f req/s)" %
                    (n, request, time.monotonic() - t0, r["rps"]))
        finally:
            srv.stop()
        totals[name] = callgrind_total(out)
        log("bench-instr: %-4s run: %d Ir" % (name, totals[name]))
    for name, what in (("b", "scenario (b): PING"),
                       ("c", "scenario (c): diag sleep 0, on a worker")):
        per = (totals[name] - totals["idle"]) / args.requests
        log("bench-instr: %.0f instructions per request (%s, 50 "
            "connections x 16 in flight; user space only, every thread)"
            % (per, what))
    if shutil.which("callgrind_annotate"):
        ann = subprocess.run(["callgrind_annotate", "--inclusive=no",
                              os.path.join(tmp, "callgrind.c.out")],
                             capture_output=True, text=True).stdout
        lines = [l for l in ann.splitlines()
                 if l.strip() and l.strip()[0] not in "-*"]
        start = next((i for i, l in enumerate(lines)
                      if "file:function" in l), None)
        if start is not None:
            log("bench-instr: where they go in (c) (self cost, whole "
                "run):")
            for l in lines[start + 1:start + 1 + args.top]:
                if l.strip():
                    log("  " + l.strip())
    if args.keep:
        log("bench-instr: callgrind files kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--held", type=int, default=1000,
                    help="idle connections for (e)")
    ap.add_argument("--port", type=int, default=17769,
                    help="picmdd's port; redis and memcached use the next "
                    "two")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--instr", action="store_true",
                    help="callgrind instructions per request instead")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--keep", action="store_true",
                    help="keep the callgrind files")
    args = ap.parse_args()
    try:
        if args.instr:
            instr(args)
        else:
            bench(args)
    except BenchError as e:
        print("bench: FAIL: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
