"""Leases and the failsafe over real sockets: LEASE, [failsafe] on_lost,
on_start and on_stop, driving the gpio plugin's simulated chip."""

import signal
import time

import harness
from harness import check, check_eq, check_match, wait_until
from test_config import expand


def start_failsafe(t, failsafe, server=None):
    return t.start(plugins={"load": "diag gpio"}, server=server,
                   extra="[gpio]\nbackend = sim\n[failsafe]\n" + failsafe)


def test_silence_loses_the_lease_and_runs_on_lost_once(t):
    d = start_failsafe(t, "on_lost = gpio write 17 0\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("gpio write 17 1"), "OK", "drive the output")
    ms = int(300 * harness.SLOW)
    check_eq(holder.request("LEASE %d" % ms), "OK", "LEASE")
    check_eq(watcher.stats()["leases"], 1, "one lease")
    # The holder falls silent: the output goes safe by itself.
    wait_until(lambda: watcher.request("gpio read 17") == "OK 0",
               what="line 17 back to 0")
    d.wait_line("lease lost (nothing read for")
    check_match(r"lease lost \(nothing read for \d+ ms\); running "
                r"\[failsafe\] on_lost", d.stderr(), "log")
    d.wait_line("failsafe on_lost: gpio write 17 0: OK")
    # Still connected, no lease: its requests are served, and nothing
    # runs again when it goes.
    st = holder.stats()
    check_eq((st["leases"], st["leases_lost_total"]), (0, 1), "after the loss")
    holder.close()
    wait_until(lambda: watcher.stats()["clients"] == 1,
               what="the holder gone")
    st = watcher.stats()
    check_eq(st["failsafe_runs_total"], 1, "on_lost ran exactly once")
    check_eq(st["leases_lost_total"], 1, "one lease lost")


def test_a_lease_kept_alive_is_not_lost(t):
    d = start_failsafe(t, "on_lost = gpio write 17 0\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("gpio write 17 1"), "OK", "drive")
    ms = int(1000 * harness.SLOW)
    check_eq(holder.request("LEASE %d" % ms), "OK", "LEASE")
    # A client that keeps talking, as picmd --lease does with PING.
    end = time.monotonic() + 2 * ms / 1000
    while time.monotonic() < end:
        check_eq(holder.request("PING"), "OK PONG", "keep-alive")
        time.sleep(ms / 5000)
    check_eq(watcher.request("gpio read 17"), "OK 1", "still driven")
    check_eq(watcher.stats()["leases_lost_total"], 0, "nothing lost")
    check_eq(holder.request("LEASE OFF"), "OK", "LEASE OFF")


def test_a_closed_connection_loses_its_lease(t):
    d = start_failsafe(t, "on_lost = gpio write 17 0; gpio write 18 0\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("gpio write 17 1"), "OK", "drive 17")
    check_eq(holder.request("gpio write 18 1"), "OK", "drive 18")
    check_eq(holder.request("LEASE 3600000"), "OK", "a long lease")
    holder.abort()
    wait_until(lambda: watcher.request("gpio read 18") == "OK 0" and
               watcher.request("gpio read 17") == "OK 0",
               what="both lines safe")
    d.wait_line("lease lost (connection closed)")
    check_eq(watcher.stats()["failsafe_runs_total"], 1, "one run")


def test_lease_off_ends_it_cleanly(t):
    d = start_failsafe(t, "on_lost = gpio write 17 0\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("gpio write 17 1"), "OK", "drive")
    check_eq(holder.request("LEASE 200"), "OK", "LEASE")
    check_eq(holder.request("LEASE OFF"), "OK", "LEASE OFF")
    check_eq(holder.request("LEASE OFF"), "OK", "again: no error")
    holder.close()
    wait_until(lambda: watcher.stats()["clients"] == 1,
               what="the holder gone")
    st = watcher.stats()
    check_eq((st["leases"], st["leases_lost_total"],
              st["failsafe_runs_total"]), (0, 0, 0), "nothing lost or run")
    check_eq(watcher.request("gpio read 17"), "OK 1", "still driven")


def test_a_failing_command_does_not_stop_the_program(t):
    d = start_failsafe(t, "on_lost = gpio write 60 0; gpio write 17 0\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("gpio write 17 1"), "OK", "drive")
    check_eq(holder.request("LEASE 100"), "OK", "LEASE")
    wait_until(lambda: watcher.request("gpio read 17") == "OK 0",
               what="line 17 safe")
    d.wait_line("failsafe on_lost: gpio write 60 0: ERR DEVICE line 60: "
                "out of range")
    d.wait_line("failsafe on_lost: gpio write 17 0: OK")


def test_on_start_runs_before_listening_and_on_stop_after_the_drain(t):
    d = start_failsafe(t, "on_start = gpio write 5 1; gpio mode 6 in "
                       "pull-up\non_stop = gpio write 5 0\n")
    c = d.connect()
    # A client connects only once on_start is done.
    check_eq(c.request("gpio read 5"), "OK 1", "on_start drove line 5")
    check_eq(c.request("gpio read 6"), "OK 1", "and pulled line 6 up")
    check_eq(c.stats()["failsafe_runs_total"], 1, "on_start counted")
    out = d.stderr()
    check(out.index("failsafe on_start: gpio write 5 1: OK") <
          out.index("listening on"), "on_start after listening:\n" + out)
    c.close()
    d.signal(signal.SIGTERM)
    check_eq(d.wait_exit(), 0, "exit status")
    d.wait_line("info: stopped")
    out = d.stderr()
    check(out.index("SIGTERM: draining") <
          out.index("failsafe on_stop: gpio write 5 0: OK") <
          out.index("info: stopped"), "on_stop not between the drain and "
          "the end:\n" + out)


def test_lease_arguments(t):
    d = start_failsafe(t, "")
    c = d.connect()
    for arg in ("99", "3600001", "-5", "1s", "on"):
        check_eq(c.request("LEASE " + arg),
                 "ERR ARGS lease must be 100 to 3600000 ms, or OFF", arg)
    check_match(r"^ERR ARGS usage: LEASE <ms>\|OFF$", c.request("LEASE"),
                "no argument")
    check_eq(c.request("LEASE 100"), "OK", "the shortest")
    check_eq(c.request("LEASE 3600000"), "OK", "the longest, in place")
    check_eq(c.stats()["leases"], 1, "still one lease")


def test_bad_programs_are_refused(t):
    base = t.config_text(plugins={"load": "diag gpio"},
                         extra="[gpio]\nbackend = sim\n[failsafe]\n")
    for line, want in (
            ("on_lost = gpio wrte 17 0",
             "{path}:{line:on_lost}: [failsafe] on_lost: unknown command "
             "'gpio' (is its plugin loaded?)"),
            ("on_stop = PING",
             "{path}:{line:on_stop}: [failsafe] on_stop: 'ping' is a "
             "built-in command, which only a connection can run"),
            ("on_start = gpio write 17",
             "{path}:{line:on_start}: [failsafe] on_start: 'gpio write 17': "
             "usage: gpio write <line> 0|1 [lease]"),
            ("on_lost = #t gpio write 17 0",
             "{path}:{line:on_lost}: [failsafe] on_lost: '#t gpio write 17 "
             "0': no #tag here"),
            ("on_lost = hello",
             "{path}:{line:on_lost}: [failsafe] on_lost: unknown command "
             "'hello'"),
            ("on_later = gpio write 17 0",
             "{path}:{line:on_later}: unknown key 'on_later' in [failsafe]")):
        text = base + line + "\n"
        path = t.write_config(text)
        rc, _, err = t.run_picmdd("-t", "-c", path)
        check_eq(rc, 1, "picmdd -t status for %r (stderr %r)" % (line, err))
        check(expand(want, path, text) in err, "%r: stderr lacks %r:\n%s"
              % (line, expand(want, path, text), err))
        rc, _, err = t.run_picmdd("-c", path)
        check_eq(rc, 1, "picmdd status for %r" % line)
        check("listening on" not in err, "bound a socket: %r" % err)
    text = base + "on_lost = gpio write 17 0 ; gpio mode 4 in \"pull-up\"\n"
    rc, out, err = t.run_picmdd("-t", "-c", t.write_config(text))
    check_eq(rc, 0, "a good program (stderr %r)" % err)


def test_outputs_written_with_lease_go_to_their_safe_levels(t):
    d = t.start(plugins={"load": "diag gpio"},
                extra="[gpio]\nbackend = sim\nsafe.GPIO18 = 1\n")
    holder, watcher = d.connect(), d.connect()
    check_eq(holder.request("gpio write 17 1 lease"),
             "ERR ARGS no lease on this connection: LEASE <ms> first",
             "lease without a LEASE")
    check_match(r"^ERR ARGS usage: gpio write <line> 0\|1 \[lease\]",
                holder.request("gpio write 17 1 leash"), "a typo")
    check_eq(holder.request("LEASE %d" % int(300 * harness.SLOW)), "OK",
             "LEASE")
    for line in ("gpio write 17 1 lease", "gpio write 18 0 lease",
                 "gpio write 19 1", "gpio write 20 1 lease",
                 "gpio write 20 1"):
        check_eq(holder.request(line), "OK", line)
    # No [failsafe] at all: the plugin's own safe levels still apply.
    wait_until(lambda: watcher.request("gpio read 17") == "OK 0",
               what="line 17 safe")
    check_eq(watcher.request("gpio read 18"), "OK 1", "18 to its safe.18 = 1")
    check_eq(watcher.request("gpio read 19"), "OK 1", "19 never leased")
    check_eq(watcher.request("gpio read 20"), "OK 1",
             "20 unbound by the later write without lease")
    d.wait_line("gpio: line 17: its lease was lost; set to 0")
    check_eq(watcher.stats()["failsafe_runs_total"], 0, "no program ran")


def test_bad_safe_levels_are_refused(t):
    for key, want in (("safe.60 = 0", "no line '60' on sim (lines 0 to 53)"),
                      ("safe.17 = 2", "safe.17 must be 0 or 1, not '2'"),
                      ("sfae.17 = 0", "unknown key 'sfae.17'")):
        text = t.config_text(plugins={"load": "gpio"},
                             extra="[gpio]\nbackend = sim\n" + key + "\n")
        path = t.write_config(text)
        rc, _, err = t.run_picmdd("-t", "-c", path)
        check_eq(rc, 1, "picmdd -t status for %r" % key)
        check(want in err, "%r: stderr lacks %r:\n%s" % (key, want, err))
