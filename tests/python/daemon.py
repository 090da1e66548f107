"""The real picmdd for the Python package's tests.

Daemon(config) writes a configuration (the test defaults: 127.0.0.1 on
an ephemeral or chosen port, a Unix socket, the build's plugins; the
given INI text overrides them key by key), starts $PICMD_BUILD/picmdd
(default build/) on it, waits for "info: ready:" on its stderr and takes
the port from "info: listening on 127.0.0.1:PORT".  stop() (SIGTERM,
then the exit checks) and kill() (SIGKILL) end it by pid; every daemon
still running at exit is killed.  All waits are bounded.
"""

import atexit
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "python"))

BUILD = os.path.join(TOP, os.environ.get("PICMD_BUILD", "build"))
WRAPPER = shlex.split(os.environ.get("PICMD_TEST_EMULATOR", "")) + \
    shlex.split(os.environ.get("PICMD_TEST_WRAPPER", ""))
SLOW = 5.0 if WRAPPER else 1.0
WAIT = 10.0 * SLOW          # one reply, one event, one log line
READY = 20.0 * SLOW         # start-up
EXIT = 15.0 * SLOW          # shutdown after SIGTERM

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "ThreadSanitizer")

_running = []

TOKEN = "py-token-0123"
# What the random strings are made of: what needs quoting or escaping,
# and multi-byte UTF-8.
ALPHABET = ['a', 'Z', '0', '=', '#', '!', ' ', ' ', '"', '\\', '\t', '\n',
            'ü', '€', '漢', '\U0001F600', "'", ';']


def echoed(*words):
    """What ECHO answers: the words joined by single spaces, with control
    bytes (tab, newline) sent as spaces."""
    return " ".join(words).replace("\t", " ").replace("\n", " ")


def random_strings(n, seed):
    rnd = random.Random(seed)
    return ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 24)))
            for _ in range(n)]


@atexit.register
def _kill_leftovers():
    for proc in _running:
        if proc.poll() is None:
            proc.kill()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_ini(text):
    """{section: {key: value}} of INI text, in order (comments dropped)."""
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            current = sections.setdefault(m.group(1).strip(), {})
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            raise ValueError("not an INI line: %r" % raw)
        current[key.strip()] = value.strip()
    return sections


def config_text(overrides="", port=0, unix=None):
    """The test configuration: defaults, then overrides per key."""
    listen = "127.0.0.1:%d" % port
    if unix:
        listen += ", unix:" + unix
    sections = {
        "server": {"listen": listen, "workers": "4"},
        "plugins": {"dir": os.path.join(BUILD, "commands"),
                    "load": "diag gpio"},
        "log": {"level": "info"},
        "gpio": {"backend": "sim"},
    }
    for name, keys in parse_ini(overrides).items():
        sections.setdefault(name, {}).update(keys)
    return "".join("[%s]\n%s\n" % (name, "".join(
        "%s = %s\n" % kv for kv in keys.items()))
        for name, keys in sections.items())


class Daemon:
    """A running picmdd; .port, .unix (socket path), .stderr()."""

    def __init__(self, config="", port=0, unix=True):
        picmdd = os.path.join(BUILD, "picmdd")
        if not os.access(picmdd, os.X_OK):
            raise AssertionError("%s is not built: run make check-build "
                                 "(or set PICMD_BUILD)" % picmdd)
        self.picmdd = picmdd
        self.tmp = tempfile.mkdtemp(prefix="picmd-py-")
        self.unix = os.path.join(self.tmp, "picmd.sock") if unix else None
        self.config = os.path.join(self.tmp, "picmd.ini")
        with open(self.config, "w") as f:
            f.write(config_text(config, port, self.unix))
        self._clients = []
        self.proc = None
        self.lines = []             # stderr of every start, in order
        self.cond = threading.Condition()
        self._reader = None
        self.start()

    def start(self):
        """Start (again) on the same configuration file and wait until it
        is ready."""
        if self._reader is not None:        # the last run's stderr is done
            self._reader.join(EXIT)
        mark, self.eof = len(self.lines), False
        self.proc = subprocess.Popen(
            WRAPPER + [self.picmdd, "-c", self.config],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=self.tmp)
        _running.append(self.proc)
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read_stderr,
                                        args=(self.proc,), daemon=True)
        self._reader.start()
        ready = self.wait_log("info: ready:", start=mark, timeout=READY)
        ports = [int(m.group(1)) for m in (
            re.search(r"info: listening on 127\.0\.0\.1:(\d+)$", line)
            for line in self.lines[mark:ready]) if m]
        if not ports:
            raise AssertionError("picmdd logged no TCP listener:\n" +
                                 self.stderr())
        self.port = ports[0]

    def _read_stderr(self, proc):
        for raw in iter(proc.stderr.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
                self.cond.notify_all()
        proc.stderr.close()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def stderr(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_log(self, needle, start=0, timeout=WAIT):
        """Index of the first stderr line from start holding needle."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if needle in self.lines[i]:
                        return i
                start = max(start, len(self.lines))
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    raise AssertionError("no %r in picmdd's stderr:\n%s"
                                         % (needle, "\n".join(self.lines)))
                self.cond.wait(left)

    def client(self, **kw):
        """A picmd.Client on this daemon's TCP port (closed at stop)."""
        import picmd
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("port", self.port)
        kw.setdefault("timeout", WAIT)
        c = picmd.Client(**kw)
        self._clients.append(c)
        return c

    def text_client(self):
        """A raw line connection, for checking the daemon directly."""
        c = TextClient(self.port)
        self._clients.append(c)
        return c

    def kill(self):
        """SIGKILL: the daemon vanishes without a drain."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(EXIT)
        self._reader.join(EXIT)

    def stop(self):
        """Close the clients opened here, SIGTERM, and check the daemon
        exits 0 with no sanitizer report; kill it after EXIT seconds.
        Removes the temporary directory."""
        for c in self._clients:
            c.close()
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(EXIT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(EXIT)
                    raise AssertionError("picmdd did not exit after SIGTERM")
                if rc != 0:
                    raise AssertionError("picmdd exited %d:\n%s"
                                         % (rc, self.stderr()))
            bad = [m for m in SANITIZER_MARKERS if m in self.stderr()]
            if bad:
                raise AssertionError("sanitizer report in picmdd's "
                                     "stderr:\n" + self.stderr())
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


class TextClient:
    """One plain socket speaking lines: ask("gpio read 17") -> "OK 0"."""

    def __init__(self, port, timeout=WAIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.file = self.sock.makefile("rb")
        self.closed = False

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        reply = self.file.readline()
        if not reply:
            raise AssertionError("picmdd closed the connection after %r"
                                 % line)
        return reply.decode("utf-8", "replace").rstrip("\n")

    def close(self):
        if not self.closed:
            self.closed = True
            self.file.close()
            self.sock.close()


def wait_until(predicate, timeout=WAIT, what="condition"):
    """Poll predicate() until it is true (bounded); returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("%s not reached within %.1f s"
                                 % (what, timeout))
        time.sleep(0.02)
