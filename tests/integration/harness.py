"""
Harness for the picmdd integration tests.

Each test gets a Context: its own temporary directory, the daemons it
starts (always stopped again by pid, in cleanup) and the clients it opens.
A daemon is ready when its stderr says "info: ready:"; its TCP ports are
taken from the "info: listening on ..." lines before that.  Every socket
operation and every wait has a timeout.

Teardown stops each daemon still running with SIGTERM and checks that it
exits 0 and that its stderr holds no sanitizer report: that is how the
AddressSanitizer build proves there was no leak or use-after-free.

PICMD_TEST_WRAPPER (e.g. "valgrind --error-exitcode=99 --leak-check=full")
is prefixed to the daemon's command line; timeouts then grow by SLOW.
PICMD_TEST_EMULATOR (e.g. "qemu-aarch64-static -L build/sysroot-arm64", set
by make ARCH=...) is prefixed to every binary of the build: the daemon and
the client (EMULATOR); timeouts grow by SLOW too.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

EMULATOR = shlex.split(os.environ.get("PICMD_TEST_EMULATOR", ""))
WRAPPER = EMULATOR + shlex.split(os.environ.get("PICMD_TEST_WRAPPER", ""))
SLOW = 5.0 if WRAPPER else 1.0

IO_TIMEOUT = 10.0 * SLOW      # one socket operation or one reply
READY_TIMEOUT = 20.0 * SLOW   # daemon start-up
EXIT_TIMEOUT = 15.0 * SLOW    # daemon shutdown after a signal

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "ThreadSanitizer")

# Every daemon started, so the run's watchdog can kill them by pid.
_all_procs = []
_all_procs_lock = threading.Lock()


class Skip(Exception):
    """A test that cannot run on this machine, and why (e.g. a client
    program Debian 13 no longer ships)."""


class Failure(AssertionError):
    """A test assertion failed."""


def check(cond, message):
    if not cond:
        raise Failure(message)


def check_eq(got, want, what="value"):
    if got != want:
        raise Failure("%s: expected %r, got %r" % (what, want, got))


def check_match(pattern, text, what="reply"):
    if re.search(pattern, text or "") is None:
        raise Failure("%s %r does not match /%s/" % (what, text, pattern))
    return re.search(pattern, text)


def check_between(value, low, high, what):
    if not low <= value <= high:
        raise Failure("%s = %.3f, expected between %.3f and %.3f"
                      % (what, value, low, high))


def sanitizer_problems(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def daemon_env():
    """The environment with sanitizer options appended to any given."""
    env = dict(os.environ)
    for name, extra in (("ASAN_OPTIONS", "detect_leaks=1"),
                        ("UBSAN_OPTIONS", "print_stacktrace=1")):
        old = env.get(name, "")
        env[name] = old + ":" + extra if old else extra
    return env


def kill_all_daemons():
    """Watchdog's last resort: SIGKILL every daemon still running."""
    with _all_procs_lock:
        procs = list(_all_procs)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def parse_stats(reply):
    """'OK a=1 b=2' -> {'a': 1, 'b': 2} (values as int when they are)."""
    check(reply is not None and reply.startswith("OK "),
          "STATS reply %r" % (reply,))
    stats = {}
    for pair in reply[3:].split():
        key, sep, value = pair.partition("=")
        check(sep == "=", "STATS item %r is not key=value" % pair)
        stats[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return stats


class Client:
    """One connection: send lines, read reply lines, see EOF."""

    def __init__(self, family, address, timeout=IO_TIMEOUT):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        try:
            self.sock.connect(address)
        except OSError:
            self.sock.close()
            raise

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_line(self, line):
        self.send(line + "\n")

    def send_lines(self, lines):
        """Pipeline: every line in one write."""
        self.send("".join(line + "\n" for line in lines))

    def read_line(self, timeout=None):
        """The next reply line without its LF, or None at EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("no reply line within %.1f s (partial: %r)"
                              % (timeout or self.timeout, self.buf))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                if self.buf:
                    raise Failure("connection closed inside a line: %r"
                                  % self.buf)
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    def read_lines(self, n, timeout=None):
        """Exactly n lines; EOF before them fails."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        for _ in range(n):
            line = self.read_line(max(0.001, deadline - time.monotonic()))
            if line is None:
                raise Failure("EOF after %d of %d reply lines: %r"
                              % (len(lines), n, lines))
            lines.append(line)
        return lines

    def reply(self, timeout=None):
        line = self.read_line(timeout)
        if line is None:
            raise Failure("EOF where a reply was expected")
        return line

    def request(self, line, timeout=None):
        self.send_line(line)
        return self.reply(timeout)

    def stats(self):
        return parse_stats(self.request("STATS"))

    def expect_eof(self, timeout=None):
        """The daemon closes the connection with no further reply."""
        line = self.read_line(timeout)
        check(line is None, "expected EOF, got reply %r" % (line,))

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def abort(self):
        """Disconnect with a reset (SO_LINGER 0): the client is gone."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            self.sock.close()


class Daemon:
    """A running picmdd; its stderr is collected line by line."""

    def __init__(self, ctx, config, args=()):
        self.ctx = ctx
        self.config = config
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.listen = {}        # "tcp4"/"tcp6" -> (host, port); "unix" -> path
        self.finished = False   # exit already checked
        cmd = WRAPPER + [ctx.picmdd, "-c", config] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     env=daemon_env(), cwd=ctx.tmp)
        with _all_procs_lock:
            _all_procs.append(self.proc)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def stderr(self):
        with self.cond:
            return "\n".join(self.lines)

    def mark(self):
        """Position in the log; wait_line(..., start=mark) sees later lines."""
        with self.cond:
            return len(self.lines)

    def wait_line(self, needle, start=0, timeout=IO_TIMEOUT):
        """Index of the first line from start containing needle."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if needle in self.lines[i]:
                        return i
                start = max(start, len(self.lines))
                if self.eof:
                    raise Failure("daemon stderr ended without %r" % needle)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("no %r in the daemon's stderr within "
                                  "%.1f s" % (needle, timeout))
                self.cond.wait(left)

    def wait_ready(self):
        try:
            ready = self.wait_line("info: ready:", timeout=READY_TIMEOUT)
        except Failure as e:
            raise Failure("daemon did not become ready: %s" % e)
        with self.cond:
            lines = self.lines[:ready]
        for line in lines:
            m = re.search(r"info: listening on (\S+)( \(pigpio\))?$", line)
            if m is None:
                continue
            where = m.group(1)
            if m.group(2):
                host, port = where.rsplit(":", 1)
                self.listen["pigpio"] = (host, int(port))
                continue
            if where.startswith("unix:"):
                self.listen["unix"] = where[5:]
            elif where.startswith("["):
                host, port = re.fullmatch(r"\[(.*)\]:(\d+)", where).groups()
                self.listen["tcp6"] = (host, int(port))
            else:
                host, port = where.rsplit(":", 1)
                self.listen["tcp4"] = (host, int(port))
        check(self.listen, "daemon is ready but logged no listener")

    def connect(self, kind=None, timeout=IO_TIMEOUT):
        """A new client on the listener of kind (default: the first of
        tcp4, tcp6, unix)."""
        if kind is None:
            kind = next(k for k in ("tcp4", "tcp6", "unix")
                        if k in self.listen)
        family = {"tcp4": socket.AF_INET, "tcp6": socket.AF_INET6,
                  "unix": socket.AF_UNIX}[kind]
        client = Client(family, self.listen[kind], timeout)
        self.ctx.clients.append(client)
        return client

    def port(self):
        return self.listen["tcp4"][1]

    def signal(self, sig):
        check(self.proc.poll() is None, "daemon exited early (status %s)"
              % self.proc.returncode)
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """The exit status; kills the daemon and fails after timeout."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)
            self.reader.join(EXIT_TIMEOUT)
            self.finished = True
            raise Failure("daemon did not exit within %.1f s; killed" %
                          timeout)
        self.reader.join(EXIT_TIMEOUT)
        return rc

    def check_exit(self, want=0, timeout=EXIT_TIMEOUT):
        """Wait for the daemon to exit; check its status and stderr."""
        rc = self.wait_exit(timeout)
        self.finished = True
        bad = sanitizer_problems(self.stderr())
        check(not bad, "sanitizer report (%s) in the daemon's stderr"
              % ", ".join(bad))
        check_eq(rc, want, "daemon exit status")

    def stop(self):
        """SIGTERM, then the exit checks."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.check_exit(0)


class Context:
    """What one test owns; cleanup() releases it all."""

    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.picmdd = os.path.join(self.build, "picmdd")
        self.commands = os.path.join(self.build, "commands")
        self.test_plugins = os.path.join(self.build, "tests", "plugins")
        self.tmp = tempfile.mkdtemp(prefix="picmd-it-")
        self.daemons = []
        self.clients = []

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ---- configuration ----

    def write_config(self, text, name="picmd.ini"):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def config_text(self, server=None, plugins=None, log=None, extra=""):
        """INI text: the test defaults, overridden per key (None drops a
        key), then extra sections appended as they are."""
        sections = [
            ("server", {"listen": "127.0.0.1:0", "workers": "4"}, server),
            # Only diag: other plugins of the build may need hardware.
            ("plugins", {"dir": self.commands, "load": "diag"}, plugins),
            ("log", {"level": "info"}, log),
        ]
        out = []
        for name, base, over in sections:
            keys = dict(base)
            keys.update(over or {})
            out.append("[%s]" % name)
            out.extend("%s = %s" % (k, v) for k, v in keys.items()
                       if v is not None)
            out.append("")
        return "\n".join(out) + extra

    def config(self, name="picmd.ini", **kw):
        return self.write_config(self.config_text(**kw), name)

    def plugin_dir(self, names, name="plugins"):
        """A directory holding exactly the plugins named (symlinks to the
        build's commands/ or tests/plugins/)."""
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        for n in names:
            for where in (self.commands, self.test_plugins):
                src = os.path.join(where, n + ".so")
                if os.path.exists(src):
                    os.symlink(src, os.path.join(d, n + ".so"))
                    break
            else:
                raise Failure("plugin %s.so is not built (run make "
                              "check-build)" % n)
        return d

    # ---- daemons ----

    def start(self, config=None, wait=True, **kw):
        """Start picmdd on config (default: written from kw) and wait for
        it to be ready."""
        if config is None:
            config = self.config(**kw)
        d = Daemon(self, config)
        self.daemons.append(d)
        if wait:
            d.wait_ready()
        return d

    def run_picmdd(self, *args, timeout=READY_TIMEOUT):
        """Run picmdd to completion: (status, stdout, stderr).  Its stderr
        must hold no sanitizer report whatever the status."""
        proc = subprocess.Popen(WRAPPER + [self.picmdd] + list(args),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=daemon_env(),
                                cwd=self.tmp)
        with _all_procs_lock:
            _all_procs.append(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise Failure("picmdd %s did not exit within %.1f s"
                          % (" ".join(args), timeout))
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
        bad = sanitizer_problems(err)
        check(not bad, "sanitizer report (%s) from picmdd %s:\n%s"
              % (", ".join(bad), " ".join(args), err))
        return proc.returncode, out, err

    # ---- teardown ----

    def cleanup(self):
        """Close clients, stop daemons; a list of problems found."""
        problems = []
        for c in self.clients:
            c.close()
        for d in self.daemons:
            if d.finished:
                continue
            try:
                d.stop()
            except Failure as e:
                problems.append("teardown of daemon %d: %s" % (d.pid, e))
            finally:
                if d.proc.poll() is None:
                    d.proc.kill()
                    d.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    def process_report(self):
        """The signal state of each daemon still running (what a failed
        test about signals needs to tell a lost signal from a blocked or
        ignored one), read before the cleanup stops them."""
        out = []
        for d in self.daemons:
            if d.proc.poll() is not None:
                continue
            try:
                with open("/proc/%d/status" % d.pid) as f:
                    sig = [line.strip() for line in f
                           if line.startswith(("State", "SigPnd", "ShdPnd",
                                               "SigBlk", "SigIgn",
                                               "SigCgt"))]
                # Threads with a signal pending, and each thread's mask
                # (the workers block everything; the loop thread nothing).
                blocked = []
                for tid in sorted(os.listdir("/proc/%d/task" % d.pid)):
                    with open("/proc/%d/task/%s/status" % (d.pid, tid)) as f:
                        fields = dict(line.rstrip("\n").split(":\t", 1)
                                      for line in f if ":\t" in line)
                    blocked.append("%s SigPnd=%s SigBlk=%s" % (
                        tid, fields.get("SigPnd"), fields.get("SigBlk")))
            except (OSError, ValueError) as e:
                out.append("daemon %d: /proc: %s" % (d.pid, e))
                continue
            out.append("daemon %d before cleanup: %s" % (d.pid, "; ".join(sig)))
            out.append("  threads: " + ", ".join(blocked))
        return out

    def stderr_report(self, lines=40):
        out = []
        for d in self.daemons:
            with d.cond:
                tail = d.lines[-lines:]
            out.append("daemon %d stderr (last %d lines):" % (d.pid,
                                                                len(tail)))
            out.extend("  | " + line for line in tail)
        return out


def line_number(text, needle):
    """1-based number of the first line of text containing needle."""
    for i, line in enumerate(text.split("\n"), 1):
        if needle in line:
            return i
    raise Failure("%r is not in the config text" % needle)


def elapsed_since(start):
    return time.monotonic() - start


def wait_until(predicate, timeout=IO_TIMEOUT, interval=0.02, what="condition"):
    """Poll predicate() until it returns a true value (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failure("%s not reached within %.1f s" % (what, timeout))
        time.sleep(interval)
