"""Pure functions for picmd protocol 1 (docs/PROTOCOL.md): quoting words,
formatting request lines, parsing reply and event lines.  No I/O here.
"""

import re

from .errors import ProtocolError, error_from_reply

__all__ = ["quote", "to_word", "format_request", "Reply", "parse_reply",
           "Event", "parse_event", "topic_matches", "valid_tag"]

# Bytes that end a bare word: space, tab, the quote, control bytes.  A
# backslash may stand in a bare word, but quoting it too reads the same
# to the daemon and matches the C client (src/proto.c).
_BARE = re.compile(r'[^\x00-\x20"\\\x7f]+')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}
_UNSENDABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)")


def to_word(arg):
    """The protocol text of one argument: str as it is, bytes decoded as
    UTF-8, bool as "1" or "0", int and float with str().  Raises
    TypeError for any other type."""
    if isinstance(arg, str):
        return arg
    if isinstance(arg, bool):
        return "1" if arg else "0"
    if isinstance(arg, (int, float)):
        return str(arg)
    if isinstance(arg, (bytes, bytearray)):
        return bytes(arg).decode("utf-8")
    raise TypeError("a picmd argument must be str, bytes, int, float or "
                    "bool, not %s" % type(arg).__name__)


def quote(word):
    """One word as it goes on the wire: bare when that is safe, else in
    double quotes with \\" \\\\ \\n and \\t escaped.  "" for the empty word;
    a word starting with '#' is quoted so it is never taken for a tag.
    Raises ValueError for control bytes the protocol cannot carry (all of
    0x00-0x1f but tab and newline, and 0x7f)."""
    word = to_word(word)
    bad = _UNSENDABLE.search(word)
    if bad is not None:
        raise ValueError("control byte 0x%02x cannot be sent in a picmd "
                         "request" % ord(bad.group()))
    if _BARE.fullmatch(word) and not word.startswith("#"):
        return word
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in word) + '"'


def valid_tag(tag):
    """True when tag is 1 to 64 of A-Z a-z 0-9 . _ : -"""
    return isinstance(tag, str) and _TAG.fullmatch(tag) is not None


def format_request(words, tag=None):
    """The request line (str, without the LF) for words, each quoted as
    needed, with "#tag " first when a tag is given.  Raises ValueError
    for no words, a bad tag or an unsendable byte, TypeError for an
    argument of a type the protocol has no text for."""
    words = list(words)
    if not words:
        raise ValueError("a request needs a command")
    line = " ".join(quote(w) for w in words)
    if tag is None:
        return line
    if not valid_tag(tag):
        raise ValueError("bad tag %r: 1 to 64 of A-Z a-z 0-9 . _ : -"
                         % (tag,))
    return "#%s %s" % (tag, line)


class Reply:
    """One reply line: ``tag`` (None when untagged), ``ok`` (bool),
    ``code`` ("OK" or the error code), ``text`` (the payload or the
    error message, "" when none) and ``line`` (the line as received)."""

    __slots__ = ("tag", "ok", "code", "text", "line")

    def __init__(self, tag, ok, code, text, line):
        self.tag, self.ok, self.code = tag, ok, code
        self.text, self.line = text, line

    def error(self):
        """The exception for an error reply (None for OK)."""
        return None if self.ok else error_from_reply(self.code, self.text)

    def __repr__(self):
        return "Reply(%r)" % self.line


def parse_reply(line):
    """Parse "[#tag ]OK [payload]" or "[#tag ]ERR CODE [message]" (no LF)
    into a :class:`Reply`.  Raises :class:`ProtocolError` for anything
    else (an event line is not a reply: see :func:`parse_event`)."""
    rest, tag = line, None
    if rest.startswith("#"):
        tag, _, rest = rest[1:].partition(" ")
        if not valid_tag(tag):
            raise ProtocolError("bad tag in reply line %r" % line)
    word, _, text = rest.partition(" ")
    if word == "OK":
        return Reply(tag, True, "OK", text, line)
    if word == "ERR":
        code, _, text = text.partition(" ")
        if code:
            return Reply(tag, False, code, text, line)
    raise ProtocolError("not a reply line: %r" % line)


class Event:
    """One event line ("! topic what [values] [key=value ...] seq=N").

    - ``topic``: e.g. "gpio.17"; "overflow" for the "! overflow N" line
      that reports events the daemon dropped (``dropped`` gives N).
    - ``args``: the plain words after the topic, e.g. ["rising", "1"].
    - ``fields``: the key=value words, as strings, seq excluded.
    - ``seq``: the event's number on this connection (int), or None.
    - ``payload``: everything between the topic and " seq=N", as sent
      (what a serial line event carries).
    - ``line``: the line as received.
    """

    __slots__ = ("topic", "args", "fields", "seq", "payload", "line")

    def __init__(self, topic, args=(), fields=None, seq=None, line="",
                 payload=None):
        self.topic = topic
        self.args = list(args)
        self.fields = dict(fields or {})
        self.seq = seq
        self.line = line
        self.payload = payload if payload is not None else " ".join(args)

    @property
    def edge(self):
        """"rising" or "falling" for a GPIO edge event, else None."""
        if self.args and self.args[0] in ("rising", "falling"):
            return self.args[0]
        return None

    @property
    def level(self):
        """The level after a GPIO edge (int), or None."""
        if self.edge is not None and len(self.args) > 1:
            return _number(int, self.args[1])
        return None

    @property
    def ts(self):
        """The wall-clock time of the event in seconds (float), or None."""
        return _number(float, self.fields.get("ts"))

    @property
    def mono(self):
        """The monotonic-clock time of the event in seconds (float), or
        None."""
        return _number(float, self.fields.get("mono"))

    @property
    def dropped(self):
        """For an "overflow" event, how many events were dropped (int);
        else None."""
        if self.topic == "overflow" and self.args:
            return _number(int, self.args[0])
        return None

    def __repr__(self):
        return "Event(%r, %r, %r, seq=%r)" % (self.topic, self.args,
                                              self.fields, self.seq)


def _number(kind, text):
    try:
        return kind(text) if text is not None else None
    except ValueError:
        return None


def parse_event(line):
    """Parse an event line (starting with "!", no LF) into an
    :class:`Event`.  Raises :class:`ProtocolError` when it is not one."""
    if not line.startswith("! "):
        raise ProtocolError("not an event line: %r" % line)
    topic, _, rest = line[2:].partition(" ")
    if not topic:
        raise ProtocolError("event line without a topic: %r" % line)
    if topic == "overflow":
        return Event(topic, rest.split(), line=line, payload=rest)
    seq = None
    head, sep, tail = rest.rpartition(" seq=")
    if not sep and rest.startswith("seq="):
        head, sep, tail = "", " seq=", rest[4:]
    if sep and tail.isdigit():
        seq, rest = int(tail), head
    args, fields = [], {}
    for word in rest.split():
        m = _FIELD.fullmatch(word)
        if m is None:
            args.append(word)
        else:
            fields[m.group(1)] = m.group(2)
    return Event(topic, args, fields, seq, line, payload=rest)


def topic_matches(pattern, topic):
    """True when a SUBSCRIBE pattern covers topic: "*" every topic,
    "prefix.*" every topic starting with "prefix.", else the same name."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic
