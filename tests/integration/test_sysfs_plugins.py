"""The led, pwm, w1 and sys plugins in the real daemon, over a socket.

[system] sysfs_root and procfs_root point at a copy of tests/fixtures/
(a Raspberry Pi 4's files) in the test's directory, so the tests can look
at what the daemon wrote and the checked-in tree is never touched.
"""

import os
import shlex
import shutil
import time

from harness import check, check_eq, elapsed_since

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        os.pardir, "fixtures")
PLUGINS = "diag led pwm w1 sys"


def start_sysfs(t, extra=""):
    """A daemon with the sysfs plugins on a fresh copy of the fixtures;
    returns (daemon, sysfs root, procfs root)."""
    sysfs = t.path("sysfs")
    procfs = t.path("procfs")
    # symlinks=True: the class directories link into devices/, as in /sys.
    shutil.copytree(os.path.join(FIXTURES, "sysfs"), sysfs, symlinks=True)
    shutil.copytree(os.path.join(FIXTURES, "procfs"), procfs, symlinks=True)
    d = t.start(plugins={"load": PLUGINS},
                extra="[system]\nsysfs_root = %s\nprocfs_root = %s\n%s"
                % (sysfs, procfs, extra))
    return d, sysfs, procfs


def read(root, rel):
    with open(os.path.join(root, rel)) as f:
        return f.read()


def test_help_lists_the_commands(t):
    d, _, _ = start_sysfs(t)
    names = d.connect().request("HELP")[3:].split(" ")
    for name in ("led.list", "led.set", "led.trigger", "led.triggers",
                 "pwm.list", "pwm.set", "pwm.off", "pwm.get", "w1.list",
                 "w1.temp", "sys.temp", "sys.uptime", "sys.load", "sys.mem",
                 "sys.info", "sys.throttled"):
        check(name in names, "%s missing from HELP: %r" % (name, names))


def test_leds(t):
    d, sysfs, _ = start_sysfs(t)
    c = d.connect()
    check_eq(c.request("led list"), "OK ACT:0:1:mmc0 PWR:1:1:default-on "
             "mmc0:::0:255:mmc0", "led list")
    check_eq(c.request("led trigger ACT"), "OK mmc0", "trigger shown")
    check_eq(c.request("led set ACT on"), "OK", "led set")
    check_eq(read(sysfs, "class/leds/ACT/trigger"), "none\n",
             "trigger detached")
    check_eq(read(sysfs, "class/leds/ACT/brightness"), "1\n", "brightness")
    check_eq(c.request("led trigger PWR heartbeat"), "OK", "trigger set")
    check_eq(read(sysfs, "class/leds/PWR/trigger"), "heartbeat\n",
             "trigger written")
    check_eq(c.request("led trigger PWR blink"), "ERR ARGS LED PWR has no "
             "trigger 'blink' (led triggers PWR lists them)", "bad trigger")
    check_eq(c.request("led set ../ACT on"), "ERR ARGS bad LED name "
             "'../ACT'", "escaping name")
    check_eq(c.request("led set mmc0:: 300"), "ERR ARGS brightness must be "
             "on, off or 0 to 255", "too bright")


def test_pwm(t):
    d, sysfs, _ = start_sysfs(t, "[pwm]\nexport_wait_ms = 300\n")
    chip = os.path.join(sysfs, "class/pwm/pwmchip0")
    # pwm0 as the kernel makes it on export; no kernel makes pwm1 here.
    os.mkdir(os.path.join(chip, "pwm0"))
    for name, text in (("period", "0\n"), ("duty_cycle", "0\n"),
                       ("enable", "0\n"), ("polarity", "normal\n")):
        with open(os.path.join(chip, "pwm0", name), "w") as f:
            f.write(text)
    c = d.connect()
    check_eq(c.request("pwm list"), "OK pwmchip0:2", "pwm list")
    check_eq(c.request("pwm set 0 0 20000000 1500000"), "OK", "pwm set")
    check_eq(read(chip, "pwm0/period"), "20000000\n", "period")
    check_eq(read(chip, "pwm0/duty_cycle"), "1500000\n", "duty_cycle")
    check_eq(read(chip, "pwm0/enable"), "1\n", "enable")
    check_eq(read(chip, "export"), "", "export untouched")
    check_eq(c.request("pwm get pwmchip0 0"), "OK exported=1 enabled=1 "
             "period_ns=20000000 duty_ns=1500000 polarity=normal", "pwm get")
    check_eq(c.request("pwm off 0 0"), "OK", "pwm off")
    check_eq(read(chip, "pwm0/enable"), "0\n", "disabled")
    check_eq(c.request("pwm set 0 2 1000 10"), "ERR DEVICE pwmchip0 has no "
             "channel 2 (npwm is 2)", "channel out of range")

    # Export of pwm1 times out after export_wait_ms; a tagged sys temp
    # sent behind it is answered first, from another worker.
    c.send_lines(["#a pwm set 0 1 1000 500", "#b sys temp"])
    first, second = c.read_lines(2)
    check_eq(first, "#b OK 48.312", "fast reply first")
    check_eq(second, "#a ERR TIMEOUT pwmchip0: pwm1 did not appear within "
             "300 ms of writing 1 to %s/export" % chip, "export timeout")
    check_eq(read(chip, "export"), "1\n", "channel exported")


def test_w1(t):
    d, sysfs, _ = start_sysfs(t)
    c = d.connect()
    check_eq(c.request("w1 list"), "OK 10-000802b4c5e1 28-01192f3b8c4d "
             "28-3c01d6079a3f", "w1 list")
    check_eq(c.request("w1 temp 28-3c01d6079a3f"), "OK 23.125",
             "temperature file")
    check_eq(c.request("w1 temp 10-000802b4c5e1"), "OK 25.062", "w1_slave")
    check_eq(c.request("w1 temp 28-01192f3b8c4d"), "ERR DEVICE %s/bus/w1/"
             "devices/28-01192f3b8c4d/w1_slave: CRC check failed" % sysfs,
             "bad CRC")
    with open(os.path.join(sysfs, "bus/w1/devices/28-3c01d6079a3f/"
                           "temperature"), "w") as f:
        f.write("-500\n")
    check_eq(c.request("w1 temp 28-3c01d6079a3f"), "OK -0.500",
             "below zero")


def test_sys(t):
    d, sysfs, procfs = start_sysfs(t)
    c = d.connect()
    check_eq(c.request("sys temp"), "OK 48.312", "sys temp")
    check_eq(c.request("sys uptime"), "OK 3627", "sys uptime")
    check_eq(c.request("sys load"), "OK 0.15 0.10 0.05", "sys load")
    check_eq(c.request("sys mem"), "OK total_kb=3884300 available_kb=3452828 "
             "free_kb=2981224 swap_total_kb=102396 swap_free_kb=102396",
             "sys mem")
    check_eq(c.request("sys throttled"), "OK under_voltage=0",
             "sys throttled")
    info = c.request("sys info")
    check(info.startswith("OK "), "sys info: %r" % info)
    # The payload splits like shell words.
    pairs = dict(w.split("=", 1) for w in shlex.split(info[3:]))
    check_eq(pairs, {"model": "Raspberry Pi 4 Model B Rev 1.4",
                     "serial": "100000001b5a3c9e", "revision": "c03114",
                     "hostname": "raspberrypi",
                     "kernel": "6.6.51+rpt-rpi-v8"}, "sys info")
    # Files are read per request: a change shows at once.
    with open(os.path.join(sysfs, "class/thermal/thermal_zone0/temp"),
              "w") as f:
        f.write("-1250\n")
    check_eq(c.request("sys temp"), "OK -1.250", "sys temp again")
    os.remove(os.path.join(procfs, "loadavg"))
    check_eq(c.request("sys load"), "ERR DEVICE read %s/loadavg: No such "
             "file or directory" % procfs, "missing loadavg")


def test_firmware_throttled(t):
    d, sysfs, _ = start_sysfs(t, "[sys]\nfirmware_throttled = yes\n")
    with open(os.path.join(sysfs, "devices/platform/soc/soc:firmware/"
                           "get_throttled"), "w") as f:
        f.write("50005\n")
    check_eq(d.connect().request("sys throttled"), "OK under_voltage=1 "
             "arm_freq_capped=0 throttled=1 soft_temp_limit=0 "
             "under_voltage_occurred=1 arm_freq_capped_occurred=0 "
             "throttled_occurred=1 soft_temp_limit_occurred=0 raw=0x50005",
             "sys throttled")


def test_unknown_key_refuses_to_start(t):
    sysfs = t.path("sysfs")
    shutil.copytree(os.path.join(FIXTURES, "sysfs"), sysfs, symlinks=True)
    path = t.config(plugins={"load": PLUGINS},
                    extra="[system]\nsysfs_root = %s\n[led]\ncolour = red\n"
                    % sysfs)
    start = time.monotonic()
    rc, _, err = t.run_picmdd("-c", path)
    check_eq(rc, 1, "exit status (stderr: %r)" % err)
    check("[led] unknown key 'colour'" in err, "stderr: %r" % err)
    check(elapsed_since(start) < 10, "took too long to refuse")
