"""The daemon as a systemd service, without systemd: what it tells the
service manager over NOTIFY_SOCKET (READY, RELOADING, STOPPING, WATCHDOG),
socket activation (LISTEN_FDS/LISTEN_PID), and syslog priority prefixes
when stderr is the journal (JOURNAL_STREAM).  docs/SERVICE.md describes
the unit that relies on these.

The test plays the manager: it owns the datagram socket NOTIFY_SOCKET
names (and reads each sender's pid from SCM_CREDENTIALS, which is what
NotifyAccess=main checks), and it starts the daemon through a small
launcher that puts the listening sockets on fds 3, 4, ... and sets
LISTEN_PID (or WATCHDOG_PID) to its own pid before it execs the daemon,
so the pid is the daemon's, as systemd does it.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import harness
from harness import Failure, check, check_eq, check_match, wait_until

# argv: FDS NAMES COMMAND...  FDS: comma-separated fds to move to 3, 4, ...
# in that order; NAMES: environment variables to set to this process's pid,
# which the daemon keeps since exec does not change it.
LAUNCHER = r"""
import fcntl, os, sys
fds = [int(x) for x in sys.argv[1].split(",") if x]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)          # inheritable: the daemon gets it
    os.close(fd)
for name in filter(None, sys.argv[2].split(",")):
    os.environ[name] = str(os.getpid())
os.execvp(sys.argv[3], sys.argv[3:])
"""

SERVICE_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM")

PRIORITY = {"error": "<3>", "warn": "<4>", "info": "<6>", "debug": "<7>"}


class Notify:
    """The service manager's end of NOTIFY_SOCKET: every datagram, parsed,
    with the sender's pid."""

    def __init__(self, ctx, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX,
                                  socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        if abstract:
            name = "picmd-test-%d-%s" % (os.getpid(), os.path.basename(ctx.tmp))
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = ctx.path("notify.sock")
            self.sock.bind(self.address)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.05)
        self.messages = []          # (monotonic time, sender pid, {k: v})
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        ctx.clients.append(self)    # closed in the context's cleanup

    def _read(self):
        ucred = struct.calcsize("3i")
        while not self.closed:
            try:
                data, anc, _, _ = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(ucred))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, cdata in anc:
                if (level == socket.SOL_SOCKET and
                        kind == socket.SCM_CREDENTIALS):
                    pid = struct.unpack("3i", cdata[:ucred])[0]
            fields = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    key, _, value = line.partition("=")
                    fields[key] = value
            with self.cond:
                self.messages.append((time.monotonic(), pid, fields))
                self.cond.notify_all()

    def wait(self, key, start=0, timeout=harness.IO_TIMEOUT):
        """Index of the first message from start that sets key."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.messages)):
                    if key in self.messages[i][2]:
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("no %s notification within %.1f s (got %r)"
                                  % (key, timeout, self.keys()))
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.messages)

    def get(self, i):
        with self.cond:
            return self.messages[i]

    def keys(self, start=0):
        """The messages from start as lists of their keys."""
        with self.cond:
            return [sorted(m[2]) for m in self.messages[start:]]

    def with_key(self, key, start=0):
        with self.cond:
            return [m for m in self.messages[start:] if key in m[2]]

    def close(self):
        self.closed = True
        self.thread.join(harness.IO_TIMEOUT)
        self.sock.close()


class ServiceDaemon(harness.Daemon):
    """A harness daemon started the way a service manager starts it: env
    holds the service variables, fds go to 3, 4, ..., the variables in
    set_pid get the daemon's pid.  stderr is a pipe whose "dev:ino" is
    self.stream (what JOURNAL_STREAM names when stderr is the journal)."""

    def __init__(self, ctx, config, env=None, fds=(), set_pid=()):
        self.ctx = ctx
        self.config = config
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.listen = {}
        self.finished = False
        rfd, wfd = os.pipe()
        st = os.fstat(wfd)
        self.stream = "%d:%d" % (st.st_dev, st.st_ino)
        full_env = harness.daemon_env()
        for name in SERVICE_VARS:
            full_env.pop(name, None)
        for name, value in (env or {}).items():
            full_env[name] = value.replace("{stream}", self.stream)
        cmd = ([sys.executable, "-c", LAUNCHER,
                ",".join(str(fd) for fd in fds), ",".join(set_pid)] +
               harness.WRAPPER + [ctx.picmdd, "-c", config])
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=wfd, env=full_env,
                                         cwd=ctx.tmp, pass_fds=tuple(fds))
        finally:
            os.close(wfd)
        self.err = os.fdopen(rfd, "rb")
        with harness._all_procs_lock:
            harness._all_procs.append(self.proc)
        self.pid = self.proc.pid
        ctx.daemons.append(self)
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self):
        for raw in iter(self.err.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        self.err.close()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_started(self):
        """Wait for the ready line (activated listeners are logged with a
        suffix the harness's wait_ready does not parse)."""
        return self.wait_line("info: ready:", timeout=harness.READY_TIMEOUT)


def listening_tcp(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(16)
    return s


def listening_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    return s


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(t, family, address):
    c = harness.Client(family, address)
    t.clients.append(c)
    return c


def unix_config(t, **kw):
    """Config text listening on loopback TCP and a Unix socket in the
    test's directory; (path of the config, path of the Unix socket)."""
    sock = t.path("picmd.sock")
    server = {"listen": "127.0.0.1:0, unix:" + sock}
    server.update(kw.pop("server", {}))
    return t.config(server=server, **kw), sock


# ---- NOTIFY_SOCKET: READY -------------------------------------------------

def test_ready_once_listeners_accept_and_plugins_are_loaded(t):
    n = Notify(t)
    config, sock = unix_config(t)
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    i = n.wait("READY", timeout=harness.READY_TIMEOUT)
    # The moment READY=1 arrives, the socket accepts and the plugin's
    # commands answer: nothing is left to start.
    c = client(t, socket.AF_UNIX, sock)
    check_eq(c.request("PING"), "OK PONG", "PING right after READY=1")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "plugin command")
    _, pid, fields = n.get(i)
    check_eq(fields.get("READY"), "1", "READY value")
    check_match(r"^2 listeners, 1 plugins, \d+ commands, \d+ workers$",
                fields.get("STATUS"), "STATUS")
    check_eq(pid, d.pid, "sender pid (NotifyAccess=main)")
    check_eq(n.keys()[:i], [], "messages before READY=1")
    d.wait_started()
    d.stop()


def test_ready_to_an_abstract_socket(t):
    n = Notify(t, abstract=True)
    config, _ = unix_config(t)
    ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    n.wait("READY", timeout=harness.READY_TIMEOUT)


def test_no_ready_when_a_plugin_fails(t):
    n = Notify(t)
    plugins = t.plugin_dir(["diag", "init_fail"])
    config, _ = unix_config(t, plugins={"dir": plugins,
                                        "load": "diag init_fail"})
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    d.check_exit(1)
    time.sleep(0.2)     # a datagram sent just before exit has arrived
    check_eq(n.keys(), [], "notifications from a daemon that did not start")


def test_no_ready_when_a_listener_cannot_be_bound(t):
    n = Notify(t)
    path = t.path("not-a-socket")
    with open(path, "w") as f:
        f.write("a file, not a socket\n")
    config = t.config(server={"listen": "127.0.0.1:0, unix:" + path})
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    d.check_exit(1)
    d.wait_line("exists and is not a socket")
    time.sleep(0.2)
    check_eq(n.with_key("READY"), [], "READY=1 without every listener")


# ---- NOTIFY_SOCKET: RELOADING, STOPPING -----------------------------------

def test_reload_is_reloading_then_ready(t):
    n = Notify(t)
    config, sock = unix_config(t)
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    n.wait("READY", timeout=harness.READY_TIMEOUT)

    mark = n.mark()
    before = time.monotonic()
    d.signal(signal.SIGHUP)
    i = n.wait("RELOADING", start=mark)
    j = n.wait("READY", start=i + 1)
    check_eq(n.keys(mark), [["MONOTONIC_USEC", "RELOADING"],
                            ["READY", "STATUS"]], "messages of one reload")
    _, pid, fields = n.get(i)
    check_eq(fields["RELOADING"], "1", "RELOADING value")
    check_eq(pid, d.pid, "sender pid")
    # CLOCK_MONOTONIC, the clock Type=notify-reload compares it with.
    usec = int(fields["MONOTONIC_USEC"])
    check(abs(usec / 1e6 - before) < 30, "MONOTONIC_USEC %d is not "
          "CLOCK_MONOTONIC (now %.0f s)" % (usec, before))
    check_eq(n.get(j)[2], {"READY": "1", "STATUS": "reloaded"},
             "after the reload")
    c = client(t, socket.AF_UNIX, sock)
    check_eq(c.request("PING"), "OK PONG", "after the reload")


def test_failed_reload_is_ready_again(t):
    n = Notify(t)
    config, sock = unix_config(t)
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    n.wait("READY", timeout=harness.READY_TIMEOUT)
    c = client(t, socket.AF_UNIX, sock)

    t.write_config(t.config_text(server={"listen": "127.0.0.1:0",
                                         "workers": "many"}))
    mark = n.mark()
    d.signal(signal.SIGHUP)
    j = n.wait("READY", start=n.wait("RELOADING", start=mark) + 1)
    check_eq(n.keys(mark), [["MONOTONIC_USEC", "RELOADING"],
                            ["READY", "STATUS"]], "messages of a failed reload")
    check_match(r"^reload failed", n.get(j)[2]["STATUS"], "STATUS")
    check_eq(c.request("PING"), "OK PONG", "still serving")


def test_stopping_on_sigterm(t):
    n = Notify(t)
    config, _ = unix_config(t)
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    n.wait("READY", timeout=harness.READY_TIMEOUT)
    mark = n.mark()
    d.signal(signal.SIGTERM)
    i = n.wait("STOPPING", start=mark)
    check_eq(n.get(i)[2], {"STOPPING": "1"}, "STOPPING message")
    d.check_exit(0)
    time.sleep(0.1)
    check_eq(n.keys(mark), [["STOPPING"]], "messages from SIGTERM on")


# ---- NOTIFY_SOCKET: WATCHDOG ----------------------------------------------

def watchdog_pings(n, start=0):
    return [m[0] for m in n.with_key("WATCHDOG", start)]


def test_watchdog_pings_at_half_the_interval(t):
    n = Notify(t)
    config, _ = unix_config(t)
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address,
                                      "WATCHDOG_USEC": "400000"})
    n.wait("READY", timeout=harness.READY_TIMEOUT)
    wait_until(lambda: len(watchdog_pings(n)) >= 6, timeout=10 * harness.SLOW,
               what="6 WATCHDOG=1 pings")
    times = watchdog_pings(n)
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    median = gaps[len(gaps) // 2]
    if harness.SLOW == 1.0:
        check(0.1 <= median <= 0.35, "median gap between pings %.3f s, "
              "expected about 0.2 s (WATCHDOG_USEC / 2)" % median)
    for _, pid, fields in n.with_key("WATCHDOG"):
        check_eq(fields, {"WATCHDOG": "1"}, "ping")
        check_eq(pid, d.pid, "ping sender pid")


def test_no_watchdog_pings_without_watchdog_usec(t):
    n = Notify(t)
    config, _ = unix_config(t)
    ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address})
    n.wait("READY", timeout=harness.READY_TIMEOUT)
    time.sleep(1.0)
    check_eq(watchdog_pings(n), [], "pings without WATCHDOG_USEC")


def test_watchdog_pid_must_be_the_daemons(t):
    n = Notify(t)
    config, _ = unix_config(t)
    # Meant for another process (pid 1): no pings.
    ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address,
                                  "WATCHDOG_USEC": "200000",
                                  "WATCHDOG_PID": "1"})
    n.wait("READY", timeout=harness.READY_TIMEOUT)
    time.sleep(0.8)
    check_eq(watchdog_pings(n), [], "pings with WATCHDOG_PID=1")

    # Its own pid: pings.
    n2 = Notify(t, abstract=True)
    config2, _ = unix_config(t, server={"listen": "127.0.0.1:0"})
    d2 = ServiceDaemon(t, config2, env={"NOTIFY_SOCKET": n2.address,
                                        "WATCHDOG_USEC": "200000"},
                       set_pid=("WATCHDOG_PID",))
    wait_until(lambda: len(watchdog_pings(n2)) >= 2,
               timeout=10 * harness.SLOW, what="pings with WATCHDOG_PID set")
    check_eq(n2.with_key("WATCHDOG")[0][1], d2.pid, "ping sender pid")


# ---- socket activation ------------------------------------------------------

ENV_SCRIPT = """#!/bin/sh
# What an exec child inherits of the socket activation.
s=""
for fd in 3 4; do
	case $(readlink /proc/$$/fd/$fd 2>/dev/null) in
	socket:*) s="$s$fd," ;;
	esac
done
echo "fds=${LISTEN_FDS-unset} pid=${LISTEN_PID-unset} sockets=${s:-none}"
"""


def test_socket_activation_serves_the_passed_sockets(t):
    tcp = listening_tcp()
    unix_path = t.path("activated.sock")
    unix = listening_unix(unix_path)
    script = t.path("env.sh")
    with open(script, "w") as f:
        f.write(ENV_SCRIPT)
    os.chmod(script, 0o755)
    configured = t.path("configured.sock")
    port = free_port()
    config = t.config(
        server={"listen": "127.0.0.1:%d, unix:%s" % (port, configured)},
        plugins={"load": "diag exec"},
        extra="[exec]\nenv = %s\n" % script)
    n = Notify(t)
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address,
                                      "LISTEN_FDS": "2"},
                      fds=(tcp.fileno(), unix.fileno()),
                      set_pid=("LISTEN_PID",))
    tcp_port = tcp.getsockname()[1]
    n.wait("READY", timeout=harness.READY_TIMEOUT)
    d.wait_started()
    # The manager keeps its copies, as systemd does.
    d.wait_line("socket activation: serving 2 passed sockets instead of "
                "[server] listen")
    d.wait_line("info: listening on 127.0.0.1:%d (socket activation)"
                % tcp_port)
    d.wait_line("info: listening on unix:%s (socket activation)" % unix_path)
    check_match(r"^2 listeners, 2 plugins", n.get(n.wait("READY"))[2]
                ["STATUS"], "STATUS")

    c = client(t, socket.AF_INET, ("127.0.0.1", tcp_port))
    check_eq(c.request("PING"), "OK PONG", "over the passed TCP socket")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "plugin over TCP")
    u = client(t, socket.AF_UNIX, unix_path)
    check_eq(u.request("ECHO unix"), "OK unix", "over the passed Unix socket")
    # The passed Unix socket is trusted like any Unix socket: it may run
    # the (admin) exec command, whose child inherits neither the
    # variables nor the sockets.
    check_eq(u.request("env"), "OK fds=unset pid=unset sockets=none",
             "what an exec child inherits")

    # [server] listen was not bound.
    check(not os.path.exists(configured), "%s was bound" % configured)
    try:
        probe = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        pass
    else:
        probe.close()
        raise Failure("configured port %d accepts a connection" % port)

    d.stop()
    # The socket file belongs to the manager: the daemon leaves it.
    check(os.path.exists(unix_path), "the daemon removed %s" % unix_path)
    tcp.close()
    unix.close()


def test_socket_activation_for_another_pid_is_ignored(t):
    tcp = listening_tcp()
    config, sock = unix_config(t)
    d = ServiceDaemon(t, config, env={"LISTEN_FDS": "1",
                                      "LISTEN_PID": str(os.getpid())},
                      fds=(tcp.fileno(),))
    d.wait_ready()      # bound [server] listen: TCP port 0 and the socket
    check(not any("socket activation" in line
                  for line in d.stderr().split("\n")),
          "sockets meant for another process were used")
    check_eq(client(t, socket.AF_UNIX, sock).request("PING"), "OK PONG",
             "configured Unix socket")
    check(d.port() != tcp.getsockname()[1], "served the passed socket")
    tcp.close()


def test_protected_mode_refuses_an_activated_lan_socket(t):
    tcp = listening_tcp("0.0.0.0")
    port = tcp.getsockname()[1]
    n = Notify(t)
    config = t.config(server={"listen": "127.0.0.1:0"})
    d = ServiceDaemon(t, config, env={"NOTIFY_SOCKET": n.address,
                                      "LISTEN_FDS": "1"},
                      fds=(tcp.fileno(),), set_pid=("LISTEN_PID",))
    d.check_exit(1)
    d.wait_line("protected mode: activated socket 0.0.0.0:%d is not a "
                "loopback address and [security] has no token" % port)
    check_eq(n.with_key("READY"), [], "READY=1 from a refused start")
    tcp.close()


def test_activated_lan_socket_with_a_token(t):
    token = "activation-token-42"
    tcp = listening_tcp("0.0.0.0")
    port = tcp.getsockname()[1]
    config = t.config(server={"listen": "127.0.0.1:0"},
                      extra="[security]\ntoken = %s\n" % token)
    d = ServiceDaemon(t, config, env={"LISTEN_FDS": "1"},
                      fds=(tcp.fileno(),), set_pid=("LISTEN_PID",))
    d.wait_started()
    d.wait_line("listening on 0.0.0.0:%d (socket activation)" % port)
    c = client(t, socket.AF_INET, ("127.0.0.1", port))
    check_match(r"^ERR DENIED", c.request("ECHO x"), "before AUTH")
    check_eq(c.request("AUTH " + token), "OK", "AUTH")
    check_eq(c.request("ECHO x"), "OK x", "after AUTH")
    tcp.close()


# ---- JOURNAL_STREAM ---------------------------------------------------------

def journal_run(t, env):
    """A daemon at log level debug that logs at every level: info (start),
    debug (a connection), error and warn (a failed reload)."""
    config, sock = unix_config(t, log={"level": "debug"})
    d = ServiceDaemon(t, config, env=env)
    d.wait_started()
    check_eq(client(t, socket.AF_UNIX, sock).request("PING"), "OK PONG",
             "PING")
    t.write_config(t.config_text(server={"listen": "127.0.0.1:0",
                                         "workers": "many"},
                                 log={"level": "debug"}))
    mark = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_line("reload failed; keeping the running configuration",
                start=mark)
    d.stop()
    return d.stderr().split("\n")


def test_journal_stream_gives_priority_prefixes(t):
    lines = journal_run(t, {"JOURNAL_STREAM": "{stream}"})
    seen = set()
    for line in lines:
        m = check_match(r"^<([3467])>(error|warn|info|debug): ", line,
                        "journal line")
        check_eq("<%s>" % m.group(1), PRIORITY[m.group(2)],
                 "prefix of a %s line" % m.group(2))
        seen.add(m.group(2))
    check_eq(sorted(seen), ["debug", "error", "info", "warn"],
             "levels logged")


def test_other_journal_stream_gives_plain_lines(t):
    for value in ("{stream}0", "1:2", "not-a-stream"):
        lines = journal_run(t, {"JOURNAL_STREAM": value})
        for line in lines:
            check_match(r"^picmdd: (error|warn|info|debug): ", line,
                        "line with JOURNAL_STREAM=%s" % value)
