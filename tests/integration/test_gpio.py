"""The gpio plugin in the real daemon, on its simulated chip, over a socket."""

import os
import time

from harness import (SLOW, check, check_eq, check_match, elapsed_since,
                     wait_until)
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
                 "gpio.list", "gpio.info", "gpio.release", "gpio.sim-set",
                 "gpio.pwm", "gpio.levels", "gpio.pull"):
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


def all_ok(c, *lines):
    """Each request answered a plain OK."""
    for line in lines:
        check_eq(c.request(line), "OK", line)


def sample_reads(c, line, seconds):
    """The set of levels gpio read saw on line over about seconds."""
    seen = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reply = c.request("gpio read %s" % line)
        check(reply in ("OK 0", "OK 1"), "read: %r" % reply)
        seen.add(int(reply[3:]))
    return seen


def test_software_pwm(t):
    c = start_gpio(t).connect()
    check_eq(c.request("gpio pwm 17"), "OK off", "query before any PWM")
    check_eq(c.request("gpio pwm 17 50 50"), "OK", "50 Hz, 50 %")
    check_eq(c.request("gpio pwm 17"), "OK hz=50 duty=50", "query")
    # 10 ms high, 10 ms low: reads over 2 s see both, however loaded
    # the machine (a read takes far less than the run's 2 s).
    deadline = time.monotonic() + 2.0 * SLOW
    seen = set()
    while seen != {0, 1} and time.monotonic() < deadline:
        seen |= sample_reads(c, 17, 0.05)
    check_eq(seen, {0, 1}, "levels read while the PWM runs")
    check_match(r"^OK offset=17 name=GPIO17 direction=out ",
                c.request("gpio info 17"))

    # Changed in place; the shortest spelling comes back.
    for args, query in (("800 7.50", "hz=800 duty=7.5"),
                        ("0.5 33.3333", "hz=0.5 duty=33.3333")):
        check_eq(c.request("gpio pwm 17 " + args), "OK", args)
        check_eq(c.request("gpio pwm 17"), "OK " + query, "query")

    # 0 and 100 are steady levels, without a single edge.
    check_eq(c.request("gpio pwm 17 1000 0"), "OK", "duty 0")
    check_eq(sample_reads(c, 17, 0.3), {0}, "duty 0 reads")
    check_eq(c.request("gpio pwm 17 1000 100"), "OK", "duty 100")
    edges = c.request("gpio info 17").rsplit("edges=", 1)[1]
    check_eq(sample_reads(c, 17, 0.3), {1}, "duty 100 reads")
    check_eq(c.request("gpio info 17").rsplit("edges=", 1)[1], edges,
             "edges while at duty 100")
    check_eq(c.request("gpio pwm 17"), "OK hz=1000 duty=100", "query")

    check_eq(c.request("gpio pwm 17 off"), "OK", "off")
    check_eq(c.request("gpio pwm 17"), "OK off", "query after off")
    check_eq(sample_reads(c, 17, 0.3), {0}, "off leaves the line low")
    check_match(r"^OK .*direction=out value=0 ", c.request("gpio info 17"))
    check_eq(c.request("gpio pwm 17 off"), "OK", "off when not running")
    check_eq(c.request("gpio pwm 5 off"), "OK", "off on a line never used")
    check_match(r"^OK offset=5 name=GPIO5 direction=in value=- "
                r"bias=unknown used=no ", c.request("gpio info 5"))


def test_a_write_ends_the_pwm(t):
    c = start_gpio(t).connect()
    check_eq(c.request("gpio pwm 17 200 50"), "OK", "pwm")
    check_eq(c.request("gpio write 17 1"), "OK", "write")
    check_eq(c.request("gpio pwm 17"), "OK off", "query after the write")
    check_eq(sample_reads(c, 17, 0.3), {1}, "the written level stays")
    # mode, release and pulse end it too.
    for line, ender in ((18, "gpio mode 18 in"), (19, "gpio release 19"),
                        (20, "gpio pulse 20 20")):
        check_eq(c.request("gpio pwm %d 200 50" % line), "OK", "pwm")
        check_eq(c.request(ender), "OK", ender)
        check_eq(c.request("gpio pwm %d" % line), "OK off", "after " + ender)
    check_eq(sample_reads(c, 20, 0.1), {0}, "the pulse restored the low")
    check_eq(c.request("gpio levels"), "OK 17:1 18:0 20:0", "held lines")


def test_a_lost_lease_ends_the_pwm(t):
    d = start_gpio(t, gpio="backend = sim\nsafe.17 = 1\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("LEASE %d" % int(5000 * SLOW)), "OK", "LEASE")
    check_eq(holder.request("gpio write 17 0 lease"), "OK", "bound")
    check_eq(holder.request("gpio pwm 17 100 50"), "OK", "pwm keeps the lease")
    holder.close()
    wait_until(lambda: watcher.request("gpio pwm 17") == "OK off",
               what="the PWM ended by the lost lease")
    check_eq(sample_reads(watcher, 17, 0.3), {1}, "at its safe level")


def test_pwm_errors(t):
    c = start_gpio(t).connect()
    for hz in ("0", "0.05", "10000.0001", "20000", "-5", "1e3", "5.",
               "50.12345", "fast"):
        check_eq(c.request("gpio pwm 17 %s 50" % hz),
                 "ERR ARGS frequency must be 0.1 to 10000 Hz with up to 4 "
                 "decimals, not '%s'" % hz, "hz %s" % hz)
    for duty in ("101", "100.0001", "-1", "7.55555", "half"):
        check_eq(c.request("gpio pwm 17 50 %s" % duty),
                 "ERR ARGS duty must be 0 to 100 (percent) with up to 4 "
                 "decimals, not '%s'" % duty, "duty %s" % duty)
    check_eq(c.request("gpio pwm 17 50"),
             "ERR ARGS usage: gpio pwm <line> [<hz> <duty>|off]", "usage")
    check_eq(c.request("gpio pwm 17"), "OK off", "nothing was started")
    check_eq(c.request("gpio pwm 10 0.1 0"), "OK", "the lowest limits")
    check_eq(c.request("gpio pwm 11 10000 100"), "OK", "the highest")
    check_eq(c.request("gpio watch 4 both"), "OK 0", "watch")
    check_eq(c.request("gpio pwm 4 50 50"),
             "ERR BUSY line 4 is watched for edges: gpio unwatch 4 first",
             "pwm on a watched line")
    check_eq(c.request("gpio pwm 4"), "OK off", "not started")
    check_eq(c.request("gpio pwm 10 50 50"), "OK", "pwm 10")
    check_match(r"^ERR BUSY line 10 is an output of picmd",
                c.request("gpio watch 10 both"))
    check_eq(c.request("gpio pwm 10"), "OK hz=50 duty=50",
             "a refused watch leaves the PWM running")


def test_levels_of_held_lines_only(t):
    c = start_gpio(t).connect()
    check_eq(c.request("gpio levels"), "OK", "nothing held")
    check_eq(c.request("gpio read 6"), "OK 0", "a read borrows a line")
    check_eq(c.request("gpio levels"), "OK", "a read does not hold it")
    all_ok(c, "gpio write 18 1", "gpio write 17 0", "gpio mode 4 in pull-up",
           "gpio pwm 22 1000 100")
    check_eq(c.request("gpio levels"), "OK 4:1 17:0 18:1 22:1", "levels")
    check_match(r"^OK offset=6 name=GPIO6 direction=in value=- "
                r"bias=unknown used=no ", c.request("gpio info 6"))
    check_eq(c.request("gpio release 18"), "OK", "release")
    check_eq(c.request("gpio levels"), "OK 4:1 17:0 22:1", "after release")


def test_pull(t):
    d = start_gpio(t)
    c = d.connect()
    all_ok(c, "gpio write 17 1", "gpio pull 17 pull-down")
    check_match(r"^OK offset=17 name=GPIO17 direction=out value=1 "
                r"bias=pull-down used=yes consumer=picmd",
                c.request("gpio info 17"))
    check_eq(c.request("gpio read 17"), "OK 1", "still driven high")
    # A line picmd does not hold becomes an input with the pull.
    all_ok(c, "gpio pull 5 up")
    check_match(r"^OK offset=5 name=GPIO5 direction=in value=1 "
                r"bias=pull-up used=yes consumer=picmd",
                c.request("gpio info 5"))
    check_eq(c.request("gpio read 5"), "OK 1", "pulled up, unconnected")
    all_ok(c, "gpio pull 5 no-pull")
    check_eq(c.request("gpio read 5"), "OK 0", "floating reads 0 here")
    check_eq(c.request("gpio pull 5 sideways"), "ERR ARGS pull must be "
             "pull-up, pull-down or no-pull, not 'sideways'", "bad pull")
    check_eq(c.request("gpio pull 5"), "ERR ARGS usage: gpio pull <line> "
             "pull-up|pull-down|no-pull", "usage")
    # A watched input stays watched, and the pull's edge is published.
    sub = d.connect()
    check_eq(sub.request("SUBSCRIBE gpio.6"), "OK", "subscribe")
    check_eq(c.request("gpio watch 6 both"), "OK 0", "watch")
    all_ok(c, "gpio pull 6 pull-up")
    check_match(r"^! gpio\.6 rising 1 ", sub.read_line(), "the pull's edge")
    all_ok(c, "gpio sim-set 6 0")
    check_match(r"^! gpio\.6 falling 0 ", sub.read_line(), "still watched")
    check_eq(c.request("gpio levels"), "OK 5:0 6:0 17:1", "levels")
    # A PWM keeps running.
    all_ok(c, "gpio pwm 23 50 50", "gpio pull 23 pull-up")
    check_eq(c.request("gpio pwm 23"), "OK hz=50 duty=50", "still running")
    check_match(r"^OK offset=23 name=GPIO23 direction=out value=[01] "
                r"bias=pull-up ", c.request("gpio info 23"))
