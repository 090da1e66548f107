"""What the threaded and the asyncio client share: settings from the
arguments and the environment, the reconnect backoff, the subscription
registry that routes events, and the parsing of convenience replies.
Nothing here does I/O on a socket."""

import logging
import os
import re

from .errors import (ArgsError, ConnectionLost, DeniedError, Error,
                     NotConnected, ProtocolError)
from .protocol import parse_event, parse_reply, topic_matches

log = logging.getLogger("picmd")

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 15769
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
KEEPALIVE_TAG_PREFIX = "lease"


class Settings:
    """Where and how to connect: explicit
    arguments first, then PICMD_HOST, PICMD_PORT and PICMD_TOKEN."""

    def __init__(self, host=None, port=None, unix=None, token=None,
                 token_file=None, timeout=5.0, reconnect=True):
        env = os.environ
        self.unix = unix
        self.host = host or env.get("PICMD_HOST") or DEFAULT_HOST
        port = port if port is not None else env.get("PICMD_PORT")
        try:
            self.port = int(port) if port not in (None, "") \
                else DEFAULT_PORT
        except ValueError:
            raise ValueError("bad picmd port %r" % (port,)) from None
        if token is None and token_file is not None:
            token = read_token_file(token_file)
        if token is None:
            token = env.get("PICMD_TOKEN") or None
        self.token = token
        self.timeout = timeout
        self.reconnect = reconnect

    def where(self):
        """"unix:PATH" or "HOST:PORT", for messages."""
        if self.unix is not None:
            return "unix:%s" % self.unix
        return "%s:%d" % (self.host, self.port)

    def not_connected(self, why):
        return NotConnected("cannot reach picmd at %s (%s); the request "
                            "was not sent" % (self.where(), why))


def read_token_file(path):
    """The first line of the token file at path, without its line end.
    Raises OSError when it cannot be read, ValueError when it is empty."""
    with open(os.path.expanduser(path), encoding="utf-8") as f:
        token = f.readline().rstrip("\r\n")
    if not token:
        raise ValueError("%s: no token in it" % path)
    return token


def backoff_delays():
    """Reconnect delays: 0.1 s doubling up to 5 s, for ever."""
    delay = BACKOFF_FIRST
    while True:
        yield delay
        delay = min(delay * 2, BACKOFF_MAX)


def is_fatal(exc):
    """Whether a failure while (re)connecting is worth reporting to the
    calls that wait: a refused token will not get better by retrying
    at once, unlike a refused connection."""
    return isinstance(exc, DeniedError)


def parse_stats(payload):
    """"a=1 b=x" -> {"a": 1, "b": "x"}: values as int when they are."""
    stats = {}
    for pair in payload.split():
        key, _, value = pair.partition("=")
        stats[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return stats


def help_words(command):
    """The words of HELP [command]: "gpio read" and "gpio.read" both
    name a command."""
    return ["HELP"] + (str(command).split() if command else [])


def help_result(command, payload):
    """HELP's answer: the list of command names, or a command's usage."""
    return payload if command else payload.split()


def lease_words(ms):
    """LEASE <ms> or LEASE OFF (ms None); ms must be a positive int."""
    if ms is None:
        return ["LEASE", "OFF"]
    if isinstance(ms, bool) or not isinstance(ms, int) or ms <= 0:
        raise ArgsError("lease length must be a positive int of "
                        "milliseconds, not %r" % (ms,))
    return ["LEASE", ms]


def keepalive_interval(ms):
    """Seconds between keep-alive PINGs for a lease of ms milliseconds."""
    return ms / 3000.0


def new_canonical(pattern, before, after):
    """The name the daemon lists for a just-made subscription: what
    SUBSCRIPTIONS gained (the daemon may rename an alias, gpio.GPIO17 is
    gpio.17), else the pattern itself."""
    gained = [t for t in after.split() if t not in before.split()]
    return gained[0] if gained else pattern


class Subscription:
    """One pattern the client subscribed: the daemon's name for it, the
    callbacks to run and how many event streams read it."""

    __slots__ = ("pattern", "canonical", "callbacks", "streams")

    def __init__(self, pattern, canonical):
        self.pattern = pattern
        self.canonical = canonical
        self.callbacks = []
        self.streams = 0

    def matches(self, topic):
        return topic_matches(self.canonical, topic) or \
            topic_matches(self.pattern, topic)

    def idle(self):
        return not self.callbacks and self.streams == 0


class Registry:
    """Subscriptions and event streams of one client, and who gets an
    event.  The caller holds whatever lock its threads need."""

    def __init__(self):
        self.subs = {}          # pattern -> Subscription
        self.streams = []       # objects with .pattern and .push(event)

    def patterns(self):
        return list(self.subs)

    def add(self, pattern, before, after):
        """Record a subscription just made, from SUBSCRIPTIONS before and
        after the SUBSCRIBE."""
        self.subs[pattern] = Subscription(
            pattern, new_canonical(pattern, before, after))

    def remove(self, pattern):
        """Forget pattern; True when the daemon's subscription should go
        too (no other pattern of the client names the same topic)."""
        sub = self.subs.pop(pattern, None)
        if sub is None:
            return True
        return all(s.canonical != sub.canonical for s in self.subs.values())

    def targets(self, event):
        """(callbacks, streams) an event goes to.  An overflow report
        goes to every callback and stream: it is about the connection."""
        every = event.topic == "overflow"
        callbacks, seen = [], set()
        for sub in self.subs.values():
            if every or sub.matches(event.topic):
                for cb in sub.callbacks:
                    if id(cb) not in seen:
                        seen.add(id(cb))
                        callbacks.append(cb)
        streams = [s for s in self.streams
                   if every or s.pattern is None or
                   self._stream_matches(s.pattern, event.topic)]
        return callbacks, streams

    def _stream_matches(self, pattern, topic):
        sub = self.subs.get(pattern)
        if sub is not None:
            return sub.matches(topic)
        return topic_matches(pattern, topic)


def classify(raw):
    """A line from the daemon (bytes, without its LF): ("event", Event),
    ("reply", Reply), or (None, None) for a line that is neither
    (logged)."""
    line = raw.rstrip(b"\r").decode("utf-8", "replace")
    try:
        if line.startswith("!"):
            return "event", parse_event(line)
        return "reply", parse_reply(line)
    except ProtocolError as e:
        log.warning("picmd: %s", e)
        return None, None


class LineRouter:
    """What both clients do with a line the daemon sent: an event goes to
    the streams and the callbacks' queue (``_callbacks``, with
    put_nowait), a tagged reply to ``_on_reply(reply)``, the untagged
    TOOLONG to ``_on_toolong(conn, reply, limit)``.  ``_guard()`` is the
    context that protects the registry."""

    def _on_line(self, conn, raw):
        kind, item = classify(raw)
        if kind == "event":
            with self._guard():
                callbacks, streams = self._registry.targets(item)
            for stream in streams:
                stream.push(item)
            for callback in callbacks:
                self._callbacks.put_nowait((callback, item))
        elif kind == "reply" and item.tag is not None:
            self._on_reply(item)
        elif kind == "reply":
            limit = toolong_limit(item)
            if limit is not None:
                self._on_toolong(conn, item, limit)


def toolong_limit(reply):
    """For the untagged ERR TOOLONG reply ("line longer than N bytes"),
    N; None for any other untagged reply (logged: every request of the
    clients is tagged)."""
    words = reply.text.split()
    if reply.code != "TOOLONG":
        log.warning("picmd: unexpected reply %r", reply.line)
        return None
    return int(words[3]) if len(words) > 3 and words[3].isdigit() else 0


def lost_error(settings):
    return ConnectionLost("the connection to %s dropped while the request "
                          "was in flight; it may have run"
                          % settings.where())


def log_restore_failure(what, exc):
    log.warning("picmd: after reconnecting, %s failed: %s", what, exc)


def closed_error():
    return NotConnected("the picmd client is closed; the request was not "
                        "sent")


__all__ = ["Settings", "Registry", "Subscription", "Error"]
