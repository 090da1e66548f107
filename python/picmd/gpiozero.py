"""A gpiozero pin factory that drives a remote Raspberry Pi through picmd.

Unmodified gpiozero code runs against the Pi that runs picmdd:

    GPIOZERO_PIN_FACTORY=picmd PICMD_HOST=pi.local python3 button.py

or, in the code itself:

    from gpiozero import LED, Device
    from picmd.gpiozero import PicmdFactory
    Device.pin_factory = PicmdFactory(host="pi.local")

Each pin operation is a picmd command (``gpio mode``, ``gpio read``,
``gpio write``, ``gpio pull``, ``gpio pwm``, ``gpio watch``), so tokens,
permissions and the daemon's limits apply as to any client. Edges come
from the daemon's events (``SUBSCRIBE gpio.N``), which drive
``when_pressed``, ``when_released`` and ``wait_for_press``; ``bounce_time``
is the watch's debounce. PWM is the gpio plugin's software PWM, or a
hardware channel of the pwm plugin for the GPIOs named in
``hardware_pwm``. The board comes from the daemon's ``sys info``
(revision code), or from ``revision=`` / ``PICMD_REVISION``.

Works with gpiozero 1.6 (Debian 12) and 2.0 (Debian 13).
"""

import os
import shlex
import threading
import time

from gpiozero.exc import (PinFixedPull, PinInvalidBounce, PinInvalidEdges,
                          PinInvalidFunction, PinInvalidPull, PinInvalidState,
                          PinPWMFixedValue, PinSetInput)
from gpiozero.pins.pi import PiFactory, PiPin

try:                                    # gpiozero 1.6 has no PinUnknownPi
    from gpiozero.exc import PinUnknownPi
except ImportError:                     # pragma: no cover
    PinUnknownPi = RuntimeError

from .client import Client
from .errors import Error

__all__ = ["PicmdFactory", "PicmdPin"]

_PULLS = {"up": "pull-up", "down": "pull-down", "floating": "no-pull"}
_EDGES = ("both", "rising", "falling")


def _kv(payload):
    """``key=value`` words (shell-quoted values) into a dict."""
    out = {}
    for word in shlex.split(payload):
        key, sep, value = word.partition("=")
        if sep:
            out[key] = value
    return out


class PicmdFactory(PiFactory):
    """Pins of the Raspberry Pi that runs picmdd at *host* (``PICMD_HOST``).

    *host*, *port*, *unix*, *token* and *token_file* are those of
    :class:`picmd.Client` (with ``PICMD_HOST``, ``PICMD_PORT`` and
    ``PICMD_TOKEN`` as defaults); *client* uses a client made already.
    *revision* (an int or a hex string, or ``PICMD_REVISION``) stands in
    for the board's revision code where the daemon knows none (it has no
    ``sys`` plugin, or is not on a Pi). *hardware_pwm* maps GPIO numbers
    to ``(pwmchip, channel)``: those pins' PWM runs on the pwm plugin's
    hardware channel instead of the gpio plugin's software PWM.

    ``ticks()`` are this machine's monotonic clock in seconds; an edge's
    ticks are when its event arrived here, so the two compare.
    """

    def __init__(self, host=None, port=None, unix=None, token=None,
                 token_file=None, revision=None, hardware_pwm=None,
                 client=None):
        super().__init__()
        self.pin_class = PicmdPin
        self._own_client = client is None
        self._client = client if client is not None else Client(
            host=host, port=port, unix=unix, token=token,
            token_file=token_file)
        if revision is None:
            revision = os.environ.get("PICMD_REVISION") or None
        if isinstance(revision, str):
            revision = int(revision, 16)
        self._revision = revision
        self.hardware_pwm = dict(hardware_pwm or {})

    @property
    def client(self):
        """The :class:`picmd.Client` the pins talk through."""
        return self._client

    def close(self):
        """Close every pin (inputs again, PWM and watches off), then the
        connection when the factory made it."""
        super().close()
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def _get_revision(self):
        if self._revision is not None:
            return self._revision
        try:
            info = _kv(self._client.call("sys", "info"))
        except Error as e:
            raise PinUnknownPi(
                "picmd cannot say which Pi this is (sys info: %s); pass "
                "revision= or set PICMD_REVISION" % e)
        if "revision" not in info:
            raise PinUnknownPi(
                "picmd reports no board revision (not a Raspberry Pi?); "
                "pass revision= or set PICMD_REVISION")
        self._revision = int(info["revision"], 16)
        return self._revision

    def ticks(self):
        return time.monotonic()

    @staticmethod
    def ticks_diff(later, earlier):
        return later - earlier


class PicmdPin(PiPin):
    """One GPIO of a :class:`PicmdFactory`'s Pi.

    It starts as an input with the board's default pull, as gpiozero's
    other pins do; :meth:`close` puts it back so.
    """

    def __init__(self, factory, spec):
        super().__init__(factory, spec)
        self._pull = self._default_pull()
        self._frequency = None          # PWM running at this frequency
        self._duty = 0.0
        self._bounce = None
        self._edges = "both"
        self._watching = False
        self._lock = threading.RLock()
        self._call("gpio", "mode", self._number, "in", _PULLS[self._pull])

    # ---- plumbing ----

    def _call(self, *words):
        return self.factory.client.call(*words)

    def _default_pull(self):
        info = getattr(self, "_info", None)
        if info is not None and hasattr(info, "pull"):     # gpiozero 2
            return info.pull or "floating"
        return ("up" if self.factory.pi_info.pulled_up(repr(self))
                else "floating")

    def close(self):
        if self.factory.client is None:
            return
        self.frequency = None
        self.when_changed = None
        self.function = "input"
        self.pull = self._default_pull()

    # ---- function, state, pull ----

    def _get_function(self):
        info = _kv(self._call("gpio", "info", self._number))
        return "output" if info.get("direction") == "out" else "input"

    def _set_function(self, value):
        if value not in ("input", "output"):
            raise PinInvalidFunction(
                'invalid function "%s" for pin %r: picmd sets input or '
                "output (alternate functions belong to the device tree)"
                % (value, self))
        if value == "input":
            self.frequency = None
            self._call("gpio", "mode", self._number, "in",
                       _PULLS[self._pull])
        else:
            if self._watching:
                self._stop_watch()
            self._pull = "floating"
            self._call("gpio", "mode", self._number, "out")

    def _get_state(self):
        if self._frequency is not None:
            return self._duty
        return int(self._call("gpio", "read", self._number))

    def _set_state(self, value):
        if self._frequency is not None:
            if not 0 <= value <= 1:
                raise PinInvalidState(
                    'invalid state "%s" for pin %r' % (value, self))
            self._duty = float(value)
            self._run_pwm()
        elif self.function == "input":
            raise PinSetInput("cannot set state of pin %r" % self)
        else:
            self._call("gpio", "write", self._number, 1 if value else 0)

    def _get_pull(self):
        return self._pull

    def _set_pull(self, value):
        if self.function != "input":
            raise PinFixedPull("cannot set pull on non-input pin %r" % self)
        if value not in _PULLS:
            raise PinInvalidPull(
                'invalid pull "%s" for pin %r' % (value, self))
        if value != "up" and self._default_pull() == "up":
            raise PinFixedPull(
                "%r has a physical pull-up resistor" % self)
        self._call("gpio", "pull", self._number, _PULLS[value])
        self._pull = value

    # ---- PWM ----

    def _get_frequency(self):
        return self._frequency

    def _set_frequency(self, value):
        if value is None:
            if self._frequency is not None:
                self._stop_pwm()
            return
        if self._frequency is None and self.function != "output":
            raise PinPWMFixedValue("cannot start PWM on pin %r" % self)
        if self._frequency is None:
            self._duty = 0.0
        self._frequency = float(value)
        self._run_pwm()

    def _run_pwm(self):
        hw = self.factory.hardware_pwm.get(self._number)
        if hw is None:
            self._call("gpio", "pwm", self._number,
                       "%.4f" % self._frequency, "%.4f" % (self._duty * 100))
        else:
            period = int(round(1e9 / self._frequency))
            self._call("pwm", "set", hw[0], hw[1], period,
                       int(round(period * self._duty)))

    def _stop_pwm(self):
        hw = self.factory.hardware_pwm.get(self._number)
        if hw is None:
            self._call("gpio", "pwm", self._number, "off")
        else:
            self._call("pwm", "off", hw[0], hw[1])
            self._call("gpio", "write", self._number, 0)
        self._frequency = None
        self._duty = 0.0

    # ---- edges ----

    def _get_bounce(self):
        return self._bounce

    def _set_bounce(self, value):
        if value is not None and not 0 <= value <= 1:
            raise PinInvalidBounce("bounce must be between 0 and 1 s "
                                   "(the gpio plugin's debounce)")
        self._bounce = value or None
        if self._watching:
            self._watch()

    def _get_edges(self):
        return self._edges

    def _set_edges(self, value):
        if value not in _EDGES:
            raise PinInvalidEdges(
                'invalid edges "%s" for pin %r' % (value, self))
        self._edges = value

    def _watch(self):
        """gpio watch: both edges (filtered here), the bounce as the
        debounce in whole milliseconds."""
        words = ["gpio", "watch", self._number, "both"]
        if self._bounce:
            words.append(max(1, int(round(self._bounce * 1000))))
        self._call(*words)

    def _stop_watch(self):
        self.factory.client.unsubscribe("gpio.%d" % self._number)
        self._call("gpio", "unwatch", self._number)
        self._watching = False

    def _on_event(self, event):
        if event.edge not in ("rising", "falling"):
            return
        if self._edges != "both" and event.edge != self._edges:
            return
        self._call_when_changed(self.factory.ticks(), event.level)

    def _enable_event_detect(self):
        with self._lock:
            self._watch()
            self.factory.client.subscribe("gpio.%d" % self._number,
                                          self._on_event)
            self._watching = True

    def _disable_event_detect(self):
        with self._lock:
            if self._watching and self.factory.client is not None:
                self._stop_watch()
