"""The picmd client binary against the real daemon: exit codes, quoting,
options and environment, IPv4/IPv6/Unix sockets, stdin batch mode, and
timeouts against a server that never answers.

The helpers here (run_picmd, PicmdProcess, Listener, free_port) are also
used by test_callback.py.
"""

import os
import re
import socket
import subprocess
import time

from harness import (EMULATOR, IO_TIMEOUT, Failure, check, check_between,
                     check_eq, check_match, daemon_env,
                     sanitizer_problems)

CLIENT_TIMEOUT = 3 * IO_TIMEOUT     # one picmd run, start to exit


# ---------------------------------------------------------------------------
# helpers


def picmd_path(t):
    path = os.path.join(t.build, "picmd")
    check(os.access(path, os.X_OK), "%s is missing: run make check-build"
          % path)
    return path


def client_env(env=None):
    """The daemon's environment (sanitizer options) without PICMD_HOST and
    PICMD_PORT, then env applied (a None value removes the variable)."""
    e = daemon_env()
    e.pop("PICMD_HOST", None)
    e.pop("PICMD_PORT", None)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


class PicmdProcess:
    """A running picmd; killed by pid in cleanup if still running."""

    def __init__(self, t, args, env=None, stdin=True):
        self.args = list(args)
        e = client_env(env)
        e["HOME"] = t.tmp           # the interactive history file, if any
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            EMULATOR + [picmd_path(t)] + self.args,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
            cwd=t.tmp)
        self.pid = self.proc.pid
        self.elapsed = None
        t.clients.append(self)      # cleanup() calls close()

    def finish(self, data=None, timeout=CLIENT_TIMEOUT):
        """Feed stdin, wait for the exit: (status, stdout, stderr).  The
        client's stderr must hold no sanitizer report."""
        if isinstance(data, str):
            data = data.encode()
        try:
            out, err = self.proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise Failure("picmd %s did not exit within %.1f s; killed"
                          % (" ".join(self.args), timeout))
        self.elapsed = time.monotonic() - self.started
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
        bad = sanitizer_problems(err)
        check(not bad, "sanitizer report (%s) from picmd %s:\n%s"
              % (", ".join(bad), " ".join(self.args), err))
        return self.proc.returncode, out, err

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None and not f.closed:
                f.close()


def wait_exit(p, timeout):
    """True once the PicmdProcess p has exited, False after timeout."""
    try:
        p.proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def run_picmd(t, *args, stdin=None, env=None, timeout=CLIENT_TIMEOUT):
    """Run picmd to completion: (status, stdout, stderr)."""
    return PicmdProcess(t, args, env=env).finish(stdin or b"", timeout)


def tcp_args(d, kind="tcp4"):
    host, port = d.listen[kind]
    return ["-H", host, "-p", str(port)]


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port nothing listens on: bound, then closed again."""
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Listener:
    """A listening socket of the test's own: the server that never
    answers, or a callback port.  Closed (with every connection it
    accepted) in cleanup."""

    def __init__(self, t, family=socket.AF_INET, host="127.0.0.1", port=0):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.conns = []
        self.closed = False
        t.clients.append(self)
        self.sock.bind((host, port))
        self.sock.listen(64)        # ready for connections from here on
        self.port = self.sock.getsockname()[1]

    def accept(self, timeout=IO_TIMEOUT):
        self.sock.settimeout(timeout)
        try:
            conn, _ = self.sock.accept()
        except socket.timeout:
            raise Failure("no connection within %.1f s" % timeout)
        conn.settimeout(timeout)
        self.conns.append(conn)
        return conn

    def close(self):
        if not self.closed:
            self.closed = True
            for c in self.conns:
                c.close()
            self.sock.close()


def recv_line(conn, timeout=IO_TIMEOUT):
    """One LF-terminated line read byte by byte (nothing read beyond it),
    or None at EOF."""
    deadline = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("no line within %.1f s (partial: %r)"
                          % (timeout, buf))
        conn.settimeout(left)
        try:
            b = conn.recv(1)
        except socket.timeout:
            continue
        if not b:
            return None if not buf else buf.decode("utf-8", "replace")
        buf += b
    return buf[:-1].decode("utf-8", "replace")


def makefile_version():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "Makefile")) as f:
        return re.search(r"^VERSION\s*:?=\s*(\S+)", f.read(), re.M).group(1)


def start_with_tplug(t, **kw):
    """A daemon with the diag and tplug plugins ("tplug w..." answers
    "OK N:w1|w2|...": the words exactly as the daemon parsed them)."""
    plugins = t.plugin_dir(["diag", "tplug"])
    return t.start(plugins={"dir": plugins, "load": None}, **kw)


def one_line(err, what):
    check(err.endswith("\n") and err.count("\n") == 1,
          "%s: expected a one-line message on stderr, got %r" % (what, err))
    return err[:-1]


# ---------------------------------------------------------------------------
# exit codes


def test_ok_prints_payload_and_exits_0(t):
    d = t.start()
    a = tcp_args(d)
    for args, want in [(["ping"], "PONG\n"),
                       (["PING"], "PONG\n"),
                       (["echo", "hello", "world"], "hello world\n"),
                       (["diag", "sleep", "20"], "slept 20\n"),
                       (["version"], None)]:
        rc, out, err = run_picmd(t, *(a + args))
        check_eq(rc, 0, "exit status of picmd %s" % " ".join(args))
        check_eq(err, "", "stderr of picmd %s" % " ".join(args))
        if want is None:
            check_eq(out, "picmd %s protocol 1\n" % makefile_version(),
                     "VERSION payload")
        else:
            check_eq(out, want, "stdout of picmd %s" % " ".join(args))
    # A bare OK prints nothing at all.
    rc, out, err = run_picmd(t, *(a + ["echo"]))
    check_eq((rc, out, err), (0, "", ""), "picmd echo (a bare OK)")
    rc, out, err = run_picmd(t, *(a + ["callback", "off"]))
    check_eq((rc, out, err), (0, "", ""), "picmd callback off (a bare OK)")


def test_err_prints_code_and_message_and_exits_1(t):
    d = t.start()
    a = tcp_args(d)
    for args, want in [
        (["diag", "error", "DEVICE", "it broke"], "DEVICE it broke"),
        (["diag", "error", "busy"], "BUSY diag error"),
        (["ping", "extra"], "ARGS usage: PING"),
        (["nosuchcommand"], None),
    ]:
        rc, out, err = run_picmd(t, *(a + args))
        check_eq(rc, 1, "exit status of picmd %s" % " ".join(args))
        check_eq(out, "", "stdout of picmd %s" % " ".join(args))
        msg = one_line(err, "picmd %s" % " ".join(args))
        if want is None:
            check_match(r"^UNKNOWN unknown command 'nosuchcommand'", msg,
                        "stderr")
        else:
            check_eq(msg, want, "stderr of picmd %s" % " ".join(args))


def test_usage_errors_exit_2_without_connecting(t):
    d = t.start()
    c = d.connect()
    before = c.stats()["connections_total"]
    port = str(d.port())
    for args in [
        ["--bogus", "ping"],
        ["-x", "ping"],
        ["-p", port, "--timeout", "abc", "ping"],
        ["-p", port, "--timeout", "0", "ping"],
        ["-p", port, "--timeout", "-5", "ping"],
        ["-p", port, "--timeout", "10ms", "ping"],
        ["-p", port, "--timeout"],
        ["-p", "notaport", "ping"],
        ["-p", "0", "ping"],
        ["-p", "65536", "ping"],
        ["-p", port, "--callback", "x", "ping"],
        ["-p", port, "--callback", "70000", "ping"],
        ["-p", port, "--callback", "-1", "ping"],
        ["-H"],
    ]:
        rc, out, err = run_picmd(t, *args)
        what = "picmd %s" % " ".join(args)
        check_eq(rc, 2, "exit status of " + what)
        check_eq(out, "", "stdout of " + what)
        check(err.strip() != "", "%s printed nothing on stderr" % what)
    # --callback needs a COMMAND: not a batch from stdin.
    rc, out, err = run_picmd(t, "-p", port, "--callback", "0",
                             stdin="ping\n")
    check_eq((rc, out), (2, ""), "picmd --callback 0 without a COMMAND")
    check_match(r"callback", err, "its stderr")
    check_eq(c.stats()["connections_total"], before,
             "connections_total (no usage error may connect)")


def test_refused_connection_exits_2_naming_host_and_port(t):
    port = free_port()
    rc, out, err = run_picmd(t, "-H", "127.0.0.1", "-p", str(port), "ping")
    check_eq((rc, out), (2, ""), "picmd against a closed port")
    msg = one_line(err, "refused connection")
    check("127.0.0.1" in msg and str(port) in msg,
          "message does not name host and port: %r" % msg)
    check_match(r"(?i)refused", msg, "message")

    port6 = free_port(socket.AF_INET6, "::1")
    rc, out, err = run_picmd(t, "-H", "::1", "-p", str(port6), "ping")
    check_eq((rc, out), (2, ""), "picmd against a closed IPv6 port")
    msg = one_line(err, "refused IPv6 connection")
    check("::1" in msg and str(port6) in msg,
          "message does not name host and port: %r" % msg)

    path = t.path("nosuch.sock")
    rc, out, err = run_picmd(t, "-u", path, "ping")
    check_eq((rc, out), (2, ""), "picmd -u on a missing socket")
    msg = one_line(err, "missing Unix socket")
    check(path in msg, "message does not name the socket: %r" % msg)

    # The batch mode fails the same way, before reading stdin.
    rc, out, err = run_picmd(t, "-p", str(port), stdin="ping\n")
    check_eq((rc, out), (2, ""), "batch against a closed port")
    check(str(port) in one_line(err, "batch refused"),
          "message does not name the port: %r" % err)


def test_timeout_against_a_server_that_never_answers(t):
    srv = Listener(t)
    # One-shot: the request arrives, no reply ever comes.
    p = PicmdProcess(t, ["-p", str(srv.port), "--timeout", "300", "ping"])
    conn = srv.accept()
    check_eq(recv_line(conn), "ping", "request seen by the silent server")
    rc, out, err = p.finish()
    check_eq((rc, out), (2, ""), "picmd --timeout 300 against silence")
    msg = one_line(err, "one-shot timeout")
    check_match(r"(?i)(no reply|time)", msg, "timeout message")
    check_match(r"300", msg, "timeout message")
    check_between(p.elapsed, 0.25, IO_TIMEOUT, "seconds until picmd gave up")

    # Batch: replies are owed and nothing moves.
    p = PicmdProcess(t, ["-p", str(srv.port), "--timeout", "300"])
    conn = srv.accept()
    rc, out, err = p.finish(b"ping\necho x\n")
    # What it sent stays readable after it hung up.
    check_eq(recv_line(conn), "ping", "first batch line")
    check_eq(recv_line(conn), "echo x", "second batch line")
    check_eq((rc, out), (2, ""), "batch --timeout 300 against silence")
    check_match(r"(?i)(no reply|time)", one_line(err, "batch timeout"),
                "batch timeout message")
    check_between(p.elapsed, 0.25, IO_TIMEOUT, "seconds until batch gave up")

    # --callback: the CALLBACK request itself is never answered.
    p = PicmdProcess(t, ["-p", str(srv.port), "--timeout", "300",
                         "--callback", "0", "ping"])
    conn = srv.accept()
    check_match(r"^CALLBACK \d+$", recv_line(conn), "callback request")
    rc, out, err = p.finish()
    check_eq((rc, out), (2, ""), "--callback against silence")
    check_match(r"(?i)(no reply|time)", one_line(err, "callback timeout"),
                "callback timeout message")


def test_timeout_against_a_server_that_never_ends_its_line(t):
    # Bytes keep coming but never a LF: --timeout still bounds the wait.
    srv = Listener(t)
    p = PicmdProcess(t, ["-p", str(srv.port), "--timeout", "500", "ping"])
    conn = srv.accept()
    check_eq(recv_line(conn), "ping", "request")
    start = time.monotonic()
    conn.settimeout(1.0)
    while time.monotonic() - start < 4.0:
        try:
            conn.sendall(b"x" * 1024)
        except (socket.timeout, OSError):
            break
        try:
            p.proc.wait(0.01)       # paced: about 100 KB/s
            break
        except subprocess.TimeoutExpired:
            pass
    # It may have hung up and still be exiting (a sanitizer's exit checks).
    exited = wait_exit(p, 3.0)
    conn.close()
    check(exited, "picmd --timeout 500 still reading an endless line "
          "%.1f s later" % (time.monotonic() - start))
    rc, out, err = p.finish()
    check_eq((rc, out), (2, ""), "picmd against an endless line")
    check_match(r"(?i)(no reply|time)", one_line(err, "endless line"),
                "message")


def test_server_closing_without_reply_exits_2(t):
    srv = Listener(t)
    p = PicmdProcess(t, ["-p", str(srv.port), "ping"])
    conn = srv.accept()
    check_eq(recv_line(conn), "ping", "request")
    conn.close()
    rc, out, err = p.finish()
    check_eq((rc, out), (2, ""), "picmd when the server hangs up")
    check_match(r"(?i)closed", one_line(err, "hang-up"), "message")

    # A reply that is neither OK nor ERR.
    p = PicmdProcess(t, ["-p", str(srv.port), "ping"])
    conn = srv.accept()
    recv_line(conn)
    conn.sendall(b"HELLO there\n")
    rc, out, err = p.finish()
    check_eq((rc, out), (2, ""), "picmd on a malformed reply")
    check_match(r"(?i)malformed", one_line(err, "malformed"), "message")


# ---------------------------------------------------------------------------
# quoting and arguments


def test_arguments_are_quoted_for_the_wire(t):
    d = start_with_tplug(t)
    a = tcp_args(d)
    for args, want in [
        (["tplug", "a b", "c"], "2:a b|c"),
        (["tplug", "a", "b", "c"], "3:a|b|c"),
        (["tplug", "  spaced  out  "], "1:  spaced  out  "),
        (["tplug", 'say "hi"'], '1:say "hi"'),
        (["tplug", 'a"b', '"'], '2:a"b|"'),
        (["tplug", "back\\slash", "\\", "end\\"], "3:back\\slash|\\|end\\"),
        (["tplug", '\\"both\\"'], '1:\\"both\\"'),
        (["tplug", "#notatag", "#"], "2:#notatag|#"),
        (["tplug", "a", "", "b"], "3:a||b"),
        (["tplug", ""], "1:"),
        (["tplug", "it's"], "1:it's"),
        (["tplug", "tab\there"], "1:tab here"),   # control bytes: spaces
        (["tplug", "Grüße", "日本"], "2:Grüße|日本"),
        (["tplug", "x=1;y=2|z"], "1:x=1;y=2|z"),
    ]:
        rc, out, err = run_picmd(t, *(a + args))
        what = "picmd %r" % (args,)
        check_eq((rc, err), (0, ""), "status and stderr of " + what)
        check_eq(out, want + "\n", "stdout of " + what)

    # A newline inside an argument cannot split the request in two.
    rc, out, err = run_picmd(t, *(a + ["tplug", "line1\nline2", "z"]))
    check_eq((rc, err), (0, ""), "argument with a newline")
    check_eq(out.count("\n"), 1, "reply lines for an argument with a newline")
    check_match(r"^2:line1.line2\|z\n$", out, "reply")

    # ECHO joins its words with one space: two spaces survive only in a
    # single quoted word.
    rc, out, err = run_picmd(t, *(a + ["echo", "a  b", "c"]))
    check_eq((rc, out), (0, "a  b c\n"), "picmd echo 'a  b' c")
    rc, out, err = run_picmd(t, *(a + ["echo", "a", "", "b"]))
    check_eq((rc, out), (0, "a  b\n"), "picmd echo a '' b")
    # A two-word command name as one argument, or as two.
    for args in (["help", "diag sleep"], ["help", "diag", "sleep"],
                 ["help", "diag.sleep"]):
        rc, out, err = run_picmd(t, *(a + args))
        check_eq((rc, out), (0, "diag sleep <ms>\n"), "picmd %r" % (args,))
    # The command word itself is quoted like any other: "#x" is no tag.
    rc, out, err = run_picmd(t, *(a + ["#x", "ping"]))
    check_eq((rc, out), (1, ""), "picmd '#x' ping")
    check_match(r"^UNKNOWN ", err, "stderr of picmd '#x' ping")


def test_dash_arguments_after_the_command(t):
    d = start_with_tplug(t)
    a = tcp_args(d)
    for args, want in [
        (["echo", "-x"], "-x\n"),
        (["echo", "-h"], "-h\n"),
        (["echo", "--version"], "--version\n"),
        (["tplug", "-p", "1", "--timeout", "-H"], "4:-p|1|--timeout|-H\n"),
        (["tplug", "--", "-"], "2:--|-\n"),
    ]:
        rc, out, err = run_picmd(t, *(a + args))
        check_eq((rc, out, err), (0, want, ""), "picmd %r" % (args,))
    # "--" ends the options: what follows is the command even with a dash.
    rc, out, err = run_picmd(t, *(a + ["--", "echo", "-x"]))
    check_eq((rc, out, err), (0, "-x\n", ""), "picmd -- echo -x")
    rc, out, err = run_picmd(t, *(a + ["--", "-x"]))
    check_eq((rc, out), (1, ""), "picmd -- -x (an unknown command)")
    check_match(r"^UNKNOWN ", err, "stderr")


# ---------------------------------------------------------------------------
# where to connect


def test_environment_and_options(t):
    d = t.start()
    port = str(d.port())
    dead = str(free_port())

    rc, out, err = run_picmd(t, "ping", env={"PICMD_HOST": "127.0.0.1",
                                             "PICMD_PORT": port})
    check_eq((rc, out, err), (0, "PONG\n", ""), "PICMD_HOST and PICMD_PORT")
    rc, out, err = run_picmd(t, "ping", env={"PICMD_PORT": port})
    check_eq((rc, out, err), (0, "PONG\n", ""),
             "PICMD_PORT with the default host 127.0.0.1")

    # The environment is really used: a dead port there fails, naming it.
    rc, out, err = run_picmd(t, "ping", env={"PICMD_PORT": dead})
    check_eq((rc, out), (2, ""), "PICMD_PORT naming a closed port")
    check(dead in err, "message does not name port %s: %r" % (dead, err))

    # -H and -p override the environment.
    rc, out, err = run_picmd(t, "-p", port, "ping",
                             env={"PICMD_HOST": "127.0.0.1",
                                  "PICMD_PORT": dead})
    check_eq((rc, out, err), (0, "PONG\n", ""), "-p over PICMD_PORT")
    rc, out, err = run_picmd(t, "--port", port, "ping",
                             env={"PICMD_PORT": "notaport"})
    check_eq((rc, out, err), (0, "PONG\n", ""), "--port over a bad PICMD_PORT")
    rc, out, err = run_picmd(t, "-H", "127.0.0.1", "ping",
                             env={"PICMD_HOST": "::1", "PICMD_PORT": port})
    check_eq((rc, out, err), (0, "PONG\n", ""), "-H over PICMD_HOST")
    rc, out, err = run_picmd(t, "--host=127.0.0.1", "--port=" + port, "ping",
                             env={"PICMD_HOST": "::1", "PICMD_PORT": dead})
    check_eq((rc, out, err), (0, "PONG\n", ""), "--host= --port= forms")
    rc, out, err = run_picmd(t, "ping", env={"PICMD_PORT": "notaport"})
    check_eq((rc, out), (2, ""), "a bad PICMD_PORT")
    check("notaport" in one_line(err, "bad PICMD_PORT"),
          "message does not name the bad port: %r" % err)

    # Host names go through getaddrinfo (localhost may resolve to ::1
    # first: the client then tries the next address).
    rc, out, err = run_picmd(t, "-H", "localhost", "-p", port, "ping")
    check_eq((rc, out, err), (0, "PONG\n", ""), "-H localhost")


def test_ipv4_ipv6_and_unix_sockets(t):
    sock = t.path("picmd.sock")
    d = t.start(server={"listen": "127.0.0.1:0 [::1]:0 unix:" + sock})
    for kind in ("tcp4", "tcp6", "unix"):
        check(kind in d.listen, "daemon does not listen on %s: %r"
              % (kind, d.listen))
    port4 = str(d.listen["tcp4"][1])
    port6 = str(d.listen["tcp6"][1])
    for name, args in [("IPv4", ["-H", "127.0.0.1", "-p", port4]),
                       ("IPv6", ["-H", "::1", "-p", port6]),
                       ("Unix", ["-u", sock]),
                       ("Unix over a bad -p", ["-p", "bad", "-u", sock]),
                       ("Unix over the environment",
                        ["--unix", sock])]:
        env = {"PICMD_HOST": "::1", "PICMD_PORT": "9"} \
            if "environment" in name else None
        rc, out, err = run_picmd(t, *(args + ["echo", name]), env=env)
        check_eq((rc, out, err), (0, name + "\n", ""), "one-shot over " + name)
        rc, out, err = run_picmd(t, *(args + ["diag", "error", "DENIED",
                                              "no"]))
        check_eq((rc, out, err), (1, "", "DENIED no\n"), "ERR over " + name)
        rc, out, err = run_picmd(t, *args, stdin="ping\n#t echo %s\n"
                                 "nosuch\n" % name.replace(" ", "_"))
        check_eq(rc, 1, "batch exit status over " + name)
        lines = out.split("\n")
        check_eq(len(lines), 4, "batch output lines over %s: %r"
                 % (name, out))
        check_eq(lines[0], "OK PONG", "batch line 1 over " + name)
        check_eq(lines[1], "#t OK " + name.replace(" ", "_"),
                 "batch line 2 over " + name)
        check_match(r"^ERR UNKNOWN ", lines[2], "batch line 3 over " + name)
    # The daemon saw each transport.
    c = d.connect("unix")
    s = c.stats()
    check(s["connections_total"] >= 15, "connections_total %r"
          % s["connections_total"])


# ---------------------------------------------------------------------------
# batch mode


def batch_script(n):
    """n input lines and what the daemon answers: (input text, expected
    untagged replies in order (str or compiled regex), expected tagged
    replies (sorted list))."""
    lines, untagged, tagged = [], [], []
    for i in range(n):
        kind = i % 14
        crlf = i % 5 == 0
        if kind == 0:
            line, want = "ping", "OK PONG"
        elif kind == 1:
            line, want = "echo w%d x" % i, "OK w%d x" % i
        elif kind == 2:
            line, want = "", None
        elif kind == 3:
            line, want = "  \t ", None
        elif kind == 4:
            line, want = "nosuch%d" % i, re.compile(r"^ERR UNKNOWN ")
        elif kind == 5:
            line, want = 'echo "unterminated %d' % i, re.compile(
                r"^ERR PROTO ")
        elif kind == 6:
            line, want = "ping extra%d" % i, "ERR ARGS usage: PING"
        elif kind == 7:
            line, want = 'echo "q %d"  \\x' % i, "OK q %d \\x" % i
        elif kind == 8:
            line = "#s%d diag sleep 100" % i
            tagged.append("#s%d OK slept 100" % i)
            want = None
        elif kind == 9:
            line, want = "diag sleep 3", "OK slept 3"
        elif kind == 10:
            line = "#e%d echo tagged %d" % (i, i)
            tagged.append("#e%d OK tagged %d" % (i, i))
            want = None
        elif kind == 11:
            line, want = ("diag error DEVICE bad%d" % i,
                          "ERR DEVICE bad%d" % i)
        elif kind == 12:
            line = "#p%d nosuch" % i
            tagged.append(re.compile(r"^#p%d ERR UNKNOWN " % i))
            want = None
        else:
            line, want = "ECHO %d" % i, "OK %d" % i
        lines.append(line + ("\r" if crlf else ""))
        if want is not None:
            untagged.append(want)
    return "".join(line + "\n" for line in lines), untagged, tagged


def check_reply(got, want, what):
    if isinstance(want, str):
        check_eq(got, want, what)
    else:
        check_match(want.pattern, got, what)


def check_batch_output(out, untagged, tagged):
    check(out == "" or out.endswith("\n"), "output does not end in LF")
    got = out.split("\n")[:-1]
    check_eq(len(got), len(untagged) + len(tagged),
             "output lines (one per non-blank input line)")
    got_untagged = [g for g in got if not g.startswith("#")]
    got_tagged = [g for g in got if g.startswith("#")]
    check_eq(len(got_untagged), len(untagged), "untagged replies")
    for i, (g, w) in enumerate(zip(got_untagged, untagged)):
        check_reply(g, w, "untagged reply %d (request order)" % i)
    check_eq(len(got_tagged), len(tagged), "tagged replies")
    by_tag = {}
    for g in got_tagged:
        tag = g.split(" ", 1)[0]
        check(tag not in by_tag, "tag %s answered twice" % tag)
        by_tag[tag] = g
    for w in tagged:
        pattern = w if isinstance(w, str) else w.pattern
        tag = re.match(r"\^?(#[^ ]+)", pattern).group(1)
        check(tag in by_tag, "no reply for %s" % tag)
        check_reply(by_tag[tag], w, "reply for %s" % tag)


def test_batch_hundreds_of_pipelined_lines(t):
    d = t.start(server={"workers": "4"})
    text, untagged, tagged = batch_script(700)
    rc, out, err = run_picmd(t, *tcp_args(d), stdin=text)
    check_batch_output(out, untagged, tagged)
    check_eq(rc, 1, "batch exit status (some replies were ERR)")
    check_eq(err, "", "batch stderr (errors are reply lines on stdout)")
    s = d.connect().stats()
    check_eq(s["connections_total"], 2, "one connection for the batch")


def test_batch_exit_0_when_every_reply_is_ok(t):
    d = t.start(server={"workers": "4"})
    a = tcp_args(d)
    lines, untagged, tagged = [], [], []
    for i in range(400):
        if i % 10 == 3:
            lines.append("#t%d diag sleep %d" % (i, 10 + i % 7 * 20))
            tagged.append("#t%d OK slept %d" % (i, 10 + i % 7 * 20))
        elif i % 10 == 5:
            lines.append("" if i % 20 else "\r")
        elif i % 10 == 7:
            lines.append("diag sleep 2\r")
            untagged.append("OK slept 2")
        else:
            lines.append("echo line %d" % i)
            untagged.append("OK line %d" % i)
    rc, out, err = run_picmd(t, *a, stdin="".join(x + "\n" for x in lines))
    check_batch_output(out, untagged, tagged)
    check_eq((rc, err), (0, ""), "batch of OK replies")

    # The last line needs no LF; a tagged ERR also makes the status 1.
    rc, out, err = run_picmd(t, *a, stdin="ping\necho last")
    check_eq((rc, out, err), (0, "OK PONG\nOK last\n", ""), "no final LF")
    rc, out, err = run_picmd(t, *a, stdin="ping\n#x diag error BUSY y\n")
    check_eq((rc, out, err), (1, "OK PONG\n#x ERR BUSY y\n", ""),
             "tagged ERR in a batch")
    # Empty input, or only blank lines: nothing to send, nothing owed.
    for stdin in ("", "\n\n  \n\r\n"):
        rc, out, err = run_picmd(t, *a, stdin=stdin)
        check_eq((rc, out, err), (0, "", ""), "batch of %r" % stdin)


def test_batch_large_volume_does_not_deadlock(t):
    # About 1 MB each way: the client must read replies while it writes.
    d = t.start(server={"workers": "2"})
    pad = "p" * 230
    n = 4000
    text = "".join("echo %d %s\n" % (i, pad) for i in range(n))
    rc, out, err = run_picmd(t, *tcp_args(d), stdin=text)
    check_eq((rc, err), (0, ""), "large batch")
    got = out.split("\n")[:-1]
    check_eq(len(got), n, "reply lines")
    for i, g in enumerate(got):
        if g != "OK %d %s" % (i, pad):
            raise Failure("reply %d is %r" % (i, g[:80]))


# ---------------------------------------------------------------------------
# help and version


def test_help_and_version(t):
    dead = {"PICMD_PORT": str(free_port())}     # neither may connect
    for opt in ("-h", "--help"):
        rc, out, err = run_picmd(t, opt, env=dead)
        check_eq((rc, err), (0, ""), "picmd %s" % opt)
        check_match(r"^usage: picmd ", out, "picmd %s output" % opt)
        for word in ("-H", "-p", "-u", "--timeout", "--callback",
                     "--version"):
            check(word in out, "usage does not mention %s" % word)
    rc, out, err = run_picmd(t, "-h", "ping", env=dead)
    check_eq(rc, 0, "picmd -h ping (help wins)")
    for opt in ("--version", "-V"):
        rc, out, err = run_picmd(t, opt, env=dead)
        check_eq((rc, err), (0, ""), "picmd %s" % opt)
        check_eq(out, "picmd %s (protocol 1)\n" % makefile_version(),
                 "picmd %s output" % opt)
    # A usage error prints the usage on stderr, not stdout.
    rc, out, err = run_picmd(t, "--nosuchoption", env=dead)
    check_eq((rc, out), (2, ""), "picmd --nosuchoption")
    check_match(r"usage: picmd ", err, "stderr of a bad option")
