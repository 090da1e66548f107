"""The gpio plugin in the real daemon, on its simulated chip, over a socket."""

import os
import time

from harness import SLOW, check, check_eq, check_match, elapsed_since
from test_config import start_fails


def start_gpio(t, gpio="backend = sim\n", server=None):
    """A daemon with diag and gpio loaded and [gpio] set to the text."""
    return t.start(plugins={"load": "diag gpio"}, server=server,
                   extra="[gpio]\n" + gpio)


def test_commands_over_a_socket(t):
    c = start_gpio(t).connect()
    check_eq(c.request("gpio write 17 1"), "OK", "write")
    check_eq(c.request("gpio read GPIO17"), "OK 1", "read back")
    check_eq(c.request("gpio mode 4 in pull-up"), "OK", "mode")
    check_eq(c.request("gpio read 4"), "OK 1", "pulled-up input")
    check_eq(c.request("gpio sim-set 4 0"), "OK", "sim-set")
    check_eq(c.request("gpio read 4"), "OK 0", "driven input")
    check_eq(c.request("gpio info 17"), "OK offset=17 name=GPIO17 "
             "direction=out value=1 bias=unknown used=yes consumer=picmd "
             "edges=1", "info")
    items = c.request("gpio list")[3:].split(" ")
    check_eq(len(items), 54, "list items")
    check_eq(items[17], "17:GPIO17:out:1", "list item 17")
    check_eq(items[4], "4:GPIO4:in:0", "list item 4")
    check_eq(items[5], "5:GPIO5:in:-", "list item 5")
    check_eq(c.request("gpio chip"), "OK backend=sim name=sim "
             "label=picmd-sim lines=54", "chip")
    check_eq(c.request("HELP gpio pulse"),
             "OK gpio pulse <line> <ms> [0|1]", "HELP")
    help_all = c.request("HELP")
    for name in ("gpio.read", "gpio.write", "gpio.mode", "gpio.pulse",
                 "gpio.list", "gpio.info", "gpio.release", "gpio.sim-set"):
        check(name in help_all.split(" "), "%s missing from %r"
              % (name, help_all))


def test_errors_over_a_socket(t):
    c = start_gpio(t).connect()
    check_eq(c.request("gpio read 54"), "ERR DEVICE line 54: out of range: "
             "sim has lines 0 to 53", "out of range")
    check_match(r"^ERR ARGS unknown line 'nope'", c.request("gpio read nope"))
    check_eq(c.request("gpio write 17 high"),
             "ERR ARGS level must be 0 or 1, not 'high'", "bad level")
    check_eq(c.request("gpio write 17"),
             "ERR ARGS usage: gpio write <line> 0|1 [lease]", "usage")
    check_eq(c.request("gpio sim-set 8 busy"), "OK", "another program")
    check_eq(c.request("gpio write 8 1"), "ERR DEVICE line 8: Device or "
             "resource busy (in use by other-program)", "busy line")
    # The daemon is still fine.
    check_eq(c.request("PING"), "OK PONG", "PING")


def test_pulse_serialises_one_line_only(t):
    c = start_gpio(t).connect()
    check_eq(c.request("gpio write 17 0"), "OK", "write")
    # Longer under an emulator or valgrind, so the bounds below stay
    # well apart from the pulse however slow the run.
    pulse = 0.6 * SLOW
    start = time.monotonic()
    c.send_lines(["#p gpio pulse 17 %d" % (pulse * 1000),
                  "#same gpio read 17", "#other gpio read 18"])
    # The three run on different workers; "#same" may take line 17 before
    # or after the pulse does, but never during it: a read in the middle
    # would see the pulse's 1.  Line 18 never waits for line 17.
    replies = {}
    for _ in range(3):
        line = c.reply()
        replies[line.split(" ", 1)[0]] = (line, elapsed_since(start))
    check_eq(sorted(r[0] for r in replies.values()),
             ["#other OK 0", "#p OK", "#same OK 0"], "the three replies")
    check(replies["#other"][1] < 0.75 * pulse,
          "line 18 waited for line 17's pulse")
    if replies["#same"][1] > replies["#p"][1]:
        check(replies["#same"][1] >= 0.9 * pulse,
              "the read after the pulse did not wait for it")


def test_pulse_longer_than_the_command_timeout(t):
    c = start_gpio(t, server={"command_timeout_ms": "500"}).connect()
    check_match(r"^ERR ARGS a 1000 ms pulse does not fit in the \d+ ms left",
                c.request("gpio pulse 17 1000"))
    check_eq(c.request("gpio pulse 17 100"), "OK", "a pulse that fits")


def test_no_chip_falls_back_to_the_sim(t):
    empty = t.path("dev")
    os.mkdir(empty)
    d = start_gpio(t, gpio="backend = chip\ndev_root = %s\n" % empty)
    d.wait_line("warn: gpio: no GPIO chip in %s; using the simulated chip"
                % empty)
    c = d.connect()
    check_eq(c.request("gpio chip"), "OK backend=sim name=sim "
             "label=picmd-sim lines=54", "chip")
    check_eq(c.request("gpio sim-set 3 1"), "OK", "sim-set exists")


def test_config_errors_stop_the_daemon(t):
    empty = t.path("dev")
    os.mkdir(empty)
    text = t.config_text(plugins={"load": "gpio"},
                         extra="[gpio]\nchip = gpiochip7\ndev_root = %s\n"
                         % empty)
    start_fails(t, text, "{path}:{line:gpiochip7}: [gpio] no GPIO chip "
                "gpiochip7 (found: none)")
    text = t.config_text(plugins={"load": "gpio"},
                         extra="[gpio]\nbackend = sim\npins = 40\n")
    start_fails(t, text, "{path}:{line:pins}: [gpio] unknown key 'pins'")
    text = t.config_text(plugins={"load": "gpio"},
                         extra="[gpio]\nbackend = magic\n")
    start_fails(t, text, "{path}:{line:magic}: [gpio] backend must be chip "
                "or sim, not 'magic'")
