"""The real picmdd for the Python package's tests, through the
integration tests' harness (tests/integration/harness.py), which starts
it, collects its stderr and checks its exit.

Daemon(config) writes a configuration (the test defaults: 127.0.0.1 on
an ephemeral or chosen port, a Unix socket, the build's plugins diag and
gpio, the simulated chip; the given INI text overrides them key by key),
starts $PICMD_BUILD/picmdd (default build/) on it and waits until it is
ready.  stop() (SIGTERM, then the exit and sanitizer checks) and kill()
(SIGKILL) end it by pid; every daemon still running at exit is killed.
All waits are bounded.
"""

import atexit
import os
import random
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "python"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import harness  # noqa: E402

BUILD = os.path.join(TOP, os.environ.get("PICMD_BUILD", "build"))
SLOW = harness.SLOW
WAIT = harness.IO_TIMEOUT           # one reply, one event, one log line

atexit.register(harness.kill_all_daemons)

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


def config_text(ctx, overrides="", port=0, unix=None):
    """The test configuration: defaults, then overrides per key."""
    listen = "127.0.0.1:%d" % port + (", unix:" + unix if unix else "")
    sections = {"gpio": {"backend": "sim"}}
    for name, keys in parse_ini(overrides).items():
        sections.setdefault(name, {}).update(keys)
    server = dict({"listen": listen}, **sections.pop("server", {}))
    plugins = dict({"load": "diag gpio"}, **sections.pop("plugins", {}))
    log = sections.pop("log", None)
    extra = "".join("[%s]\n%s" % (name, "".join(
        "%s = %s\n" % kv for kv in keys.items()))
        for name, keys in sections.items())
    return ctx.config_text(server=server, plugins=plugins, log=log,
                           extra=extra)


class Daemon:
    """A running picmdd: .port, .unix (socket path), .lines (stderr of
    every start, in order), .stderr()."""

    def __init__(self, config="", port=0, unix=True):
        self.ctx = harness.Context(BUILD)
        if not os.access(self.ctx.picmdd, os.X_OK):
            self.ctx.cleanup()
            raise AssertionError("%s is not built: run make check-build "
                                 "(or set PICMD_BUILD)" % self.ctx.picmdd)
        self.unix = self.ctx.path("picmd.sock") if unix else None
        self.config = self.ctx.write_config(
            config_text(self.ctx, config, port, self.unix))
        self._clients = []
        self._runs = []
        self.start()

    def start(self):
        """Start (again) on the same configuration file and wait until it
        is ready."""
        self.d = self.ctx.start(self.config)
        self._runs.append(self.d)
        self.port = self.d.port()
        self.pid = self.d.pid

    @property
    def lines(self):
        return [line for run in self._runs for line in run.lines]

    def stderr(self):
        return "\n".join(self.lines)

    def wait_log(self, needle, start=0, timeout=WAIT):
        """Index (in .lines) of the first line of the daemon's stderr
        from start that holds needle."""
        before = len(self.lines) - len(self.d.lines)
        return before + self.d.wait_line(needle, max(0, start - before),
                                         timeout)

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
        self.d.proc.kill()
        self.d.wait_exit()
        self.d.finished = True

    def stop(self):
        """Close the clients opened here, SIGTERM, and check that the
        daemon exits 0 with no sanitizer report (the harness kills it
        when it does not exit in time); remove its directory."""
        for c in self._clients:
            c.close()
        problems = self.ctx.cleanup()
        if problems:
            raise AssertionError("\n".join(problems + [self.stderr()]))


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


wait_until = harness.wait_until
