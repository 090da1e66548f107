#!/usr/bin/env python3
"""The VM leg (docs/TESTING.md): boot a Debian guest under qemu with
systemd as PID 1 and a real gpio-sim chip, install the package there and
check the hardened service and the GPIO chip backend for real.

usage: tests/vm/run.py [--suite trixie|bookworm ...]

For each suite: the package (tests/vm/build-deb.sh), the image
(tests/vm/image.sh), both cached under build/vm/; then one boot of the
image with -snapshot, the kernel and initrd given directly, a 9p share
with the package and tests/vm/guest.sh, user-mode networking restricted
to one forwarded loopback port, the serial console in
build/vm/run-SUITE/console.log.  The guest's checks come back through the
share; the host's own checks go through the forwarded port.  Prints each
check and "N passed, M failed"; exits 1 on any failure, on a guest that
does not finish, or on an image that cannot be made.
"""

import argparse
import ctypes
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VM = os.path.join(TOP, "tests", "vm")
GUEST_PORT = 15770  # guest.sh's LAN listener

BOOT_TIMEOUT = int(os.environ.get("PICMD_VM_BOOT_TIMEOUT", "300"))
RUN_TIMEOUT = int(os.environ.get("PICMD_VM_TIMEOUT", "1200"))


_print_lock = threading.Lock()


def log(msg, prefix=""):
    """One whole line (the guests run side by side, each with a prefix)."""
    with _print_lock:
        for line in msg.split("\n"):
            print(prefix + line, flush=True)


class Tally:
    def __init__(self, prefix=""):
        self.passed = 0
        self.failed = 0
        self.prefix = prefix

    def log(self, msg):
        log(msg, self.prefix)

    def add(self, ok, name, why=""):
        if ok:
            self.passed += 1
            self.log(f"  PASS {name}")
        else:
            self.failed += 1
            self.log(f"  FAIL {name}" + (f": {why}" if why else ""))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One connection to the daemon through the forwarded port."""

    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.line()

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("connection closed by the daemon")
            self.buf += data
        reply, self.buf = self.buf.split(b"\n", 1)
        return reply.decode(errors="replace").rstrip("\r")

    def close(self):
        self.sock.close()


def host_checks(port, token, share, tally):
    """Through qemu's forward of 127.0.0.1:port to the guest's LAN listener."""
    # qemu accepts on the host side at once; a closed connection means the
    # guest is not listening yet.
    deadline = time.monotonic() + 60
    while True:
        try:
            c = Client(port)
            pong = c.ask("PING")
            break
        except OSError as e:
            if time.monotonic() > deadline:
                tally.add(False, "host: the forwarded TCP listener answers PING", str(e))
                return
            time.sleep(1)
    tally.add(pong == "OK PONG", "host: the forwarded TCP listener answers PING", pong)
    r = c.ask("gpio chip")
    tally.add(r.startswith("ERR DENIED"), "host: a command before AUTH is refused", r)
    r = c.ask("AUTH not-the-token-" + secrets.token_hex(4))
    tally.add(r == "ERR DENIED wrong token", "host: a wrong token is refused", r)
    c.close()
    c = Client(port)
    r = c.ask("AUTH " + token)
    tally.add(r == "OK", "host: the right token is accepted", r)
    r = c.ask("gpio chip")
    tally.add(r.startswith("OK backend=chip "), "host: gpio chip through the token-protected listener", r)
    r = c.ask("gpio write 18 1")
    tally.add(r == "OK", "host: gpio write 18 1", r)
    # Edges of a real chip, detected by the kernel, pushed to the host.
    r = c.ask("gpio watch 23 both")
    tally.add(r == "OK 0", "host: gpio watch 23 both", r)
    r = c.ask("SUBSCRIBE gpio.GPIO23")
    tally.add(r == "OK", "host: SUBSCRIBE gpio.GPIO23", r)
    open(os.path.join(share, "edge-go"), "w").close()
    for seq, (kind, level) in enumerate((("rising", 1), ("falling", 0)), 1):
        try:
            r = c.line()
        except OSError as e:
            r = "(nothing: %s)" % e
        want = (r"^! gpio\.23 %s %d ts=\d{10}\.\d{9} mono=\d+\.\d{9} "
                r"seq=%d$" % (kind, level, seq))
        tally.add(re.match(want, r) is not None,
                  f"host: the simulator's {kind} edge reached the subscriber", r)
        # The next edge only once this one is in: two pulls in a row can
        # reach the kernel as one interrupt, hence one (falling) event.
        open(os.path.join(share, "edge-%s" % kind), "w").close()
    c.close()


def run(cmd, what, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=TOP, stdout=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode})")
    return p.stdout.strip(), time.monotonic() - t0


def qemu_command(img, share, console, port, cpus, mem):
    return [
        "qemu-system-x86_64",
        "-machine", "q35,accel=tcg", "-smp", str(cpus), "-m", str(mem),
        "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", "file:" + console,
        "-kernel", os.path.join(img, "vmlinuz"),
        "-initrd", os.path.join(img, "initrd.img"),
        "-append", "root=/dev/vda rw console=ttyS0 panic=-1 quiet "
                   "systemd.show_status=auto net.ifnames=0",
        "-drive", "file=%s,format=raw,if=virtio,cache=unsafe" % os.path.join(img, "disk.img"),
        "-snapshot",
        "-virtfs", "local,path=%s,mount_tag=picmd,security_model=none,id=picmd" % share,
        "-nic", "user,model=virtio-net-pci,restrict=on,"
                "hostfwd=tcp:127.0.0.1:%d-:%d" % (port, GUEST_PORT),
    ]


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(none)"


def one_suite(suite, args, tally):
    base = os.path.join(TOP, "build", "vm")
    t_all = time.monotonic()
    tally.log(f"== VM {suite}: package")
    out, dt = run([os.path.join(VM, "build-deb.sh"), suite, os.path.join(base, "pkg-" + suite)],
                  f"building the {suite} package")
    deb = out.splitlines()[-1]
    tally.log(f"   {os.path.relpath(deb, TOP)} ({dt:.0f} s)")
    tally.log(f"== VM {suite}: image")
    img = os.path.join(base, suite)
    _, dt = run([os.path.join(VM, "image.sh"), suite, deb, img], f"making the {suite} image")
    with open(os.path.join(img, "kernel-version")) as f:
        kver = f.read().strip()
    tally.log(f"   build/vm/{suite}/disk.img, kernel {kver} ({dt:.0f} s)")

    rundir = os.path.join(base, "run-" + suite)
    share = os.path.join(rundir, "share")
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(share)
    shutil.copy(deb, share)
    for py in glob.glob(os.path.join(os.path.dirname(deb),
                                     "python3-picmd_*.deb")):
        shutil.copy(py, share)
    shutil.copy(os.path.join(VM, "guest.sh"), share)
    shutil.copy(os.path.join(TOP, "systemd", "dropins", "lan.conf"), share)
    pkg = os.path.dirname(deb)
    if os.path.exists(os.path.join(pkg, "test_gpio_chip")):
        shutil.copy(os.path.join(pkg, "test_gpio_chip"), share)
        shutil.copytree(os.path.join(pkg, "commands"), os.path.join(share, "commands"))
    token = secrets.token_hex(16)
    with open(os.path.join(share, "token"), "w") as f:
        f.write(token + "\n")
    console = os.path.join(rundir, "console.log")
    results = os.path.join(share, "results")
    port = free_port()

    tally.log(f"== VM {suite}: boot (qemu TCG, {args.cpus} CPUs, {args.mem} MB; "
        f"console: {os.path.relpath(console, TOP)}; 127.0.0.1:{port} -> guest:{GUEST_PORT})")
    cmd = qemu_command(img, share, console, port, args.cpus, args.mem)
    t_boot = time.monotonic()
    qemu = subprocess.Popen(cmd, cwd=TOP, stdin=subprocess.DEVNULL,
                            stdout=open(os.path.join(rundir, "qemu.log"), "w"),
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=die_with_parent)
    seen = 0
    booted = None
    host_done = False
    guest_done = False
    try:
        deadline = t_boot + RUN_TIMEOUT
        while True:
            now = time.monotonic()
            if os.path.exists(results):
                if booted is None:
                    booted = now - t_boot
                    tally.log(f"   guest up, checks started after {booted:.0f} s")
                with open(results, errors="replace") as f:
                    lines = f.read().splitlines(keepends=True)
                # Only whole lines: the guest may be writing the last one.
                while seen < len(lines) and lines[seen].endswith("\n"):
                    line = lines[seen].rstrip("\n")
                    seen += 1
                    kind, _, rest = line.partition(" ")
                    if kind == "PASS":
                        tally.add(True, rest)
                    elif kind == "FAIL":
                        name, _, why = rest.partition(": ")
                        tally.add(False, name, why)
                    else:
                        tally.log(f"  {line}")
            if not host_done and os.path.exists(os.path.join(share, "host-ready")):
                host_checks(port, token, share, tally)
                open(os.path.join(share, "host-done"), "w").close()
                host_done = True
            if os.path.exists(os.path.join(share, "done")):
                guest_done = True
            if qemu.poll() is not None:
                break
            if booted is None and now - t_boot > BOOT_TIMEOUT:
                tally.add(False, "the guest boots and starts its checks",
                          f"nothing within {BOOT_TIMEOUT} s; console:\n{tail(console)}")
                break
            if now > deadline:
                tally.add(False, "the guest finishes its checks",
                          f"still running after {RUN_TIMEOUT} s; console:\n{tail(console)}")
                break
            time.sleep(0.5)
    finally:
        stop(qemu)
    cycle = time.monotonic() - t_boot
    if booted is not None and not guest_done:
        tally.add(False, "the guest finished its checks",
                  f"qemu exited (status {qemu.returncode}) first; console:\n{tail(console)}")
    tally.log(f"   {suite}: boot {booted or 0:.0f} s, cycle {cycle:.0f} s, "
        f"all {time.monotonic() - t_all:.0f} s")


def die_with_parent():
    """In the child: SIGKILL when this harness dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def stop(qemu):
    """The qemu this run started, by its pid: asked, then killed."""
    if qemu.poll() is None:
        qemu.terminate()
        try:
            qemu.wait(10)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", action="append", choices=["trixie", "bookworm"])
    ap.add_argument("--cpus", type=int, default=None,
                    help="vCPUs per guest (default: the host's cores shared among the guests)")
    ap.add_argument("--mem", type=int, default=1024)
    args = ap.parse_args()
    suites = args.suite or ["trixie", "bookworm"]

    # SIGTERM (a CI timeout) ends the run like Ctrl-C; each qemu, started
    # with PR_SET_PDEATHSIG, is killed when the harness goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        log("picmd-vm: make test-vm needs root (mmdebstrap, chroot, mkfs.ext4 -d)")
        return 1
    if args.cpus is None:
        # Side by side, each guest gets its share of the host's cores.
        args.cpus = max(1, (os.cpu_count() or 1) // len(suites))
    t0 = time.monotonic()
    tallies = {}

    def one(suite):
        tally = tallies[suite]
        try:
            one_suite(suite, args, tally)
        except RuntimeError as e:
            tally.add(False, f"{suite}: {e}", "see the messages above")
        except Exception as e:      # a harness bug must not pass as a run
            tally.add(False, f"{suite}: the harness failed", repr(e))
        tally.log(f"== VM {suite}: {tally.passed} passed, {tally.failed} failed")

    # The guests are independent (their own package, image, port and run
    # directory) and each is mostly one busy thread (dpkg, mmdebstrap,
    # qemu's TCG): side by side, a run takes about as long as its
    # slower guest.
    threads = []
    for suite in suites:
        tallies[suite] = Tally("[%s] " % suite if len(suites) > 1 else "")
        th = threading.Thread(target=one, args=(suite,), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        while th.is_alive():    # joined in steps, so SIGTERM is handled
            th.join(1)
    passed = sum(t.passed for t in tallies.values())
    failed = sum(t.failed for t in tallies.values())
    log(f"VM leg ({', '.join(suites)}): {passed} passed, {failed} failed "
        f"in {time.monotonic() - t0:.0f} s")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
