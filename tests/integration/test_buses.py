"""The i2c and spi plugins in the real daemon, over sockets: each bus
through its simulated backend, one client's I2C transaction never cut by
another's, [i2c] allow and scan's admin flag against the connection's
rights (TCP, AUTH with the admin token, the trusted Unix socket), the
daemon serving on after every kind of bad input, and a machine without
any bus, where the plugins load and say so."""

import os
import threading

from harness import check, check_eq, check_match
from test_config import start_fails

ADMIN = "admin-token-4567"
SIM = "[i2c]\nbackend = sim\n[spi]\nbackend = sim\n"


def start_buses(t, extra=SIM, server=None):
    """diag, i2c and spi on loopback TCP and a Unix socket."""
    srv = {"listen": "127.0.0.1:0, unix:" + t.path("picmd.sock")}
    srv.update(server or {})
    return t.start(plugins={"load": "diag i2c spi"}, server=srv,
                   extra=extra)


def test_i2c_over_a_socket(t):
    c = start_buses(t).connect()
    check_eq(c.request("i2c buses"), "OK 1:picmd-sim", "buses")
    check_eq(c.request("i2c writereg 1 0x48 0x10 a5"), "OK", "writereg")
    check_eq(c.request("i2c readreg 1 0x48 0x10"), "OK a5", "readreg")
    check_eq(c.request("i2c writereg 1 0x48 0x20 0x01 0203 04"), "OK",
             "writereg of four bytes")
    check_eq(c.request("i2c readreg 1 0x48 0x20 4"), "OK 01 02 03 04",
             "readreg of four")
    # A plain read goes on from the register pointer.
    check_eq(c.request("i2c write 1 0x48 21"), "OK", "pointer to 0x21")
    check_eq(c.request("i2c read 1 72 3"), "OK 02 03 04", "read")
    check_eq(c.request("i2c read 1 0x49 1"), "ERR DEVICE i2c-1 0x49: no "
             "acknowledgement (Remote I/O error)", "no device at 0x49")
    check_eq(c.request("i2c read 7 0x48 1"), "ERR DEVICE i2c-7: no such "
             "bus", "no bus 7")
    check_eq(c.request("HELP i2c readreg"),
             "OK i2c readreg <bus> <addr> <reg> [n]", "HELP")
    help_all = c.request("HELP").split(" ")
    for name in ("i2c.buses", "i2c.scan", "i2c.read", "i2c.readreg",
                 "i2c.write", "i2c.writereg", "spi.xfer", "spi.devices"):
        check(name in help_all, "%s missing from HELP" % name)


def test_spi_over_a_socket(t):
    d = start_buses(t, extra=SIM + "speed_hz = 1000000\nmode.0.0 = 3\n")
    c = d.connect()
    check_eq(c.request("spi devices"), "OK 0.0", "devices")
    check_eq(c.request("spi xfer 0.0 a5 0x5a ff00"), "OK a5 5a ff 00",
             "loopback")
    check_eq(c.request("spi sim-last"), "OK 0.0 speed_hz=1000000 mode=3",
             "the configured speed and the device's mode")
    check_eq(c.request("spi xfer 0.0 speed=20000 mode=0 01"), "OK 01",
             "with options")
    check_eq(c.request("spi sim-last"), "OK 0.0 speed_hz=20000 mode=0",
             "the request's")
    check_eq(c.request("spi xfer 0.1 00"), "ERR DEVICE spidev0.1: no such "
             "device", "no 0.1")
    # 2000 bytes fit the default 4096-byte line as one word...
    data = "".join("%02x" % (i & 0xff) for i in range(2000))
    reply = c.request("spi xfer 0.0 " + data)
    check_eq(reply, "OK " + " ".join(data[i:i + 2]
                                     for i in range(0, len(data), 2)),
             "2000 bytes back")


def test_spi_4096_bytes_with_a_longer_line(t):
    # ...4096 need [server] max_line raised: 8192 hex digits.
    d = start_buses(t, server={"max_line": "9000"})
    c = d.connect()
    data = bytes((i * 7) & 0xff for i in range(4096)).hex()
    reply = c.request("spi xfer 0.0 " + data)
    check_eq(reply.replace(" ", ""), "OK" + data, "4096 bytes back")
    check_eq(c.request("spi xfer 0.0 " + data + "00"),
             "ERR ARGS too many bytes: at most 4096", "4097 bytes")


def test_bad_input_keeps_the_daemon_serving(t):
    c = start_buses(t).connect()
    for line, want in (
            ("i2c read 1 0x02 1", "ERR ARGS bad address '0x02': 7-bit "
             "addresses are 0x03 to 0x77 (hex as 0x48, or decimal)"),
            ("i2c read 1 0x78 1", "ERR ARGS bad address '0x78': 7-bit "
             "addresses are 0x03 to 0x77 (hex as 0x48, or decimal)"),
            ("i2c read 1 0x48 256", "ERR ARGS bad count '256': read 1 to "
             "255 bytes"),
            ("i2c read 1 0x48 0", "ERR ARGS bad count '0': read 1 to 255 "
             "bytes"),
            ("i2c readreg 1 0x48 0x100", "ERR ARGS bad register '0x100': "
             "registers are 0x00 to 0xff (hex as 0x10, or decimal)"),
            ("i2c write 1 0x48 xyz", "ERR ARGS bad bytes 'xyz': 'x' is not "
             "a hex digit"),
            ("i2c write 1 0x48 abc", "ERR ARGS bad bytes 'abc': an odd "
             "number of hex digits (two per byte: 0a, not a)"),
            ("i2c read one 0x48 1", "ERR ARGS bad bus 'one': give its "
             "number, 0 to 65535 (i2c buses lists them)"),
            ("i2c read 1 0x48", "ERR ARGS usage: i2c read <bus> <addr> <n>"),
            ("spi xfer 0.0 mode=7 00", "ERR ARGS bad 'mode=7': mode= once, "
             "0 to 3"),
            ("spi xfer zero 00", "ERR ARGS bad device 'zero': give "
             "<bus>.<cs> such as 0.0 (spi devices lists them)"),
            ("spi xfer 0.0 a5 speed=1", "ERR ARGS 'speed=1' after the "
             "bytes: speed= and mode= go before them"),
            ("spi xfer 0.0", "ERR ARGS usage: spi xfer <bus>.<cs> "
             "[speed=HZ] [mode=0-3] <hex bytes...>")):
        check_eq(c.request(line), want, line)
    check_eq(c.request("PING"), "OK PONG", "PING after it all")
    # None of it wrote anything.
    check_eq(c.request("i2c readreg 1 0x48 0 4"), "OK 00 00 00 00",
             "registers untouched")


def test_i2c_transactions_never_interleave(t):
    """Four clients write their own 16 registers and read them back with
    register reads, pipelined, over and over, on the one bus: each read
    sets the device's single register pointer, then reads.  Were another
    client's transfer to run in between, a read would come back with that
    client's registers."""
    d = start_buses(t, server={"workers": "4"})
    nclients, rounds = 4, 60
    problems = []

    def hammer(k):
        c = d.connect()
        reg = 0x20 * k
        for r in range(rounds):
            data = bytes((reg + r * 5 + i) & 0xff for i in range(16))
            lines = ["i2c writereg 1 0x48 0x%02x %s" % (reg, data.hex()),
                     "i2c readreg 1 0x48 0x%02x 16" % reg,
                     "i2c read 1 0x48 5"]
            c.send_lines(lines)
            replies = c.read_lines(len(lines))
            want = ["OK", "OK " + " ".join("%02x" % b for b in data)]
            if replies[:2] != want or not replies[2].startswith("OK "):
                problems.append("client %d round %d: %r" % (k, r, replies))
                return

    threads = [threading.Thread(target=hammer, args=(k,))
               for k in range(nclients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
        check(not th.is_alive(), "a client never finished")
    check(not problems, "interleaved: " + "; ".join(problems[:3]))
    check_eq(d.connect().request("PING"), "OK PONG", "PING")


def test_allow_and_scan_follow_the_connection_rights(t):
    extra = ("[security]\nadmin_token = %s\n" % ADMIN + SIM.replace(
        "[spi]", "allow = 1:0x48 1:0x50\n[spi]"))
    d = start_buses(t, extra=extra)
    tcp = d.connect("tcp4")
    # A client without admin rights: only the pairs of [i2c] allow...
    check_eq(tcp.request("i2c writereg 1 0x48 0x10 a5"), "OK", "allowed")
    check_eq(tcp.request("i2c readreg 1 0x48 0x10"), "OK a5", "allowed")
    check_eq(tcp.request("i2c read 1 0x50 1"), "ERR DEVICE i2c-1 0x50: no "
             "acknowledgement (Remote I/O error)", "allowed, no device")
    check_eq(tcp.request("i2c read 1 0x49 1"), "ERR DENIED i2c-1 0x49: not "
             "in [i2c] allow (only an admin may use it)", "not allowed")
    # ...and no scan: it is an admin command.
    check_eq(tcp.request("i2c scan 1"), "ERR DENIED admin command: AUTH "
             "with the admin token first", "scan")
    check_eq(tcp.request("i2c buses"), "OK 1:picmd-sim", "buses")
    # The admin token lifts both.
    check_eq(tcp.request("AUTH " + ADMIN), "OK", "AUTH")
    check_eq(tcp.request("i2c read 1 0x49 1"), "ERR DEVICE i2c-1 0x49: no "
             "acknowledgement (Remote I/O error)", "admin: 0x49")
    check_eq(tcp.request("i2c scan 1"), "OK 0x48", "admin: scan")
    # The Unix socket is trusted like the administrator.
    unix = d.connect("unix")
    check_eq(unix.request("i2c readreg 1 0x49 0"), "ERR DEVICE i2c-1 0x49: "
             "no acknowledgement (Remote I/O error)", "unix: 0x49")
    check_eq(unix.request("i2c scan i2c-1"), "OK 0x48", "unix: scan")
    # Another TCP client without AUTH is bound again.
    other = d.connect("tcp4")
    check_eq(other.request("i2c write 1 0x03 00"), "ERR DENIED i2c-1 0x03: "
             "not in [i2c] allow (only an admin may use it)", "2nd client")


def test_scan_opened_to_everybody(t):
    d = start_buses(t, extra=SIM.replace("[spi]",
                                         "scan_admin = false\n[spi]"))
    check_eq(d.connect("tcp4").request("i2c scan 1"), "OK 0x48",
             "scan without admin rights")


def test_no_bus_at_all(t):
    """backend = dev on a machine without I2C or SPI: the plugins load,
    warn, and answer each command with what is missing."""
    dev = t.path("dev")
    sysfs = t.path("sysfs")
    os.mkdir(dev)
    os.mkdir(sysfs)
    extra = ("[system]\nsysfs_root = %s\n[i2c]\ndev_root = %s\n"
             "[spi]\ndev_root = %s\n" % (sysfs, dev, dev))
    d = start_buses(t, extra=extra)
    d.wait_line("warn: i2c: no I2C bus in %s (i2c-N): turn I2C on "
                "(dtparam=i2c_arm=on in config.txt)" % dev)
    d.wait_line("warn: spi: no SPI device in %s (spidevB.C): turn SPI on "
                "(dtparam=spi=on in config.txt)" % dev)
    c = d.connect()
    check_eq(c.request("i2c buses"), "OK", "no bus")
    check_eq(c.request("i2c readreg 1 0x48 0x10"), "ERR DEVICE i2c-1: no "
             "such bus", "readreg")
    check_eq(c.request("spi devices"), "OK", "no device")
    check_eq(c.request("spi xfer 0.0 00"), "ERR DEVICE spidev0.0: no such "
             "device", "xfer")
    # No simulated stand-in appeared.
    check_match(r"^ERR UNKNOWN", c.request("spi sim-last"), "sim-last")
    # picmdd -t agrees: nothing wrong with the configuration.
    rc, out, err = t.run_picmdd("-t", "-c", d.config)
    check_eq(rc, 0, "picmdd -t (stderr %r)" % err)
    check_match(r"configuration OK \(3 plugins", out, "picmdd -t")


def test_config_errors_stop_the_daemon(t):
    text = t.config_text(plugins={"load": "i2c"},
                         extra="[i2c]\nbackend = magic\n")
    start_fails(t, text, "{path}:{line:magic}: [i2c] backend must be dev "
                "or sim, not 'magic'")
    text = t.config_text(plugins={"load": "i2c"},
                         extra="[i2c]\nbackend = sim\nallow = 1:0x99\n")
    start_fails(t, text, "{path}:{line:allow}: [i2c] bad item '1:0x99': "
                "give bus:address pairs such as 1:0x48")
    text = t.config_text(plugins={"load": "spi"},
                         extra="[spi]\nbackend = sim\nmode = 5\n")
    start_fails(t, text, "{path}:{line:mode =}: [spi] mode must be 0, 1, 2 "
                "or 3, not '5'")
