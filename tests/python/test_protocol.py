"""picmd.protocol and picmd.errors without a daemon: quoting words as
docs/PROTOCOL.md says, request lines, reply and event lines, topic
patterns, error codes to exceptions, and the package version."""

import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "python"))

import picmd  # noqa: E402
from picmd import protocol  # noqa: E402
from picmd.errors import error_from_reply  # noqa: E402


def unquote_words(line):
    """The daemon's tokenizer (src/proto.c) for the tests: words of a
    request line without a tag."""
    words, i = [], 0
    while i < len(line):
        if line[i] in " \t":
            i += 1
            continue
        if line[i] != '"':
            j = i
            while j < len(line) and line[j] not in ' \t"':
                j += 1
            words.append(line[i:j])
            i = j
            continue
        out, i = [], i + 1
        while line[i] != '"':
            if line[i] == "\\":
                i += 1
                out.append({"n": "\n", "t": "\t"}.get(line[i], line[i]))
            else:
                out.append(line[i])
            i += 1
        words.append("".join(out))
        i += 1
        assert i == len(line) or line[i] in " \t", line
    return words


class QuoteTest(unittest.TestCase):

    def test_bare_when_safe(self):
        for word in ("PING", "gpio", "17", "a=b", "x.y:z-_", "ü€",
                     "!bang", "a#b"):
            self.assertEqual(protocol.quote(word), word)

    def test_quoted_with_escapes(self):
        cases = {
            "": '""',
            "two words": '"two words"',
            'say "hi"': '"say \\"hi\\""',
            "back\\slash": '"back\\\\slash"',
            "line\nbreak": '"line\\nbreak"',
            "tab\there": '"tab\\there"',
            "#notatag": '"#notatag"',
            '"': '"\\""',
        }
        for word, wire in cases.items():
            self.assertEqual(protocol.quote(word), wire, repr(word))
            self.assertEqual(unquote_words(wire), [word])

    def test_control_bytes_cannot_be_sent(self):
        for ch in ["\x00", "\x01", "\r", "\x1b", "\x1f", "\x7f"]:
            with self.assertRaises(ValueError, msg=repr(ch)):
                protocol.quote("a" + ch)

    def test_argument_types(self):
        self.assertEqual(protocol.to_word(True), "1")
        self.assertEqual(protocol.to_word(False), "0")
        self.assertEqual(protocol.to_word(17), "17")
        self.assertEqual(protocol.to_word(-2), "-2")
        self.assertEqual(protocol.to_word(0.5), "0.5")
        self.assertEqual(protocol.to_word("ü".encode()), "ü")
        self.assertEqual(protocol.to_word(bytearray(b"ab")), "ab")
        for bad in (None, [1], object()):
            with self.assertRaises(TypeError):
                protocol.to_word(bad)
        with self.assertRaises(UnicodeDecodeError):
            protocol.to_word(b"\xff")

    def test_format_request(self):
        self.assertEqual(protocol.format_request(["gpio", "write", 17, True]),
                         "gpio write 17 1")
        self.assertEqual(protocol.format_request(["ECHO", "a b"], "t-1.x:y"),
                         '#t-1.x:y ECHO "a b"')
        self.assertEqual(protocol.format_request(["#x"]), '"#x"')
        for bad_tag in ("", "a b", "é", "x" * 65, "a#"):
            with self.assertRaises(ValueError):
                protocol.format_request(["PING"], bad_tag)
        with self.assertRaises(ValueError):
            protocol.format_request([])
        self.assertTrue(protocol.valid_tag("x" * 64))


class ReplyTest(unittest.TestCase):

    def test_ok_lines(self):
        r = protocol.parse_reply("OK")
        self.assertEqual((r.tag, r.ok, r.code, r.text), (None, True, "OK", ""))
        r = protocol.parse_reply("#a.1 OK slept 10")
        self.assertEqual((r.tag, r.ok, r.text), ("a.1", True, "slept 10"))
        self.assertIsNone(r.error())
        r = protocol.parse_reply("OK  two  spaces ")
        self.assertEqual(r.text, " two  spaces ")

    def test_err_lines(self):
        r = protocol.parse_reply("#t ERR DEVICE line 54: out of range")
        self.assertEqual((r.tag, r.ok, r.code, r.text),
                         ("t", False, "DEVICE", "line 54: out of range"))
        e = r.error()
        self.assertIsInstance(e, picmd.DeviceError)
        self.assertEqual((e.code, e.message),
                         ("DEVICE", "line 54: out of range"))
        r = protocol.parse_reply("ERR NEWCODE")
        self.assertEqual((r.code, r.text), ("NEWCODE", ""))

    def test_not_replies(self):
        for line in ("", "PONG", "! gpio.1 rising 1 seq=1", "#bad tag OK",
                     "ERR", "#t", "OKAY", "# OK"):
            with self.assertRaises(picmd.ProtocolError, msg=repr(line)):
                protocol.parse_reply(line)


class EventTest(unittest.TestCase):

    def test_gpio_edge(self):
        line = ("! gpio.17 rising 1 ts=1733312345.123456789 "
                "mono=812.004113250 seq=42")
        ev = protocol.parse_event(line)
        self.assertEqual(ev.topic, "gpio.17")
        self.assertEqual(ev.args, ["rising", "1"])
        self.assertEqual(ev.fields, {"ts": "1733312345.123456789",
                                     "mono": "812.004113250"})
        self.assertEqual(ev.seq, 42)
        self.assertEqual(ev.line, line)
        self.assertEqual((ev.edge, ev.level), ("rising", 1))
        self.assertAlmostEqual(ev.ts, 1733312345.123456789, places=5)
        self.assertAlmostEqual(ev.mono, 812.00411325, places=8)
        self.assertIsNone(ev.dropped)
        ev = protocol.parse_event("! gpio.4 falling 0 seq=1")
        self.assertEqual((ev.edge, ev.level, ev.ts, ev.mono),
                         ("falling", 0, None, None))

    def test_other_events(self):
        ev = protocol.parse_event("! diag.x 7 seq=3")
        self.assertEqual((ev.topic, ev.args, ev.seq, ev.edge, ev.level),
                         ("diag.x", ["7"], 3, None, None))
        ev = protocol.parse_event("! serial.gps $GPGGA,1 a=b *47 seq=7")
        self.assertEqual(ev.payload, "$GPGGA,1 a=b *47")
        self.assertEqual(ev.fields, {"a": "b"})
        self.assertEqual(ev.seq, 7)
        ev = protocol.parse_event("! t.x what new=1 seq=9")
        self.assertEqual((ev.args, ev.fields), (["what"], {"new": "1"}))
        ev = protocol.parse_event("! t.x seq=2")
        self.assertEqual((ev.args, ev.seq), ([], 2))

    def test_overflow(self):
        ev = protocol.parse_event("! overflow 12")
        self.assertEqual((ev.topic, ev.dropped, ev.seq), ("overflow", 12, None))

    def test_not_events(self):
        for line in ("OK", "!", "! ", "!gpio.1 x"):
            with self.assertRaises(picmd.ProtocolError, msg=repr(line)):
                protocol.parse_event(line)

    def test_topic_patterns(self):
        m = protocol.topic_matches
        self.assertTrue(m("*", "gpio.17"))
        self.assertTrue(m("gpio.*", "gpio.17"))
        self.assertFalse(m("gpio.*", "gpiox.17"))
        self.assertFalse(m("gpio.*", "serial.gps"))
        self.assertTrue(m("gpio.17", "gpio.17"))
        self.assertFalse(m("gpio.17", "gpio.171"))


class ErrorTest(unittest.TestCase):

    def test_each_code_has_its_exception(self):
        table = {
            "UNKNOWN": picmd.UnknownCommandError, "ARGS": picmd.ArgsError,
            "PROTO": picmd.ProtocolError, "BUSY": picmd.BusyError,
            "TIMEOUT": picmd.CommandTimeout, "TOOLONG": picmd.TooLongError,
            "DENIED": picmd.DeniedError, "DEVICE": picmd.DeviceError,
            "INTERNAL": picmd.InternalError,
        }
        for code, cls in table.items():
            e = error_from_reply(code, "why")
            self.assertIs(type(e), cls)
            self.assertIsInstance(e, picmd.Error)
            self.assertEqual((e.code, e.message, str(e)),
                             (code, "why", code + " why"))
        e = error_from_reply("SOMETHING", "new")
        self.assertIs(type(e), picmd.Error)
        self.assertEqual(e.code, "SOMETHING")
        self.assertFalse(issubclass(picmd.CommandTimeout, TimeoutError))
        self.assertEqual(picmd.ConnectionLost().code, "CONNECTION")
        self.assertTrue(issubclass(picmd.NotConnected, picmd.ConnectionLost))

    def test_public_names_are_documented(self):
        import picmd.aio
        for mod in (picmd, picmd.aio):
            for name in mod.__all__:
                obj = getattr(mod, name)
                if name == "__version__":
                    continue
                self.assertTrue(obj.__doc__, "%s.%s" % (mod.__name__, name))
                for attr, member in vars(obj).items() if \
                        isinstance(obj, type) else ():
                    if not attr.startswith("_") and callable(member):
                        self.assertTrue(member.__doc__, "%s.%s.%s" % (
                            mod.__name__, name, attr))

    def test_version_follows_the_makefile(self):
        with open(os.path.join(TOP, "Makefile")) as f:
            m = re.search(r"^VERSION\s*:?=\s*(\S+)", f.read(), re.M)
        self.assertEqual(picmd.__version__, m.group(1))


if __name__ == "__main__":
    unittest.main()
