"""gpiozero through picmd.gpiozero.PicmdFactory, with Debian's gpiozero,
against the real daemon on its simulated chip: LED, PWMLED, Button
(when_pressed, when_released, wait_for_press), board_info from the
daemon's sys info, closing pins, and GPIOZERO_PIN_FACTORY=picmd through
the entry point of a "pip install ./python" into a virtual environment.
"""

import os
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "python"))
sys.path.insert(0, HERE)

import daemon  # noqa: E402  (tests/python/daemon.py)

try:
    import gpiozero
    from gpiozero import LED, PWMLED, Button, Device
except ImportError:                     # pragma: no cover
    gpiozero = None

WAIT = 20.0     # bounded waits for edges: generous, never slept out

FIXTURES = os.path.join(TOP, "tests", "fixtures")
CONFIG = """
[plugins]
load = diag gpio sys
[gpio]
backend = sim
[system]
procfs_root = {fixtures}/procfs
sysfs_root = {fixtures}/sysfs
"""


@unittest.skipIf(gpiozero is None, "no gpiozero (python3-gpiozero)")
class GpiozeroTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = daemon.Daemon(CONFIG.format(fixtures=FIXTURES))

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        from picmd.gpiozero import PicmdFactory
        self.factory = PicmdFactory(host="127.0.0.1", port=self.d.port)
        Device.pin_factory = self.factory
        self.text = self.d.text_client()

    def tearDown(self):
        Device.pin_factory = None
        self.factory.close()
        self.text.close()

    def ask(self, line):
        return self.text.ask(line)

    def test_board_info_from_sys_info(self):
        info = getattr(self.factory, "board_info", None) or \
            self.factory.pi_info
        # tests/fixtures/procfs/cpuinfo: Revision c03114, a Pi 4 B
        self.assertEqual(info.revision, "c03114")
        self.assertEqual(info.model, "4B")

    def test_led(self):
        led = LED(17)
        led.on()
        self.assertEqual(self.ask("gpio read 17"), "OK 1")
        self.assertTrue(led.is_lit)
        led.off()
        self.assertEqual(self.ask("gpio read 17"), "OK 0")
        led.blink(on_time=0.02, off_time=0.02, n=3, background=False)
        self.assertEqual(self.ask("gpio read 17"), "OK 0")
        led.close()
        # A closed pin is an input again.
        self.assertRegex(self.ask("gpio info 17"), r"direction=in ")

    def test_pwmled(self):
        led = PWMLED(18)
        led.value = 0.5
        self.assertEqual(led.value, 0.5)
        self.assertEqual(self.ask("gpio pwm 18"), "OK hz=100 duty=50")
        led.frequency = 250
        self.assertEqual(self.ask("gpio pwm 18"), "OK hz=250 duty=50")
        led.value = 1
        self.assertEqual(self.ask("gpio pwm 18"), "OK hz=250 duty=100")
        led.close()
        self.assertEqual(self.ask("gpio pwm 18"), "OK off")

    def test_button(self):
        # No bounce_time: the two edges here may come within any time
        # of each other (the gpio plugin's tests cover the debounce).
        button = Button(4)
        self.assertEqual(self.ask("gpio read 4"), "OK 1", "pulled up")
        self.assertFalse(button.is_pressed)
        pressed, released = threading.Event(), threading.Event()
        button.when_pressed = pressed.set
        button.when_released = released.set
        self.assertEqual(self.ask("gpio sim-set 4 0"), "OK")
        self.assertTrue(pressed.wait(WAIT), "when_pressed")
        self.assertTrue(button.is_pressed)
        self.assertEqual(self.ask("gpio sim-set 4 1"), "OK")
        self.assertTrue(released.wait(WAIT), "when_released")
        button.close()
        self.assertEqual(self.ask("SUBSCRIPTIONS"), "OK")

    def test_wait_for_press(self):
        # The button watches its edges once it is made: a press from
        # another thread, before or while it waits, is seen.
        button = Button(27)
        presser = threading.Thread(
            target=lambda: self.ask("gpio sim-set 27 0"))
        presser.start()
        try:
            self.assertTrue(button.wait_for_press(timeout=WAIT))
        finally:
            presser.join(WAIT)
        self.assertEqual(self.ask("gpio sim-set 27 1"), "OK")
        self.assertTrue(button.wait_for_release(timeout=WAIT))
        # Nobody presses: it times out.
        self.assertFalse(button.wait_for_press(timeout=0.2))
        button.close()


@unittest.skipIf(gpiozero is None, "no gpiozero (python3-gpiozero)")
class EntryPointTest(unittest.TestCase):
    """pip install ./python into a virtual environment that sees Debian's
    gpiozero; then GPIOZERO_PIN_FACTORY=picmd selects the factory."""

    def test_pip_install_and_gpiozero_pin_factory(self):
        d = daemon.Daemon(CONFIG.format(fixtures=FIXTURES))
        self.addCleanup(d.stop)
        with tempfile.TemporaryDirectory(prefix="picmd-venv-") as tmp:
            venv = os.path.join(tmp, "venv")
            run([sys.executable, "-m", "venv", "--system-site-packages",
                 venv])
            py = os.path.join(venv, "bin", "python")
            # Offline: Debian's setuptools and wheel build it.
            run([py, "-m", "pip", "install", "--quiet", "--no-index",
                 "--no-deps", "--no-build-isolation",
                 os.path.join(TOP, "python")], cwd=tmp)
            env = dict(os.environ, GPIOZERO_PIN_FACTORY="picmd",
                       PICMD_HOST="127.0.0.1", PICMD_PORT=str(d.port))
            out = run([py, "-c",
                       "import picmd, gpiozero\n"
                       "from gpiozero import LED, Device\n"
                       "led = LED(22); led.on()\n"
                       "print(type(Device.pin_factory).__name__)\n"
                       "print(picmd.__file__)\n"
                       "print(Device.pin_factory.client.call("
                       "'gpio', 'read', 22))\n"], env=env, cwd=tmp)
        lines = out.splitlines()
        self.assertEqual(lines[0], "PicmdFactory")
        self.assertIn(os.path.join(venv, "lib"), lines[1],
                      "imported from the virtual environment")
        self.assertEqual(lines[2], "1", "LED(22).on() reached the daemon")


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300, **kw)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (
            " ".join(argv), p.returncode, p.stdout.decode(),
            p.stderr.decode()))
    return p.stdout.decode()


if __name__ == "__main__":
    unittest.main()
