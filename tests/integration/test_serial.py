"""The serial plugin in the real daemon, over sockets: its simulated
loopback ports, and the termios backend on pseudo-terminal pairs.

A pty stands for a serial device.  The daemon's port is a symlink in the
test's directory pointing at the pty's slave, so that unplugging is
closing the master (the slave hangs up, its node goes) and removing the
link, and plugging back in is pointing the link at a new pty: the same
path, another device behind it, as udev does with /dev/serial/by-id."""

import os
import select
import time

from harness import (SLOW, check, check_eq, check_match, elapsed_since,
                     wait_until)
from test_config import start_fails


class Pty:
    """A pseudo-terminal pair behind the path t.path(name).  In
    t.clients, so that the test's cleanup closes it like a client."""

    def __init__(self, t, name="tty"):
        self.link = t.path(name)
        self.master = self.slave = None
        self.closed = False
        self.plug()
        t.clients.append(self)

    def plug(self):
        # The test keeps its slave open too: its termios is the tty's.
        self.master, self.slave = os.openpty()
        tmp = self.link + ".new"
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)

    def unplug(self):
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None
        os.unlink(self.link)

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        check_eq(os.write(self.master, data), len(data), "bytes to the pty")

    def read(self, n, timeout=10.0 * SLOW):
        """Exactly n bytes from the master (what the daemon wrote)."""
        deadline = time.monotonic() + timeout
        got = b""
        while len(got) < n:
            left = deadline - time.monotonic()
            check(left > 0, "only %r of %d bytes from the port" % (got, n))
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                got += os.read(self.master, n - len(got))
        return got

    def close(self):
        if not self.closed and self.master is not None:
            os.close(self.master)
            os.close(self.slave)
        self.closed = True


def pts_fds(pid):
    """The pseudo-terminal slaves process pid holds open."""
    found = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("/dev/pts/"):
            found.append(target)
    return found


def unescape(payload):
    """docs/DEVICES.md's: a payload back to bytes, and whether it is a
    piece of a longer line (tested here as documented)."""
    out, i, more = bytearray(), 0, False
    while i < len(payload):
        if payload[i] != "\\":
            out += payload[i].encode("ascii")
            i += 1
        elif payload[i + 1] == "\\":
            out.append(0x5c)
            i += 2
        elif payload[i + 1] == "x":
            out.append(int(payload[i + 2:i + 4], 16))
            i += 4
        else:                       # "\+", the last two characters
            more = True
            i += 2
    return bytes(out), more


def start_serial(t, serial, server=None):
    """A daemon with diag and serial loaded and [serial] set to serial."""
    return t.start(plugins={"load": "diag serial"}, server=server,
                   extra="[serial]\n" + serial)


def start_pty(t, settings="115200 8N1", server=None):
    p = Pty(t)
    d = start_serial(t, "p = %s %s\n" % (p.link, settings), server=server)
    return d, p


def wait_list(c, text, what):
    """Poll serial list until it holds text (a watched port is closed and
    reopened by the plugin's own timer, not by a command)."""
    deadline = time.monotonic() + 10.0 * SLOW
    while True:
        reply = c.request("serial list")
        if text in reply:
            return reply
        check(time.monotonic() < deadline, "%s: serial list still %r"
              % (what, reply))
        time.sleep(0.02)


def test_sim_commands_over_a_socket(t):
    c = start_serial(t, "backend = sim\nloop = /dev/sim0 9600 8N1\n"
                     "modem = /dev/sim1 115200 7E2 rtscts\n").connect()
    check_eq(c.request("serial list"), "OK loop:9600:8N1:none:closed:-:"
             "/dev/sim0 modem:115200:7E2:rtscts:closed:-:/dev/sim1", "list")
    check_eq(c.request("serial write loop hello  world"), "OK 11", "text")
    check_eq(c.request("serial read loop"), "OK hello world", "read back")
    check_eq(c.request("serial write loop hex:0x0d 0a00FF5c"), "OK 5", "hex")
    check_eq(c.request("serial read loop"), r"OK \x0d\x0a\x00\xff\\",
             "escaped")
    check_eq(c.request('serial write loop "one\\ntw"'), "OK 6", "lines")
    check_eq(c.request("serial readline loop"), "OK one", "readline")
    check_eq(c.request("serial readline loop 50"), "OK", "partial")
    check_eq(c.request("serial flush loop"), "OK 2", "flush")
    check_eq(c.request("serial list"), "OK loop:9600:8N1:none:open:-:"
             "/dev/sim0 modem:115200:7E2:rtscts:closed:-:/dev/sim1", "list")
    help_all = c.request("HELP").split(" ")
    for name in ("serial.write", "serial.read", "serial.readline",
                 "serial.flush", "serial.list", "serial.watch",
                 "serial.unwatch", "serial.sim-set"):
        check(name in help_all, "%s missing from HELP" % name)
    check_eq(c.request("HELP serial read"),
             "OK serial read <port> [max_bytes] [timeout_ms]", "HELP")


def test_every_byte_survives_the_escaping(t):
    c = start_serial(t, "backend = sim\nloop = /dev/sim0 9600 8N1\n").connect()
    every = bytes(range(256))
    check_eq(c.request("serial write loop hex:" + every.hex()), "OK 256",
             "every byte")
    reply = c.request("serial read loop 4096")
    check(reply.startswith("OK "), "read: %r" % reply)
    check_eq(unescape(reply[3:]), (every, False), "unescaped")
    # A line of 600 bytes but LF, \ and + among them: three pieces.
    line = bytes(b for b in range(256) if b != 0x0a) * 3
    line = line[:600 - 2] + b"\\+"
    check_eq(c.request("serial write loop hex:%s0a" % line.hex()), "OK 601",
             "a long line")
    got, pieces = b"", 0
    while True:
        reply = c.request("serial readline loop")
        data, more = unescape(reply[3:])
        got += data
        pieces += 1
        if not more:
            break
    check_eq((got, pieces), (line, 3), "the line again")


def test_sim_errors_and_unplug(t):
    d = start_serial(t, "backend = sim\nloop = /dev/sim0 9600 8N1\n")
    c = d.connect()
    for line, want in (
            ("serial read gps", r"^ERR ARGS unknown port 'gps' \(ports: "
             r"loop\)$"),
            ("serial write loop", r"^ERR ARGS usage: serial write <port> "),
            ("serial write loop hex:0", r"^ERR ARGS '0' is not whole bytes"),
            ("serial write loop hex:xy", r"^ERR ARGS 'xy' is not hex"),
            ('serial write loop ""', r"^ERR ARGS nothing to write"),
            ("serial read loop 0", r"^ERR ARGS max_bytes must be a whole "
             r"number from 1 to 4096, not '0'$"),
            ("serial readline loop -5", r"^ERR ARGS timeout_ms must be"),
            ("serial read loop 1 2 3", r"^ERR ARGS usage: serial read"),
            ("serial sim-set loop yank", r"^ERR ARGS sim-set takes unplug "
             r"or plug")):
        check_match(want, c.request(line), line)
    check_eq(c.request("PING"), "OK PONG", "still serving")
    check_eq(c.request("serial write loop x"), "OK 1", "opened")
    mark = d.mark()
    check_eq(c.request("serial sim-set loop unplug"), "OK", "unplug")
    check_eq(c.request("serial read loop"), "ERR DEVICE port loop: /dev/sim0 "
             "hung up (device gone?); a later command opens it again once "
             "it is back", "hang-up")
    d.wait_line("warn: serial: loop: /dev/sim0 hung up", start=mark)
    check_eq(c.request("serial read loop"), "ERR DEVICE port loop: cannot "
             "open /dev/sim0: No such file or directory", "still away")
    check_eq(c.request("serial sim-set loop plug"), "OK", "plug")
    check_eq(c.request("serial write loop again"), "OK 5", "back")
    d.wait_line("info: serial: loop: /dev/sim0 is back; reopened", start=mark)
    check_eq(c.request("serial read loop"), "OK again", "read after")


def test_pty_write_and_read(t):
    d, p = start_pty(t)
    c = d.connect()
    check_eq(c.request("serial write p hello pi"), "OK 8", "write")
    check_eq(p.read(8), b"hello pi", "on the wire")
    d.wait_line("info: serial: p: opened %s at 115200 8N1, flow control "
                "none" % p.link)
    check_eq(c.request("serial write p hex:0d0a 0x00"), "OK 3", "hex")
    check_eq(p.read(3), b"\r\n\x00", "hex on the wire")
    p.write(b"$GPGGA,123519,4807.038,N*47\r\n$GPRMC,1")
    check_eq(c.request("serial readline p"), "OK $GPGGA,123519,4807.038,N*47",
             "readline")
    p.write(b"*2C\r\n\x01\xfe ok\\ \n")
    check_eq(c.request("serial readline p"), "OK $GPRMC,1*2C", "completed")
    check_eq(c.request("serial readline p"), r"OK \x01\xfe ok\\\x20",
             "escaped")
    p.write(b"raw bytes")
    check_eq(c.request("serial read p 3"), "OK raw", "max_bytes")
    check_eq(c.request("serial read p"), r"OK \x20bytes", "the rest")
    check_eq(c.request("serial list"), "OK p:115200:8N1:none:open:-:%s"
             % p.link, "list")


def test_pty_timeouts_and_partial_lines(t):
    d, p = start_pty(t)
    c = d.connect()
    start = time.monotonic()
    check_eq(c.request("serial readline p 300"), "OK", "nothing: empty OK")
    check(elapsed_since(start) >= 0.28, "readline returned before its "
          "timeout")
    p.write("no end yet")
    start = time.monotonic()
    check_eq(c.request("serial readline p 300"), "OK", "no whole line")
    check(elapsed_since(start) >= 0.28, "readline gave up early")
    p.write(" - now\r\n")
    check_eq(c.request("serial readline p"), "OK no end yet - now",
             "the partial line was kept")
    start = time.monotonic()
    check_eq(c.request("serial read p 10 200"), "OK", "read: nothing")
    check(elapsed_since(start) >= 0.18, "read returned before its timeout")
    check_eq(c.request("serial read p 10 0"), "OK", "no wait at all")


def test_timeouts_end_before_the_command_deadline(t):
    d, p = start_pty(t, server={"command_timeout_ms": "600"})
    c = d.connect()
    start = time.monotonic()
    check_eq(c.request("serial readline p 60000"), "OK",
             "cut to the deadline, answered in time")
    check(elapsed_since(start) < 0.6 + 0.5 * SLOW, "took too long")
    check_eq(c.request("serial read p 100 60000"), "OK", "read too")


def test_a_write_nobody_takes_ends_at_the_deadline(t):
    """The other end does not read: the kernel's buffer fills, and a write
    waits for room until its deadline, then says how much went out."""
    d, p = start_pty(t, server={"command_timeout_ms": "500"})
    c = d.connect()
    chunk = "x" * 2000
    for i in range(200):
        reply = c.request("serial write p " + chunk)
        if reply != "OK 2000":
            break
    check_match(r"^ERR TIMEOUT port p: \d+ of 2000 bytes written before the "
                r"deadline: the device takes no more \(flow control\?\)$",
                reply, "write %d" % i)
    check(i > 0, "not even one write went through")
    check_eq(c.request("PING"), "OK PONG", "still serving")
    # The other end reads again: room again.
    os.set_blocking(p.master, False)
    try:
        while os.read(p.master, 65536):
            pass
    except BlockingIOError:
        pass
    check_eq(c.request("serial write p y"), "OK 1", "room again")


def test_pty_hangup_and_reopen(t):
    d, p = start_pty(t)
    c = d.connect()
    check_eq(c.request("serial write p x"), "OK 1", "opened")
    check_eq(p.read(1), b"x", "wrote")
    mark = d.mark()
    p.unplug()
    # Found within a second with no command, and the device let go (a
    # USB adapter then comes back under its old number).
    d.wait_line("warn: serial: p: %s hung up (device gone?); a later command "
                "opens it again once it is back" % p.link, start=mark)
    wait_until(lambda: not pts_fds(d.pid), what="the daemon closing the pty")
    # The next command still answers the hang-up.
    check_eq(c.request("serial readline p"), "ERR DEVICE port p: %s hung up "
             "(device gone?); a later command opens it again once it is "
             "back" % p.link, "hang-up")
    check_eq(c.request("serial write p y"), "ERR DEVICE port p: cannot open "
             "%s: No such file or directory" % p.link, "still away")
    check_match(r"^OK p:115200:8N1:none:gone:-:", c.request("serial list"))
    p.plug()
    check_eq(c.request("serial write p back"), "OK 4", "plugged in again")
    d.wait_line("info: serial: p: %s is back; reopened" % p.link, start=mark)
    check_eq(p.read(4), b"back", "the new device got it")
    p.write("hi\n")
    check_eq(c.request("serial readline p"), "OK hi", "and reads")
    check_eq(c.request("PING"), "OK PONG", "the daemon is fine")


def test_pty_watch_publishes_lines(t):
    d, p = start_pty(t)
    sub, c = d.connect(), d.connect()
    check_eq(sub.request("SUBSCRIBE serial.P"), "OK", "subscribe")
    check_eq(sub.request("SUBSCRIPTIONS"), "OK serial.p", "by its name")
    check_eq(c.request("serial watch p"), "OK", "watch")
    p.write(b"$GPGGA,1*4F\r\n\r\n\x07bell \\ x\n$GPR")
    check_match(r"^! serial\.p \$GPGGA,1\*4F seq=1$", sub.read_line(),
                "first line")
    check_eq(sub.read_line(), r"! serial.p \x07bell \\ x seq=2", "escaped")
    check_match(r"^ERR BUSY port p is watched", c.request("serial read p"))
    check_match(r"^ERR BUSY port p is watched",
                c.request("serial readline p"))
    check_eq(c.request("serial write p ok"), "OK 2", "writing is fine")
    check_eq(p.read(2), b"ok", "written")
    p.write("MC\n" + "z" * 300 + "\n")
    check_eq(sub.read_line(), "! serial.p $GPRMC seq=3", "completed line")
    check_eq(sub.read_line(), "! serial.p %s\\+ seq=4" % ("z" * 255),
             "a long line's first piece")
    check_eq(sub.read_line(), "! serial.p %s seq=5" % ("z" * 45), "its rest")
    check_match(r":open:watched:", c.request("serial list"))

    # Unplugged and plugged in again: the watch carries on by itself.
    mark = d.mark()
    p.unplug()
    d.wait_line("warn: serial: p: %s hung up (device gone?); watching it "
                "again once it is back" % p.link, start=mark)
    wait_list(c, ":gone:watched:", "after the hang-up")
    p.plug()
    d.wait_line("info: serial: p: %s is back; reopened" % p.link, start=mark)
    wait_list(c, ":open:watched:", "after plugging in")
    p.write("after\n")
    check_eq(sub.read_line(), "! serial.p after seq=6", "watching again")

    check_eq(c.request("serial unwatch p"), "OK", "unwatch")
    p.write("mine\n")
    check_eq(c.request("serial readline p"), "OK mine", "readable again")
    check_eq(sub.request("PING"), "OK PONG", "no event after unwatch")


def test_commands_on_one_port_run_in_turn(t):
    c = start_serial(t, "backend = sim\na = /dev/sim0 9600 8N1\n"
                     "b = /dev/sim1 9600 8N1\n").connect()
    hold = 0.8 * SLOW
    start = time.monotonic()
    c.send_lines(["#r serial readline a %d" % (hold * 1000),
                  "#w serial write a x", "#o serial write b y"])
    replies = {}
    for _ in range(3):
        line = c.reply()
        replies[line.split(" ", 1)[0]] = (line, elapsed_since(start))
    check_eq(sorted(r[0] for r in replies.values()),
             ["#o OK 1", "#r OK", "#w OK 1"], "the three replies")
    check(replies["#o"][1] < 0.75 * hold, "port b waited for port a")
    # "#w" may take port a before or after the readline, never during it.
    if replies["#w"][1] > replies["#r"][1]:
        check(replies["#w"][1] >= 0.9 * hold,
              "the write did not wait for the readline")
    check_eq(c.request("serial read a"), "OK x", "the write went out")


def test_config_errors_stop_the_daemon(t):
    for serial, needle in (
            ("backend = usb\n", "{path}:{line:usb}: [serial] backend must be "
             "dev or sim, not 'usb'"),
            ("gps = /dev/serial0 9601 8N1\n", "{path}:{line:9601}: [serial] "
             "port gps: speed '9601' is not one termios has"),
            ("gps = /dev/serial0 9600\n", "{path}:{line:gps}: [serial] port "
             "gps: a port is '<device> <speed> <framing> [rtscts|xonxoff]'"),
            ("g.ps = /dev/serial0 9600 8N1\n", "{path}:{line:g.ps}: [serial] "
             "port name 'g.ps' must be"),
            ("gps = /dev/serial0 9600 8N1 dsrdtr\n", "{path}:{line:dsrdtr}: "
             "[serial] port gps: flow control 'dsrdtr' must be rtscts, "
             "xonxoff or none")):
        text = t.config_text(plugins={"load": "serial"},
                             extra="[serial]\n" + serial)
        start_fails(t, text, needle)


def test_a_section_without_ports_is_valid(t):
    text = t.config_text(plugins={"load": "serial"},
                         extra="[serial]\n; gps = /dev/serial0 9600 8N1\n")
    path = t.write_config(text)
    rc, _, err = t.run_picmdd("-t", "-c", path)
    check_eq(rc, 0, "picmdd -t status (stderr: %r)" % err)
    c = t.start(config=path).connect()
    check_eq(c.request("serial list"), "OK", "no ports")
    check_match(r"^ERR ARGS unknown port 'gps': no ports are configured",
                c.request("serial readline gps"))
