"""The client with events and leases: picmd watch (plain and --json),
events in batch mode, --lease kept alive and ended cleanly, and the
interactive prompt printing events without garbling the typed line (in
a real terminal, under tmux)."""

import json
import re
import shlex
import shutil
import subprocess
import time

import harness
from harness import check, check_eq, check_match, wait_until
from test_client import PicmdProcess, client_env, picmd_path, run_picmd, \
    tcp_args

EVENT = r"^gpio\.17 %s %d ts=\d{10}\.\d{9} mono=\d+\.\d{9} seq=%d$"


def start_gpio(t, failsafe=""):
    extra = "[gpio]\nbackend = sim\n"
    if failsafe:
        extra += "[failsafe]\n" + failsafe
    return t.start(plugins={"load": "diag gpio"}, extra=extra)


def test_watch_prints_edges_until_count(t):
    d = start_gpio(t)
    c = d.connect()
    p = PicmdProcess(t, tcp_args(d) + ["watch", "--count", "2", "gpio",
                                       "GPIO17", "both"], stdin=False)
    wait_until(lambda: c.stats()["subscriptions"] == 1,
               what="the watch subscribed")
    check_eq(c.request("gpio sim-set 17 1"), "OK", "rising")
    check_eq(c.request("gpio sim-set 17 0"), "OK", "falling")
    rc, out, err = p.finish()
    check_eq((rc, err), (0, ""), "exit after two events")
    lines = out.splitlines()
    check_eq(len(lines), 2, "two lines: %r" % out)
    check_match(EVENT % ("rising", 1, 1), lines[0], "first")
    check_match(EVENT % ("falling", 0, 2), lines[1], "second")


def test_watch_json_and_topics(t):
    d = start_gpio(t)
    c = d.connect()
    check_eq(c.request("gpio watch 17 both"), "OK 0", "watch 17")
    p = PicmdProcess(t, tcp_args(d) + ["watch", "--json", "--count", "1",
                                       "gpio.*"], stdin=False)
    wait_until(lambda: c.stats()["subscriptions"] == 1,
               what="subscribed")
    check_eq(c.request("gpio sim-set 17 1"), "OK", "rising")
    rc, out, err = p.finish()
    check_eq((rc, err), (0, ""), "exit status")
    ev = json.loads(out)
    check_eq((ev["topic"], ev["event"], ev["args"], ev["seq"]),
             ("gpio.17", "rising", ["1"], 1), "fields: %r" % ev)
    check(isinstance(ev["ts"], float) and ev["ts"] > 1.6e9, "ts %r" % ev)
    check(isinstance(ev["mono"], float), "mono %r" % ev)


def test_watch_errors(t):
    d = start_gpio(t)
    rc, out, err = run_picmd(t, *tcp_args(d), "watch", "gpio", "60", "both")
    check_eq(rc, 1, "exit status (stderr %r)" % err)
    check_match(r"^DEVICE line 60: out of range", err, "stderr")
    rc, out, err = run_picmd(t, *tcp_args(d), "watch")
    check_eq(rc, 2, "nothing to watch")
    check("watch what?" in err, err)
    rc, out, err = run_picmd(t, *tcp_args(d), "watch", "gpio", "17")
    check_eq(rc, 2, "too few words")
    rc, out, err = run_picmd(t, *tcp_args(d), "watch", "--count", "0",
                             "gpio.*")
    check_eq(rc, 2, "--count 0")


def test_batch_prints_events_between_replies(t):
    d = start_gpio(t)
    check_eq(d.connect().request("gpio watch 17 both"), "OK 0", "watch")
    rc, out, err = run_picmd(t, *tcp_args(d), stdin=(
        "SUBSCRIBE gpio.17\ngpio sim-set 17 1\nPING\n"))
    check_eq((rc, err), (0, ""), "exit status")
    lines = out.splitlines()
    check_eq([line for line in lines if not line.startswith("!")],
             ["OK", "OK", "OK PONG"], "the replies, in order")
    events = [line for line in lines if line.startswith("!")]
    check_eq(len(events), 1, "one event: %r" % out)
    check_match(r"^! " + EVENT[1:] % ("rising", 1, 1), events[0], "event")


def test_lease_from_a_batch_is_kept_and_ended_cleanly(t):
    d = start_gpio(t, "on_lost = gpio write 17 0\n")
    c = d.connect()
    ms = int(300 * harness.SLOW)
    p = PicmdProcess(t, tcp_args(d) + ["--lease", str(ms)])
    p.proc.stdin.write(b"gpio write 17 1\n")
    p.proc.stdin.flush()
    wait_until(lambda: c.stats()["leases"] == 1,
               what="the lease")
    # Silent on stdin for three lease lengths: the keep-alives hold it.
    time.sleep(3 * ms / 1000)
    st = c.stats()
    check_eq((st["leases"], st["leases_lost_total"]), (1, 0), "still held")
    rc, out, err = p.finish()
    check_eq((rc, out, err), (0, "OK\n", ""), "the batch's output")
    wait_until(lambda: c.stats()["clients"] == 1,
               what="the client gone")
    st = c.stats()
    check_eq((st["leases"], st["leases_lost_total"],
              st["failsafe_runs_total"]), (0, 0, 0), "ended cleanly")
    check_eq(c.request("gpio read 17"), "OK 1", "still driven")


def test_a_killed_lease_holder_runs_the_failsafe(t):
    d = start_gpio(t, "on_lost = gpio write 17 0\n")
    c = d.connect()
    p = PicmdProcess(t, tcp_args(d) + ["--lease", "60000"])
    p.proc.stdin.write(b"gpio write 17 1\n")
    p.proc.stdin.flush()
    wait_until(lambda: c.request("gpio read 17") == "OK 1",
               what="line 17 driven")
    wait_until(lambda: c.stats()["leases"] == 1,
               what="the lease")
    p.proc.kill()
    p.proc.wait()
    wait_until(lambda: c.request("gpio read 17") == "OK 0",
               what="line 17 safe")
    check_eq(c.stats()["leases_lost_total"], 1, "lost once")


def test_lease_is_for_sessions(t):
    d = start_gpio(t)
    rc, out, err = run_picmd(t, *tcp_args(d), "--lease", "1000", "PING")
    check_eq(rc, 2, "one-shot with --lease")
    check("--lease is for a session" in err, err)
    rc, out, err = run_picmd(t, *tcp_args(d), "--lease", "50", stdin="PING\n")
    check_eq(rc, 2, "too short")
    check("--lease takes milliseconds from 100 to 3600000" in err, err)


def tmux(sock, *args):
    return subprocess.run(["tmux", "-S", sock] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=harness.IO_TIMEOUT, check=False)


def test_prompt_prints_events_above_the_typed_line(t):
    if shutil.which("tmux") is None:
        raise harness.Failure("tmux is not installed (make deps-test)")
    d = start_gpio(t)
    c = d.connect()
    sock = t.path("tmux.sock")
    env = client_env({"HOME": t.tmp})
    cmd = " ".join(shlex.quote(a) for a in
                   harness.EMULATOR + [picmd_path(t)] + tcp_args(d))
    r = subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-x", "100",
                        "-y", "20", cmd], env=env, timeout=harness.IO_TIMEOUT)
    check_eq(r.returncode, 0, "tmux new-session")
    try:
        def screen():
            return tmux(sock, "capture-pane", "-p").stdout.decode()
        wait_until(lambda: "picmd>" in screen(),
                   what="the prompt")
        tmux(sock, "send-keys", "SUBSCRIBE gpio.17", "Enter")
        wait_until(lambda: c.stats()["subscriptions"] == 1,
                   what="SUBSCRIBE answered")
        check_eq(c.request("gpio watch 17 both"), "OK 0", "watch")
        # Half a line typed, then an edge arrives.
        tmux(sock, "send-keys", "gpio read 1")
        wait_until(lambda: "picmd> gpio read 1" in screen(),
                   what="typed")
        check_eq(c.request("gpio sim-set 17 1"), "OK", "edge")
        wait_until(lambda: "! gpio.17 rising 1" in screen(),
                   what="the event on screen")
        lines = [line for line in screen().splitlines() if line.strip()]
        check_match(r"^! gpio\.17 rising 1 ts=", lines[-2], "event line: %r"
                    % lines)
        check_eq(lines[-1].rstrip(), "picmd> gpio read 1",
                 "the typed line redrawn below it: %r" % lines)
        tmux(sock, "send-keys", "7", "Enter")
        wait_until(lambda: re.search(r"(?m)^OK 1$", screen()),
                   what="the reply")
    finally:
        tmux(sock, "kill-server")
