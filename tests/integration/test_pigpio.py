"""The pigpio front-end ([pigpio] listen) against the real daemon on its
simulated chip: the framing and the notification stream over raw
sockets, then the real clients Debian 12 ships, unmodified: pigs, the
pigpio Python module and gpiozero's PiGPIOFactory (python3-pigpio 1.78,
pigpio-tools, python3-gpiozero 1.6.2, the versions Home Assistant's
remote_rpi_gpio pins).  Debian 13 still ships these clients (only pigpiod
is gone); where they are missing the client tests skip and say so; the
raw-socket tests run everywhere."""

import os
import shutil
import socket
import struct
import subprocess
import threading
import time

from harness import (IO_TIMEOUT, Skip, check, check_eq, check_match,
                     wait_until)
from test_sysfs_plugins import FIXTURES
from test_config import start_fails

# The Debian interpreter: the clients are Debian's packages, whatever
# python3 comes first in PATH.
PYTHON = "/usr/bin/python3"
PIGPIO = ("[gpio]\nbackend = sim\n[i2c]\nbackend = sim\n[spi]\n"
          "backend = sim\n[pigpio]\nlisten = 127.0.0.1:0\n"
          "hwver = 0xa02082\n")
CLIENT_TIMEOUT = 60 * (IO_TIMEOUT / 10.0)


def start_pigpio(t, extra="", load="diag gpio i2c spi"):
    return t.start(plugins={"load": load}, extra=PIGPIO + extra)


def pigpio_port(d):
    return d.listen["pigpio"][1]


# ---- raw sockets: pigpio's framing, no client library needed ----

class Raw:
    """A pigpio socket spoken by hand: 16-byte requests and responses."""

    def __init__(self, d):
        self.s = socket.create_connection(("127.0.0.1", pigpio_port(d)),
                                          timeout=IO_TIMEOUT)

    def send(self, cmd, p1=0, p2=0, ext=b""):
        self.s.sendall(struct.pack("<IIII", cmd, p1, p2, len(ext)) + ext)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise AssertionError("connection closed after %d of %d "
                                     "bytes" % (len(buf), n))
            buf += chunk
        return buf

    def response(self):
        cmd, p1, p2, res = struct.unpack("<IIIi", self.recv_exact(16))
        return cmd, p1, p2, res

    def call(self, cmd, p1=0, p2=0, ext=b""):
        self.send(cmd, p1, p2, ext)
        got = self.response()
        check_eq(got[:3], (cmd, p1, p2), "echoed request words")
        return got[3]

    def close(self):
        self.s.close()


def test_raw_requests_and_errors(t):
    d = start_pigpio(t, extra="pins = 4 5 6 17 18\n")
    p = Raw(d)
    check_eq(p.call(17), 0xa02082, "HWVER")
    check_eq(p.call(26), 79, "PIGPV")
    check_eq(p.call(0, 17, 1), 0, "MODES 17 output")
    check_eq(p.call(4, 17, 1), 0, "WRITE 17 1")
    check_eq(p.call(3, 17), 1, "READ 17")
    check_eq(p.call(1, 17), 1, "MODEG 17")
    check_eq(p.call(4, 54, 1), -3, "WRITE to a line past 53: PI_BAD_GPIO")
    check_eq(p.call(4, 17, 2), -5, "level 2: PI_BAD_LEVEL")
    check_eq(p.call(0, 17, 9), -4, "mode 9: PI_BAD_MODE")
    check_eq(p.call(2, 4, 3), -6, "pull 3: PI_BAD_PUD")
    check_eq(p.call(5, 32, 1), -2, "PWM on 32: PI_BAD_USER_GPIO")
    check_eq(p.call(4, 22, 1), -41, "line 22 not in pins: PI_NOT_PERMITTED")
    check_eq(p.call(0, 4, 4), -41, "ALT0: PI_NOT_PERMITTED")
    # BS1 of 5, 6 and 22: the permitted ones are set.
    check_eq(p.call(14, (1 << 5) | (1 << 6) | (1 << 22)), -42,
             "BS1 with a line not permitted: PI_SOME_PERMITTED")
    c = d.connect()
    check_eq(c.request("gpio read 5"), "OK 1", "BS1 set line 5")
    check_eq(c.request("gpio read 6"), "OK 1", "BS1 set line 6")
    check_match(r"^OK offset=22 .*direction=in .*used=no",
                c.request("gpio info 22"), "line 22 untouched")
    check_eq(p.call(12, 1 << 5), 0, "BC1 5")
    check_eq(c.request("gpio read 5"), "OK 0", "BC1 cleared line 5")
    # BR1: the levels of the lines picmd holds.
    check_eq(p.call(10), (1 << 6) | (1 << 17), "BR1")
    # A command it cannot do: pigpio's own error, logged once per number.
    check_eq(p.call(27), -88, "WVCLR: PI_UNKNOWN_COMMAND")
    check_eq(p.call(27), -88, "WVCLR again")
    check_eq(p.call(1000), -88, "command 1000")
    # Logged in order: once 1000's line is in, both 27s' would be.
    d.wait_line("command 1000 is not supported")
    check_eq(d.stderr().count("command 27 is not supported"), 1,
             "logged once")
    # Ticks: microseconds, increasing (modulo 2^32).
    t1 = p.call(16) & 0xffffffff
    t2 = p.call(16) & 0xffffffff
    check((t2 - t1) % (1 << 32) < 10000000, "ticks %d then %d" % (t1, t2))
    check_eq(c.request("PING"), "OK PONG", "the text side serves on")


def test_raw_framing(t):
    d = start_pigpio(t)
    p = Raw(d)
    # Three requests in one send, the first split from the rest: answered
    # in order.
    reqs = b"".join(struct.pack("<IIII", *w) for w in
                    ((4, 17, 1, 0), (3, 17, 0, 0), (1, 17, 0, 0)))
    p.s.sendall(reqs[:7])
    time.sleep(0.05)
    p.s.sendall(reqs[7:])
    check_eq([p.response() for _ in range(3)],
             [(4, 17, 1, 0), (3, 17, 0, 1), (1, 17, 0, 1)], "pipelined")
    # FG with its steady time; an extension the command does not read is
    # skipped whole.
    check_eq(p.call(97, 4, 5000, ext=b"\x00" * 12), 0, "FG with extension")
    check_eq(p.call(97, 4, 300001), -125, "FG past 300 ms: PI_BAD_FILTER")
    # An extension past 64 KiB cannot be framed: the connection closes,
    # the daemon serves on.
    p.send(3, 17, 0, b"")
    p.response()
    p.s.sendall(struct.pack("<IIII", 3, 17, 0, 1 << 20))
    check_eq(p.s.recv(16), b"", "closed after a huge extension")
    d.wait_line("extension of 1048576 bytes")
    q = Raw(d)
    check_eq(q.call(3, 17), 1, "a new client is served")


def report_of(raw):
    seq, flags, tick, level = struct.unpack("<HHII", raw.recv_exact(12))
    return seq, flags, tick, level


def test_raw_notifications(t):
    d = start_pigpio(t)
    c = d.connect()
    ctl, stream = Raw(d), Raw(d)
    check_eq(ctl.call(0, 4, 0), 0, "MODES 4 input")
    check_eq(ctl.call(2, 4, 2), 0, "PUD 4 up")
    h = stream.call(99)
    check(0 <= h < 32, "NOIB handle %d" % h)
    check_eq(ctl.call(19, h, 1 << 4), 0, "NB handle, line 4")
    check_eq(c.stats()["subscriptions"], 1, "one subscription")
    # The stream's client never learnt line 4's level (no BR1 on it): the
    # first report says it is high (pulled up), so the next edge shows.
    r0 = report_of(stream)
    check_eq((r0[1], r0[3]), (0, 1 << 4), "the level it did not know")
    for v in (0, 1):
        check_eq(c.request("gpio sim-set 4 %d" % v), "OK", "sim-set")
    r1, r2 = report_of(stream), report_of(stream)
    check_eq((r1[1], r1[3] >> 4 & 1), (0, 0), "falling: flags 0, level 0")
    check_eq((r2[1], r2[3] >> 4 & 1), (0, 1), "rising: level 1")
    check_eq((r2[0] - r1[0]) % 65536, 1, "sequence numbers")
    check((r2[2] - r1[2]) % (1 << 32) < 10000000, "ticks increase")
    # NP pauses: no reports; NB again resumes.
    check_eq(ctl.call(20, h), 0, "NP")
    check_eq(c.stats()["subscriptions"], 0, "paused: no subscription")
    check_eq(ctl.call(19, h, 1 << 4), 0, "NB again")
    check_eq(c.request("gpio sim-set 4 0"), "OK", "sim-set")
    check_eq(report_of(stream)[3] >> 4 & 1, 0, "reported after NB")
    check_eq(ctl.call(19, 31 if h != 31 else 30, 1), -25,
             "NB on a handle not open: PI_BAD_HANDLE")
    # Dropping the stream's socket frees its subscription; the next
    # client may drive the line.
    stream.close()
    wait_until(lambda: c.stats()["subscriptions"] == 0,
               what="the subscription to go with the socket")
    check_eq(ctl.call(0, 4, 1), 0, "MODES 4 output after the stream")
    check_eq(ctl.call(4, 4, 1), 0, "WRITE 4")
    check_eq(c.request("gpio read 4"), "OK 1", "driven")


def test_raw_hardware_pwm(t):
    """PWM, SERVO and HP on a GPIO of [pigpio] hardware_pwm go to the pwm
    plugin's channel (a sysfs fixture as the kernel lays it out)."""
    sysfs = t.path("sysfs")
    shutil.copytree(os.path.join(FIXTURES, "sysfs"), sysfs, symlinks=True)
    pwm0 = os.path.join(sysfs, "class/pwm/pwmchip0/pwm0")
    os.mkdir(pwm0)
    for name, text in (("period", "0\n"), ("duty_cycle", "0\n"),
                       ("enable", "0\n"), ("polarity", "normal\n")):
        with open(os.path.join(pwm0, name), "w") as f:
            f.write(text)

    def channel():
        out = []
        for name in ("period", "duty_cycle", "enable"):
            with open(os.path.join(pwm0, name)) as f:
                out.append(int(f.read()))
        return tuple(out)

    d = start_pigpio(t, load="diag gpio i2c spi pwm",
                     extra="hardware_pwm = 18:0.0\n[system]\n"
                     "sysfs_root = %s\n" % sysfs)
    p = Raw(d)
    check_eq(p.call(5, 18, 128), 0, "PWM 18 128")
    check_eq(channel(), (1250000, 627450, 1), "800 Hz, 128/255")
    check_eq(p.call(83, 18), 128, "GDC")
    check_eq(p.call(8, 18, 1500), 0, "SERVO 18 1500")
    check_eq(channel(), (20000000, 1500000, 1), "50 Hz, 1.5 ms")
    check_eq(p.call(86, 18, 1000, struct.pack("<I", 250000)), 0,
             "HP 18 1 kHz 25%")
    check_eq(channel(), (1000000, 250000, 1), "hardware PWM")
    check_eq(p.call(86, 18, 1000, struct.pack("<I", 1000001)), -97,
             "HP duty past 1000000: PI_BAD_HPWM_DUTY")
    check_eq(p.call(86, 17, 1000, struct.pack("<I", 1)), -95,
             "HP on a GPIO without a channel: PI_NOT_HPWM_GPIO")
    check_eq(p.call(4, 18, 1), 0, "WRITE 18 1 ends it")
    check_eq(channel()[2], 0, "channel disabled")
    c = d.connect()
    check_eq(c.request("gpio read 18"), "OK 1", "the line driven")


def test_hwver_from_the_board(t):
    root = t.path("procfs")
    os.makedirs(os.path.join(root, "device-tree", "system"))
    with open(os.path.join(root, "device-tree", "system",
                           "linux,revision"), "wb") as f:
        f.write(bytes.fromhex("00d04170"))     # a Raspberry Pi 5
    d = t.start(plugins={"load": "diag"}, extra="[system]\nprocfs_root = "
                "%s\n[pigpio]\nlisten = 127.0.0.1:0\n" % root)
    check_eq(Raw(d).call(17), 0xd04170, "HWVER from the device tree")
    root2 = t.path("procfs2")
    os.makedirs(root2)
    with open(os.path.join(root2, "cpuinfo"), "w") as f:
        f.write("processor\t: 0\nHardware\t: BCM2835\n"
                "Revision\t: c03111\nSerial\t\t: 0000000012345678\n")
    d2 = t.start(plugins={"load": "diag"}, extra="[system]\nprocfs_root = "
                 "%s\n[pigpio]\nlisten = 127.0.0.1:0\n" % root2)
    check_eq(Raw(d2).call(17), 0xc03111, "HWVER from cpuinfo")
    check_match(r"pigpio: board revision 0xc03111", d2.stderr())


def test_config_checks(t):
    start_fails(t, t.config_text(extra="[pigpio]\nlisten = 0.0.0.0:8888\n"),
                "[pigpio] listen = 0.0.0.0:8888 is not a loopback address")
    start_fails(t, t.config_text(extra="[pigpio]\nlisten = 127.0.0.1:0\n"
                            "pins = 4 99\n"), "bad pin '99' in [pigpio] pins")
    start_fails(t, t.config_text(extra="[pigpio]\nlisten = 127.0.0.1:0\n"
                            "hwver = pi5\n"), "bad hwver 'pi5'")
    start_fails(t, t.config_text(extra="[pigpio]\nlisten = 127.0.0.1:0\n"
                            "hardware_pwm = 18\n"), "bad hardware_pwm '18'")
    start_fails(t, t.config_text(extra="[pigpio]\nlisten = 127.0.0.1:0\n"
                            "colour = blue\n"), "unknown key 'colour'")
    # An open address with an allow list starts; a client outside the
    # list is refused.
    d = t.start(extra="[pigpio]\nlisten = [::1]:0\nallow = 192.0.2.0/24\n")
    port = int(d.stderr().split("listening on [::1]:")[1].split(" ")[0])
    s = socket.create_connection(("::1", port), timeout=IO_TIMEOUT)
    check_eq(s.recv(16), b"", "refused: not in allow")
    d.wait_line("refused [::1]")
    check_match(r"not in \[pigpio\] allow", d.stderr())


# ---- the real clients ----

def need_clients(*what):
    """Skip unless Debian's pigpio clients are installed."""
    if "pigs" in what and shutil.which("pigs") is None:
        raise Skip("no pigs (Debian's pigpio-tools is not installed)")
    for module in [w for w in what if w != "pigs"]:
        if not os.access(PYTHON, os.X_OK) or subprocess.run(
                [PYTHON, "-c", "import " + module],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode != 0:
            raise Skip("no Python module %s (Debian's python3-%s is not "
                       "installed)" % (module, module))


def pigs(d, *args):
    env = dict(os.environ, PIGPIO_ADDR="127.0.0.1",
               PIGPIO_PORT=str(pigpio_port(d)))
    p = subprocess.run(["pigs"] + [str(a) for a in args], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=CLIENT_TIMEOUT)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode().strip()


def pigs_ok(d, *args):
    rc, out, err = pigs(d, *args)
    check_eq((rc, err), (0, ""), "pigs %s" % " ".join(map(str, args)))
    return out


def pigs_err(d, want, text, *args):
    rc, out, err = pigs(d, *args)
    check(rc != 0, "pigs %s exited 0" % " ".join(map(str, args)))
    check_eq(out, str(want), "pigs %s" % " ".join(map(str, args)))
    check(text in err, "pigs %s: %r not in %r" % (
        " ".join(map(str, args)), text, err))


def test_pigs(t):
    need_clients("pigs")
    d = start_pigpio(t, extra="pins = 4 5 6 12 17 18\n")
    c = d.connect()
    check_eq(pigs_ok(d, "hwver"), str(0xa02082), "hwver")
    check_eq(pigs_ok(d, "pigpv"), "79", "pigpv")
    check_match(r"^\d+$", pigs_ok(d, "t"), "tick")
    pigs_ok(d, "m", 17, "w")
    pigs_ok(d, "w", 17, 1)
    check_eq(pigs_ok(d, "r", 17), "1", "r 17")
    check_eq(pigs_ok(d, "mg", 17), "1", "mg 17: output")
    check_match(r"direction=out value=1", c.request("gpio info 17"))
    pigs_ok(d, "m", 4, "r")
    pigs_ok(d, "pud", 4, "u")
    check_eq(pigs_ok(d, "r", 4), "1", "pulled up")
    pigs_ok(d, "pud", 4, "d")
    check_eq(pigs_ok(d, "r", 4), "0", "pulled down")
    check_eq(pigs_ok(d, "mg", 4), "0", "mg 4: input")
    # Software PWM through the gpio plugin.
    pigs_ok(d, "p", 18, 64)
    check_eq(pigs_ok(d, "gdc", 18), "64", "gdc")
    check_eq(pigs_ok(d, "pfg", 18), "800", "default frequency")
    check_eq(pigs_ok(d, "prg", 18), "255", "default range")
    check_eq(pigs_ok(d, "prs", 18, 1000), "250", "prs: the real range")
    check_eq(pigs_ok(d, "gdc", 18), "250", "duty scaled to the new range")
    check_eq(pigs_ok(d, "pfs", 18, 90), "100", "pfs: the nearest frequency")
    check_eq(pigs_ok(d, "prrg", 18), "2000", "real range at 100 Hz")
    check_eq(c.request("gpio pwm 18"), "OK hz=100 duty=25", "text side")
    pigs_ok(d, "s", 12, 1500)
    check_eq(pigs_ok(d, "gpw", 12), "1500", "gpw")
    check_eq(c.request("gpio pwm 12"), "OK hz=50 duty=7.5", "servo")
    pigs_ok(d, "s", 12, 0)
    pigs_err(d, -93, "not in use for servo", "gpw", 12)
    pigs_ok(d, "w", 18, 0)
    pigs_err(d, -92, "not in use for PWM", "gdc", 18)
    check_eq(c.request("gpio pwm 18"), "OK off", "write ended PWM")
    # Banks.
    pigs_ok(d, "bs1", hex((1 << 5) | (1 << 6)))
    check_eq(c.request("gpio read 5"), "OK 1", "bs1")
    pigs_ok(d, "bc1", hex(1 << 5))
    check_eq(c.request("gpio read 5"), "OK 0", "bc1")
    check_eq(int(pigs_ok(d, "br1"), 16), (1 << 6) | (1 << 17), "br1")
    pigs_ok(d, "fg", 4, 1000)
    check_eq(pigs_ok(d, "br2"), "00000000", "br2: no line of 32-53 held")
    # SPI and I2C handles.
    h = pigs_ok(d, "spio", 0, 1000000, 0)
    check_eq(pigs_ok(d, "spix", h, 1, 0x80, 0), "3 1 128 0", "spix")
    pigs_ok(d, "spic", h)
    pigs_err(d, -25, "unknown handle", "spic", h)
    h = pigs_ok(d, "i2co", 1, 0x48, 0)
    pigs_ok(d, "i2cwb", h, 0x10, 0xa5)
    check_eq(pigs_ok(d, "i2crb", h, 0x10), str(0xa5), "i2crb")
    pigs_ok(d, "i2cc", h)
    pigs_err(d, -95, "no hardware PWM", "hp", 17, 1000, 500000)
    # Errors, as pigs prints them.
    pigs_err(d, -3, "GPIO not 0-53", "w", 60, 1)
    pigs_err(d, -2, "GPIO not 0-31", "p", 40, 1)
    pigs_err(d, -8, "dutycycle not 0-range", "p", 18, 1001)
    pigs_err(d, -7, "pulsewidth not 0 or 500-2500", "s", 12, 3000)
    pigs_err(d, -41, "no permission", "w", 22, 1)
    pigs_err(d, -88, "unknown command", "wvclr")
    check_eq(c.request("PING"), "OK PONG", "text side serves on")


def run_client(d, script, timeout=None):
    """Run script with Debian's python3; argv: pigpio port, text port."""
    p = subprocess.run([PYTHON, "-c", script, str(pigpio_port(d)),
                        str(d.port())], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE,
                       timeout=timeout or CLIENT_TIMEOUT)
    out = p.stdout.decode()
    check(p.returncode == 0, "client exited %d:\n%s%s" % (
        p.returncode, out, p.stderr.decode()[-3000:]))
    return dict(line.split(" ", 1) for line in out.splitlines()
                if " " in line)


TEXT = '''
import socket, sys, time
text = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
tf = text.makefile("rw")
def say(line):
    tf.write(line + "\\n"); tf.flush()
    return tf.readline().strip()
def wait(pred, what):
    end = time.time() + 20
    while not pred():
        if time.time() > end:
            raise SystemExit("timed out waiting for " + what)
        time.sleep(0.01)
'''


def test_pigpio_module(t):
    need_clients("pigpio")
    d = start_pigpio(t)
    got = run_client(d, TEXT + '''
import pigpio
pi = pigpio.pi("127.0.0.1", int(sys.argv[1]))
print("connected", pi.connected)
print("rev %x" % pi.get_hardware_revision())
pi.set_mode(17, pigpio.OUTPUT)
pi.write(17, 1)
print("read17", pi.read(17), say("gpio read 17"))
pi.set_mode(4, pigpio.INPUT)
pi.set_pull_up_down(4, pigpio.PUD_UP)
print("read4", pi.read(4))
pi.set_PWM_dutycycle(18, 128)
print("duty", pi.get_PWM_dutycycle(18), pi.get_PWM_frequency(18),
      say("gpio pwm 18"))
events = []
cb = pi.callback(4, pigpio.EITHER_EDGE,
                 lambda g, l, tick: events.append((g, l, tick)))
for v in (0, 1, 0):
    say("gpio sim-set 4 %d" % v)
wait(lambda: len(events) >= 4, "4 callbacks")
print("events", " ".join("%d:%d:%d" % e for e in events))
cb.cancel()
try:
    pi.write(60, 1)
except pigpio.error as e:
    print("error", e)
pi.stop()
''')
    check_eq(got["connected"], "True", "connected")
    check_eq(got["rev"], "a02082", "revision")
    check_eq(got["read17"], "1 OK 1", "write, read back on both sides")
    check_eq(got["read4"], "1", "pulled-up input")
    check_eq(got["duty"], "128 800 OK hz=800 duty=50.1961", "PWM")
    edges = [tuple(map(int, e.split(":"))) for e in got["events"].split()]
    # pigpio.py learnt line 4's level (0) before the pull-up raised it:
    # the first callback says it is 1 now, then come the edges.
    check_eq([(g, lvl) for g, lvl, _ in edges],
             [(4, 1), (4, 0), (4, 1), (4, 0)], "callbacks of line 4")
    for (_, _, a), (_, _, b) in zip(edges, edges[1:]):
        check(0 < (b - a) % (1 << 32) < 10000000, "ticks %d then %d"
              % (a, b))
    check_eq(got["error"], "'GPIO not 0-53'", "error text")


def test_gpiozero(t):
    need_clients("pigpio", "gpiozero")
    d = start_pigpio(t)
    got = run_client(d, TEXT + '''
import threading
from gpiozero import LED, PWMLED, Button, Device
from gpiozero.pins.pigpio import PiGPIOFactory
f = PiGPIOFactory(host="127.0.0.1", port=int(sys.argv[1]))
Device.pin_factory = f
info = getattr(f, "board_info", None) or f.pi_info   # gpiozero 2 or 1.6
print("board", info.revision, info.model)
led = LED(17)
led.on()
on = say("gpio read 17")
led.off()
print("led", on, say("gpio read 17"))
led.blink(on_time=0.02, off_time=0.02, n=3, background=False)
print("blinked", say("gpio read 17"))
pwm = PWMLED(18)
pwm.value = 0.5
print("pwmled", pwm.value, say("gpio pwm 18"))
pwm.off()
btn = Button(4)
pressed, released = threading.Event(), threading.Event()
btn.when_pressed = pressed.set
btn.when_released = released.set
say("gpio sim-set 4 0")
wait(pressed.is_set, "when_pressed")
print("pressed", btn.is_pressed)
say("gpio sim-set 4 1")
wait(released.is_set, "when_released")
print("released", btn.is_pressed)
btn.close(); pwm.close(); led.close()
f.close()
print("closed yes")
''')
    check_eq(got["board"], "a02082 3B", "board_info from HWVER")
    check_eq(got["led"], "OK 1 OK 0", "LED on, off")
    check_eq(got["blinked"], "OK 0", "blinked, then off")
    check_eq(got["pwmled"], "0.5 OK hz=100 duty=50", "PWMLED")
    check_eq(got["pressed"], "True", "when_pressed fired")
    check_eq(got["released"], "False", "when_released fired")
    check_eq(got["closed"], "yes", "closed")
    c = d.connect()
    wait_until(lambda: c.stats()["subscriptions"] == 0,
               what="the notification stream to go")


def test_clients_beside_a_busy_text_client(t):
    need_clients("pigpio")
    d = start_pigpio(t)
    c = d.connect()
    stop = threading.Event()
    bad = []

    def hammer():
        n = 0
        while not stop.is_set():
            lines = ["gpio write %d %d" % (20 + i % 4, n % 2)
                     for i in range(16)]
            c.send_lines(lines)
            for line in lines:
                r = c.reply()
                if r != "OK":
                    bad.append((line, r))
            n += 1

    th = threading.Thread(target=hammer, daemon=True)
    th.start()
    try:
        got = run_client(d, '''
import pigpio, sys
pi = pigpio.pi("127.0.0.1", int(sys.argv[1]))
wrong = 0
for i in range(300):
    pi.write(17, i % 2)
    if pi.read(17) != i % 2:
        wrong += 1
print("wrong", wrong)
pi.stop()
''')
    finally:
        stop.set()
        th.join(IO_TIMEOUT)
    check_eq(got["wrong"], "0", "reads that did not match the write")
    check_eq(bad, [], "text replies")


def test_buses_through_pigpio(t):
    need_clients("pigpio")
    d = start_pigpio(t)
    got = run_client(d, '''
import pigpio, sys
pi = pigpio.pi("127.0.0.1", int(sys.argv[1]))
h = pi.i2c_open(1, 0x48)
pi.i2c_write_byte_data(h, 0x10, 0xa5)
print("i2c_rb", pi.i2c_read_byte_data(h, 0x10))
pi.i2c_write_device(h, bytes([0x10]))
n, data = pi.i2c_read_device(h, 1)
print("i2c_rd", n, data.hex())
pi.i2c_close(h)
try:
    pi.i2c_open(7, 0x48)
except pigpio.error as e:
    print("i2c_bad", e)
s = pi.spi_open(0, 1000000)
n, data = pi.spi_xfer(s, b"\\x01\\x80\\x00")
print("spi", n, data.hex())
pi.spi_close(s)
try:
    pi.spi_open(1, 1000000)
except pigpio.error as e:
    print("spi_bad", e)
pi.stop()
''')
    check_eq(got["i2c_rb"], str(0xa5), "i2c read byte data")
    check_eq(got["i2c_rd"], "1 a5", "i2c read device")
    check_eq(got["i2c_bad"], "\"can't open I2C device\"", "no bus 7")
    check_eq(got["spi"], "3 018000", "spi loopback")
    check_eq(got["spi_bad"], "\"can't open SPI device\"", "no 0.1")
