"""Access control through the real daemon (issue 6): the token (inline and
token_file) and what an unauthenticated connection may do, the admin token
and admin-flagged commands, protected mode, the allow-list, per-address
connection limits, the Unix socket's mode and the plugin directory check.

Every case drives picmdd over loopback TCP or a Unix socket and asserts
the outcome; see docs/SECURITY.md and the Authentication section of
docs/PROTOCOL.md for the contract.
"""

import os
import select
import shutil
import socket
import stat
import time

from harness import (IO_TIMEOUT, SLOW, check, check_between, check_eq,
                     check_match, elapsed_since, line_number, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures", "exec"))

TOKEN = "user-token-0123"
ADMIN = "admin-token-4567"
DENIED = "ERR DENIED authentication required"


def security(**keys):
    """A [security] section."""
    return "[security]\n" + "".join("%s = %s\n" % kv for kv in keys.items())


def start_secure(t, sec=None, server=None, plugins=None, extra=""):
    """A daemon on 127.0.0.1 and a Unix socket, with [security] sec."""
    srv = {"listen": "127.0.0.1:0, unix:" + t.path("picmd.sock")}
    srv.update(server or {})
    return t.start(server=srv, plugins=plugins,
                   extra=(security(**sec) if sec else "") + extra)


def read_until_closed(c, timeout=IO_TIMEOUT):
    """Every reply line until the daemon closes (EOF or reset)."""
    lines = []
    while True:
        try:
            line = c.read_line(timeout)
        except (ConnectionResetError, BrokenPipeError):
            return lines
        if line is None:
            return lines
        lines.append(line)


def closed_without_reply(c, timeout=IO_TIMEOUT):
    got = read_until_closed(c, timeout)
    check_eq(got, [], "replies before the daemon closed the connection")


def refuses_to_start(t, path, *needles):
    """picmdd -c path and picmdd -t -c path both exit 1 with each needle
    in stderr, and nothing is bound."""
    rc, _, err = t.run_picmdd("-c", path)
    check_eq(rc, 1, "picmdd exit status (stderr: %r)" % err)
    check("listening on" not in err, "bound a socket: %r" % err)
    check("info: ready:" not in err, "claims to be ready: %r" % err)
    for needle in needles:
        check(needle in err, "stderr lacks %r:\n%s" % (needle, err))
    rc, out, err_t = t.run_picmdd("-t", "-c", path)
    check_eq(rc, 1, "picmdd -t exit status (stderr: %r)" % err_t)
    check("configuration OK" not in out, "picmdd -t said OK: %r" % out)
    for needle in needles:
        check(needle in err_t, "-t stderr lacks %r:\n%s" % (needle, err_t))
    return err


# ---------------------------------------------------------------------------
# the token


def check_preauth_gate(c):
    """Before AUTH only PING (and AUTH, QUIT) is answered; every other request,
    known or unknown, builtin or plugin, tagged or not, is DENIED."""
    check_eq(c.request("PING"), "OK PONG", "PING before AUTH")
    check_eq(c.request("ping"), "OK PONG", "ping before AUTH")
    for line in ("ECHO hello", "STATS", "HELP", "HELP diag sleep", "VERSION",
                 "diag sleep 1", "diag error DEVICE ran", "nosuch command",
                 "CALLBACK 40000", "CALLBACK OFF"):
        check_eq(c.request(line), DENIED, line)
    check_eq(c.request("#t ECHO x"), "#t " + DENIED, "tagged ECHO")
    check_eq(c.request("#u nosuch"), "#u " + DENIED, "tagged unknown")
    # Malformed lines are still malformed (and run nothing).
    check_match(r"^ERR PROTO ", c.request('ECHO "open'), "bad quoting")
    check_match(r"^ERR ARGS ", c.request("AUTH"), "AUTH without a token")


def test_inline_token_gates_the_connection(t):
    d = start_secure(t, {"token": TOKEN})
    c = d.connect("tcp4")
    check_preauth_gate(c)
    check_eq(c.request("AUTH " + TOKEN), "OK", "AUTH")
    check_eq(c.request("ECHO hello"), "OK hello", "ECHO after AUTH")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "plugin after AUTH")
    check_eq(c.request("#t ECHO x"), "#t OK x", "tagged after AUTH")
    # AUTH again (right) is harmless.
    check_eq(c.request("AUTH " + TOKEN), "OK", "second AUTH")
    # Nothing denied ran: the one diag error never reached its handler.
    s = c.stats()
    check_eq(s["errors_total"], 14, "errors_total (12 DENIED, PROTO, ARGS)")
    check_eq(s["auth_failed_total"], 0, "auth_failed_total")
    # QUIT works before AUTH too.
    q = d.connect("tcp4")
    check_eq(q.request("QUIT"), "OK BYE", "QUIT before AUTH")
    q.expect_eof()
    # The Unix socket is trusted by default: no AUTH needed.
    u = d.connect("unix")
    check_eq(u.request("ECHO unix"), "OK unix", "ECHO over the Unix socket")


def test_token_file(t):
    tok = t.path("token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o640)
    d = start_secure(t, {"token_file": tok})
    c = d.connect("tcp4")
    check_preauth_gate(c)
    check_eq(c.request("AUTH " + TOKEN), "OK", "AUTH (file)")
    check_eq(c.request("ECHO in"), "OK in", "ECHO after AUTH")
    # The newline of the file is not part of the token.
    c2 = d.connect("tcp4")
    check_eq(c2.request("AUTH " + TOKEN[:-1]), "ERR DENIED wrong token",
             "a prefix of the token")
    check_eq(c2.request('AUTH "%s\\n"' % TOKEN), "ERR DENIED wrong token",
             "the token with its newline")
    check_eq(c2.request("AUTH " + TOKEN), "OK", "AUTH after two misses")
    check_eq(c2.request("ECHO ok"), "OK ok", "ECHO")


def test_token_file_readable_by_others_is_refused(t):
    tok = t.path("token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o644)
    text = t.config_text(extra=security(token_file=tok))
    path = t.write_config(text)
    lineno = line_number(text, "token_file")
    refuses_to_start(t, path, "%s:%d: token_file '%s' is accessible by "
                     "everybody (mode 644): run chmod o-rwx %s"
                     % (path, lineno, tok, tok))
    # Readable by others only through o+r is enough to refuse.
    os.chmod(tok, 0o604)
    refuses_to_start(t, path, "%s:%d: token_file" % (path, lineno),
                     "(mode 604)")
    # The same for the admin token file.
    os.chmod(tok, 0o600)
    adm = t.path("admin-token")
    with open(adm, "w") as f:
        f.write(ADMIN + "\n")
    os.chmod(adm, 0o666)
    text = t.config_text(extra=security(token_file=tok, admin_token_file=adm))
    path = t.write_config(text)
    refuses_to_start(t, path, "%s:%d: admin_token_file '%s' is accessible "
                     "by everybody (mode 666)"
                     % (path, line_number(text, "admin_token_file"), adm))
    # chmod o-rwx is all it takes.
    os.chmod(adm, 0o640)
    rc, out, err = t.run_picmdd("-t", "-c", path)
    check_eq((rc, err), (0, ""), "picmdd -t after chmod o-rwx")
    check_match(r"configuration OK", out, "picmdd -t output")


def test_too_short_tokens_are_refused(t):
    text = t.config_text(extra=security(token="short12"))
    path = t.write_config(text)
    refuses_to_start(t, path, "%s:%d: token is too short: use at least 8 "
                     "characters" % (path, line_number(text, "token =")))
    text = t.config_text(extra=security(token=TOKEN, admin_token="adm"))
    path = t.write_config(text)
    refuses_to_start(t, path, "%s:%d: admin_token is too short"
                     % (path, line_number(text, "admin_token")))
    tok = t.path("token")
    with open(tok, "w") as f:
        f.write("abc\n")
    os.chmod(tok, 0o600)
    text = t.config_text(extra=security(token_file=tok))
    path = t.write_config(text)
    refuses_to_start(t, path, "%s:%d: token_file is too short"
                     % (path, line_number(text, "token_file")))
    # Eight characters are enough.
    path = t.write_config(t.config_text(extra=security(token="12345678")))
    rc, _, err = t.run_picmdd("-t", "-c", path)
    check_eq((rc, err), (0, ""), "picmdd -t with an 8-character token")


def test_preauth_line_limit_is_256_bytes(t):
    d = start_secure(t, {"token": TOKEN})
    c = d.connect("tcp4")
    line = "ECHO " + "x" * 251
    check_eq(len(line), 256, "line length")
    check_eq(c.request(line), DENIED, "a 256-byte line before AUTH")
    c.send(line + "\r\n")
    check_eq(c.reply(), DENIED, "256 bytes + CRLF")
    c.send_lines(["PING", line + "y", "PING"])
    check_eq(c.reply(), "OK PONG", "PING before the long line")
    check_eq(c.reply(), "ERR TOOLONG line longer than 256 bytes before AUTH",
             "257 bytes before AUTH")
    closed_without_reply(c)
    # Without a newline in sight, too.
    c2 = d.connect("tcp4")
    c2.send("AUTH " + "z" * 400)
    check_eq(c2.reply(), "ERR TOOLONG line longer than 256 bytes before AUTH",
             "no LF before AUTH")
    closed_without_reply(c2)
    # After AUTH, max_line (4096) applies: the same connection may send a
    # longer line in the very write that carried AUTH.
    c3 = d.connect("tcp4")
    long_word = "w" * 3000
    c3.send_lines(["AUTH " + TOKEN, "ECHO " + long_word])
    check_eq(c3.read_lines(2), ["OK", "OK " + long_word],
             "long line right after AUTH")
    c3.send("ECHO " + "v" * 5000 + "\n")
    check_eq(c3.reply(), "ERR TOOLONG line longer than 4096 bytes",
             "max_line after AUTH")
    closed_without_reply(c3)
    s = d.connect("unix").stats()
    check_eq(s["commands_total"], s["replies_total"] + s["dropped_total"] + 1,
             "commands_total = replies_total + dropped_total + 1")


def test_three_wrong_tokens_close_the_connection(t):
    d = start_secure(t, {"token": TOKEN})
    c = d.connect("tcp4")
    check_eq(c.request("AUTH wrong-one-1"), "ERR DENIED wrong token", "1st")
    check_eq(c.request("PING"), "OK PONG", "PING between tries")
    check_eq(c.request("AUTH wrong-two-2"), "ERR DENIED wrong token", "2nd")
    check_eq(c.request("AUTH wrong-three"), "ERR DENIED wrong token; closing",
             "3rd")
    closed_without_reply(c)
    # Pipelined: nothing after the third miss is read, not even the right
    # token.
    c2 = d.connect("tcp4")
    c2.send_lines(["AUTH a-wrong-1", "AUTH a-wrong-2", "#x AUTH a-wrong-3",
                   "AUTH " + TOKEN, "PING"])
    check_eq(read_until_closed(c2), ["ERR DENIED wrong token",
                                     "ERR DENIED wrong token",
                                     "#x ERR DENIED wrong token; closing"],
             "replies before the close")
    # Two misses and then the right token: in, and the count starts over.
    c3 = d.connect("tcp4")
    for i in range(2):
        check_eq(c3.request("AUTH miss-%d-xyz" % i), "ERR DENIED wrong token",
                 "miss %d" % i)
    check_eq(c3.request("AUTH " + TOKEN), "OK", "right token")
    check_eq(c3.request("ECHO in"), "OK in", "ECHO")
    s = c3.stats()
    check_eq(s["auth_failed_total"], 8, "auth_failed_total")
    d.wait_line("wrong token")


def test_auth_timeout(t):
    d = start_secure(t, {"token": TOKEN, "auth_timeout_s": "1"})
    authed = d.connect("tcp4")
    check_eq(authed.request("AUTH " + TOKEN), "OK", "AUTH")
    u = d.connect("unix")
    start = time.monotonic()
    silent = d.connect("tcp4")
    pinging = d.connect("tcp4")
    # PING is answered, but does not count as authenticating.
    for _ in range(3):
        check_eq(pinging.request("PING"), "OK PONG", "PING")
        time.sleep(0.3)
    closed_without_reply(silent, timeout=5 * SLOW)
    check_between(elapsed_since(start), 0.9, 3.5 * SLOW,
                  "seconds to the close")
    closed_without_reply(pinging, timeout=5 * SLOW)
    d.wait_line("did not authenticate within 1 s")
    # The authenticated connection stays, well past the deadline.
    time.sleep(max(0.0, 2.5 - elapsed_since(start)))
    check_eq(authed.request("ECHO still"), "OK still", "authenticated client")
    # So does a trusted Unix client that has sent nothing.
    check_eq(u.request("PING"), "OK PONG", "Unix client after 2.5 s")


def test_auth_timeout_is_never_early(t):
    """A client always gets its full auth_timeout_s, whenever in the
    daemon's once-a-second sweep it connects: ten clients connect 0.1 s
    apart, and none is closed before 1 s."""
    d = start_secure(t, {"token": TOKEN, "auth_timeout_s": "1"})
    opened = []
    for _ in range(10):
        opened.append((d.connect("tcp4"), time.monotonic()))
        time.sleep(0.1)
    closed = {}
    deadline = time.monotonic() + 6 * SLOW
    while len(closed) < len(opened) and time.monotonic() < deadline:
        socks = [c.sock for c, _ in opened if c.sock not in closed]
        ready, _, _ = select.select(socks, [], [], 0.5)
        now = time.monotonic()
        for s in ready:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            check_eq(data, b"", "reply to a silent client")
            closed[s] = now
    for i, (c, when) in enumerate(opened):
        check(c.sock in closed, "client %d still open after 6 s" % i)
        check_between(closed[c.sock] - when, 0.98, 3.5 * SLOW,
                      "seconds until client %d (of 10, 0.1 s apart) was "
                      "closed" % i)


def test_auth_without_a_token_configured(t):
    d = start_secure(t)
    c = d.connect("tcp4")
    check_eq(c.request("AUTH whatever-123"),
             "ERR DENIED no token is configured", "AUTH")
    check_eq(c.request("ECHO open"), "OK open", "no token: no gate")
    check_eq(c.stats()["auth_failed_total"], 0, "auth_failed_total")


# ---------------------------------------------------------------------------
# admin commands


def start_exec(t, sec, server=None):
    """A daemon with one admin (exec) command "args" and the diag plugin,
    on TCP and a Unix socket."""
    extra = "[exec]\nargs = %s fixed\n" % os.path.join(FIXTURES,
                                                       "echo-args.sh")
    return start_secure(t, sec, server=server,
                        plugins={"load": "diag exec"}, extra=extra)


ADMIN_DENIED = r"^ERR DENIED admin command: "


def test_admin_command_needs_the_admin_token_over_tcp(t):
    d = start_exec(t, {"token": TOKEN, "admin_token": ADMIN})
    c = d.connect("tcp4")
    check_eq(c.request("args x"), DENIED, "before AUTH")
    check_eq(c.request("AUTH " + TOKEN), "OK", "AUTH with the user token")
    check_eq(c.request("args x"),
             "ERR DENIED admin command: AUTH with the admin token first",
             "admin command with the user token")
    check_eq(c.request("#t args x"),
             "#t ERR DENIED admin command: AUTH with the admin token first",
             "tagged")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "non-admin command")
    check_eq(c.request("AUTH " + ADMIN), "OK", "AUTH with the admin token")
    check_eq(c.request("args x"), "OK [fixed][x]", "admin command allowed")
    # The admin token is also the normal token.
    c2 = d.connect("tcp4")
    check_eq(c2.request("AUTH " + ADMIN), "OK", "AUTH admin first")
    check_eq(c2.request("ECHO in"), "OK in", "ECHO")
    check_eq(c2.request("args y z"), "OK [fixed][y][z]", "admin command")
    # A trusted Unix client needs neither.
    u = d.connect("unix")
    check_eq(u.request("args u"), "OK [fixed][u]", "admin over Unix")
    # A wrong admin token is a wrong token.
    c3 = d.connect("tcp4")
    check_eq(c3.request("AUTH " + ADMIN + "x"), "ERR DENIED wrong token",
             "a wrong admin token")
    check_eq(c3.request("args"), DENIED, "still unauthenticated")


def test_admin_command_without_an_admin_token_configured(t):
    d = start_exec(t, {"token": TOKEN})
    c = d.connect("tcp4")
    check_eq(c.request("AUTH " + TOKEN), "OK", "AUTH")
    check_eq(c.request("args x"), "ERR DENIED admin command: set [security] "
             "admin_token, or use the Unix socket", "admin over TCP")
    check_eq(d.connect("unix").request("args x"), "OK [fixed][x]",
             "admin over the trusted Unix socket")
    # Without any token at all, TCP still may not run admin commands.
    d2 = start_exec(t, None, server={"listen": "127.0.0.1:0"})
    check_match(ADMIN_DENIED, d2.connect("tcp4").request("args"),
                "admin over TCP with no token configured")


def test_untrusted_unix_socket_needs_auth_and_the_admin_token(t):
    d = start_exec(t, {"token": TOKEN, "admin_token": ADMIN,
                       "unix_trusted": "false"})
    u = d.connect("unix")
    check_eq(u.request("PING"), "OK PONG", "PING")
    check_eq(u.request("ECHO x"), DENIED, "ECHO before AUTH")
    check_eq(u.request("args x"), DENIED, "admin before AUTH")
    check_eq(u.request("AUTH " + TOKEN), "OK", "AUTH user")
    check_eq(u.request("ECHO x"), "OK x", "ECHO after AUTH")
    check_eq(u.request("args x"),
             "ERR DENIED admin command: AUTH with the admin token first",
             "admin with the user token")
    check_eq(u.request("AUTH " + ADMIN), "OK", "AUTH admin")
    check_eq(u.request("args x"), "OK [fixed][x]", "admin after admin AUTH")
    # The pre-AUTH limits apply to it as well.
    u2 = d.connect("unix")
    u2.send("ECHO " + "q" * 300 + "\n")
    check_eq(u2.reply(), "ERR TOOLONG line longer than 256 bytes before AUTH",
             "pre-AUTH line limit over Unix")
    closed_without_reply(u2)


# ---------------------------------------------------------------------------
# protected mode


def test_protected_mode_refuses_a_public_listener_without_a_token(t):
    for listen, shown in (("0.0.0.0:0", "0.0.0.0:0"), ("[::]:0", "[::]:0"),
                          ("127.0.0.1:0, 0.0.0.0:0", "0.0.0.0:0")):
        text = t.config_text(server={"listen": listen})
        path = t.write_config(text)
        err = refuses_to_start(
            t, path, "%s:%d: protected mode: %s is not a loopback address"
            % (path, line_number(text, "listen ="), shown),
            "set token_file (or token) in [security]",
            "or listen only on 127.0.0.1, [::1] or a unix: socket")
        check("127.0.0.1:0 is not" not in err, "loopback blamed: %r" % err)
    # An admin token alone is no token for everybody else.
    text = t.config_text(server={"listen": "0.0.0.0:0"},
                         extra=security(admin_token=ADMIN))
    refuses_to_start(t, t.write_config(text), "protected mode: 0.0.0.0:0")


def test_protected_mode_with_a_token_starts(t):
    d = t.start(server={"listen": "0.0.0.0:0"},
                extra=security(token=TOKEN))
    host, port = d.listen["tcp4"]
    check_eq(host, "0.0.0.0", "listener address")
    c = d.connect("tcp4")     # 0.0.0.0 reaches the loopback on Linux
    check_eq(c.request("ECHO x"), DENIED, "the token applies on loopback")
    check_eq(c.request("AUTH " + TOKEN), "OK", "AUTH")
    check_eq(c.request("ECHO x"), "OK x", "ECHO after AUTH")


# ---------------------------------------------------------------------------
# allow-list and per-address limits


def test_allow_list_refuses_other_addresses(t):
    d = start_secure(t, {"allow": "10.0.0.0/8, 192.168.1.0/24"})
    for i in range(3):
        c = d.connect("tcp4")
        start = time.monotonic()
        closed_without_reply(c, timeout=5 * SLOW)
        check(elapsed_since(start) < 2.0 * SLOW,
              "refused client not closed at once")
    u = d.connect("unix")      # the allow-list is for TCP
    s = u.stats()
    check_eq(s["denied_total"], 3, "denied_total")
    check_eq(s["connections_total"], 1, "connections_total (the Unix one)")
    check_eq(s["clients"], 1, "clients")
    d.wait_line("refused 127.0.0.1:")
    d.wait_line("not in [security] allow")


def test_allow_list_admits_listed_addresses(t):
    d = start_secure(t, {"allow": "10.0.0.0/8, 127.0.0.1/32"})
    c = d.connect("tcp4")
    check_eq(c.request("PING"), "OK PONG", "127.0.0.1 admitted")
    check_eq(c.stats()["denied_total"], 0, "denied_total")
    # A whole network, IPv4 and IPv6: ::1 admits [::1], 127.0.0.0/8 admits
    # 127.0.0.1; a v6 list without ::1 refuses it.
    srv = {"listen": "127.0.0.1:0, [::1]:0, unix:" + t.path("b.sock")}
    d2 = t.start(name="b.ini", server=srv,
                 extra=security(allow="::1, 127.0.0.0/8"))
    check_eq(d2.connect("tcp6").request("PING"), "OK PONG", "[::1] admitted")
    check_eq(d2.connect("tcp4").request("PING"), "OK PONG",
             "127.0.0.1 admitted by 127.0.0.0/8")
    srv = {"listen": "127.0.0.1:0, [::1]:0, unix:" + t.path("c.sock")}
    d3 = t.start(name="c.ini", server=srv,
                 extra=security(allow="fd00::/8, 127.0.0.1"))
    closed_without_reply(d3.connect("tcp6"), timeout=5 * SLOW)
    check_eq(d3.connect("tcp4").request("PING"), "OK PONG", "127.0.0.1")
    check_eq(d3.connect("unix").stats()["denied_total"], 1,
             "denied_total ([::1] not in fd00::/8)")


def test_max_clients_per_ip(t):
    d = start_secure(t, {"max_clients_per_ip": "2"})
    a, b = d.connect("tcp4"), d.connect("tcp4")
    check_eq(a.request("PING"), "OK PONG", "1st client")
    check_eq(b.request("PING"), "OK PONG", "2nd client")
    c = d.connect("tcp4")
    check_eq(c.reply(), "ERR BUSY too many clients", "3rd client")
    closed_without_reply(c)
    # Unix clients are not counted against an address.
    us = [d.connect("unix") for _ in range(3)]
    for i, u in enumerate(us):
        check_eq(u.request("ECHO u%d" % i), "OK u%d" % i, "Unix client %d" % i)
    check_eq(a.request("ECHO a"), "OK a", "1st client afterwards")
    s = us[0].stats()
    check_eq((s["rejected_total"], s["clients"]), (1, 5),
             "rejected_total, clients")
    # A slot frees when a client leaves.
    b.close()
    wait_until(lambda: us[0].stats()["clients"] == 4, what="clients=4")
    e = d.connect("tcp4")
    check_eq(e.request("PING"), "OK PONG", "client after a slot freed")
    f = d.connect("tcp4")
    check_eq(read_until_closed(f), ["ERR BUSY too many clients"],
             "3rd client again")


# ---------------------------------------------------------------------------
# callbacks


def test_callback_before_auth_is_denied(t):
    d = start_secure(t, {"token": TOKEN})
    c = d.connect("tcp4")
    cb = socket.socket()
    try:
        cb.bind(("127.0.0.1", 0))
        cb.listen(4)
        port = cb.getsockname()[1]
        check_eq(c.request("CALLBACK %d" % port), DENIED, "CALLBACK")
        check_eq(c.request("diag sleep 1"), DENIED, "command")
        check_eq(c.request("AUTH " + TOKEN), "OK", "AUTH")
        check_eq(c.request("CALLBACK %d" % port), "OK", "CALLBACK after AUTH")
        check_match(r"^OK QUEUED \d+$", c.request("diag sleep 1"), "QUEUED")
        cb.settimeout(10)
        conn, _ = cb.accept()
        with conn:
            conn.settimeout(10)
            data = b""
            while b"\n" not in data:
                more = conn.recv(4096)
                check(more, "callback connection closed early")
                data += more
            check_match(r"^#\d+ OK slept 1\n", data.decode(), "result")
    finally:
        cb.close()


# ---------------------------------------------------------------------------
# files: the Unix socket and the plugin directory


def test_unix_socket_mode(t):
    for mode in (None, "0600", "0666", "0640"):
        sock = t.path("m%s.sock" % (mode or "default"))
        server = {"listen": "127.0.0.1:0, unix:" + sock}
        if mode is not None:
            server["unix_mode"] = mode
        d = t.start(name="m%s.ini" % (mode or "default"), server=server)
        st = os.stat(sock)
        check(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % sock)
        want = 0o660 if mode is None else int(mode, 8)
        check_eq(oct(stat.S_IMODE(st.st_mode)), oct(want),
                 "mode of the socket (unix_mode = %s)" % mode)
        check_eq(d.connect("unix").request("PING"), "OK PONG", "PING")
        d.stop()
        check(not os.path.exists(sock), "socket file left after exit")
    # The daemon's own umask played no part: a restrictive one still gives
    # the configured mode.
    old = os.umask(0o077)
    try:
        sock = t.path("umask.sock")
        d = t.start(name="umask.ini", server={
            "listen": "127.0.0.1:0, unix:" + sock, "unix_mode": "0660"})
    finally:
        os.umask(old)
    check_eq(oct(stat.S_IMODE(os.stat(sock).st_mode)), oct(0o660),
             "mode under umask 077")
    d.stop()


def test_writable_plugin_directory_is_refused(t):
    pdir = t.path("plugins")
    os.mkdir(pdir)
    shutil.copy(os.path.join(t.commands, "diag.so"), pdir)
    os.chmod(pdir, 0o755)
    os.chmod(os.path.join(pdir, "diag.so"), 0o755)
    path = t.config(plugins={"dir": pdir})
    rc, out, err = t.run_picmdd("-t", "-c", path)
    check_eq((rc, err), (0, ""), "picmdd -t with a 0755 directory")
    for mode in (0o777, 0o775, 0o757):
        os.chmod(pdir, mode)
        err = refuses_to_start(
            t, path, "plugin directory %s is writable by group or others; "
            "refusing to load plugins from it (chmod go-w %s)" % (pdir, pdir))
        check("plugins failed to load; not starting" in err,
              "no 'not starting' message: %r" % err)
    # A plugin file writable by others, in a good directory, too.
    os.chmod(pdir, 0o755)
    so = os.path.join(pdir, "diag.so")
    os.chmod(so, 0o666)
    refuses_to_start(t, path, "plugin %s is writable by group or others"
                     % so)
    os.chmod(so, 0o755)
    d = t.start(plugins={"dir": pdir})
    check_eq(d.connect().request("diag sleep 1"), "OK slept 1",
             "loads once fixed")
