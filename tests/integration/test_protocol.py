"""Protocol 1: built-in commands, request syntax, tags and error replies."""

import os
import re

from harness import check, check_eq, check_match


def makefile_version():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "Makefile")) as f:
        return re.search(r"^VERSION\s*:?=\s*(\S+)", f.read(), re.M).group(1)


def test_ping(t):
    c = t.start().connect()
    check_eq(c.request("PING"), "OK PONG", "PING")
    check_eq(c.request("PING"), "OK PONG", "second PING")


def test_echo_words_and_quoting(t):
    c = t.start().connect()
    cases = [
        ("ECHO", "OK"),
        ("ECHO hello", "OK hello"),
        ("ECHO   hello \t  world  ", "OK hello world"),
        ("ECHO\thello\tworld", "OK hello world"),
        ('ECHO "two words" three', "OK two words three"),
        (r'ECHO "say \"hi\""', 'OK say "hi"'),
        (r'ECHO "back\\slash"', r"OK back\slash"),
        (r"ECHO a\b", r"OK a\b"),              # backslash outside quotes
        ('ECHO a "" b', "OK a  b"),            # an empty word
        ('ECHO "#notatag"', "OK #notatag"),
        ('ECHO "x" "y"', "OK x y"),
        # Control bytes in a payload travel as spaces: one line per reply.
        (r'ECHO "line\nbreak"', "OK line break"),
        (r'ECHO "tab\there"', "OK tab here"),
        ("ECHO Grüße", "OK Grüße"),            # bytes pass through
        ("ECHO MiXeD CaSe", "OK MiXeD CaSe"),  # arguments keep their case
    ]
    for line, want in cases:
        check_eq(c.request(line), want, "reply to %r" % line)


def test_help_lists_every_command(t):
    c = t.start().connect()
    reply = c.request("HELP")
    check(reply.startswith("OK "), "HELP reply %r" % reply)
    names = reply[3:].split(" ")
    for want in ("ping", "echo", "help", "version", "stats", "quit",
                 "diag.sleep", "diag.error"):
        check(want in names, "HELP does not list %s: %r" % (want, reply))
    check_eq(names, sorted(names), "HELP order")
    check_eq(len(names), len(set(names)), "HELP names are unique")
    check_eq(int(c.stats()["commands"]), len(names), "STATS commands")


def test_help_for_one_command(t):
    c = t.start().connect()
    for line, want in [
        ("HELP diag sleep", "OK diag sleep <ms>"),
        ("HELP diag.sleep", "OK diag sleep <ms>"),
        ("HELP DIAG.Sleep", "OK diag sleep <ms>"),
        ("HELP diag error", "OK diag error <CODE> [message]"),
        ("HELP ping", "OK PING"),
        ("help echo", "OK ECHO [word ...]"),
    ]:
        check_eq(c.request(line), want, "reply to %r" % line)
    check_match(r"^ERR UNKNOWN ", c.request("HELP nosuchcommand"))
    check_match(r"^ERR UNKNOWN ", c.request("HELP diag"))


def test_version(t):
    version = makefile_version()
    c = t.start().connect()
    check_eq(c.request("VERSION"), "OK picmd %s protocol 1" % version,
             "VERSION")
    check_match(r"^ERR ARGS usage: VERSION$", c.request("VERSION 2"))


def test_stats_keys_and_values(t):
    c = t.start(server={"workers": "3"}).connect()
    check_eq(c.request("PING"), "OK PONG", "PING")
    check_match(r"^ERR UNKNOWN", c.request("NOSUCH"))
    check_eq(c.request("diag error DEVICE x"), "ERR DEVICE x", "diag error")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "diag sleep")
    s = c.stats()
    for key in ("uptime_s", "clients", "commands_total", "errors_total",
                "busy_total", "timeouts_total", "queue_depth", "workers",
                "connections_total", "replies_total", "dropped_total",
                "inflight"):
        check(key in s, "STATS has no %s: %r" % (key, s))
        check(isinstance(s[key], int) and s[key] >= 0,
              "STATS %s=%r is not a count" % (key, s[key]))
    check(s["uptime_s"] < 600, "uptime_s=%d" % s["uptime_s"])
    check_eq(s["clients"], 1, "clients")
    check_eq(s["connections_total"], 1, "connections_total")
    check_eq(s["commands_total"], 5, "commands_total (STATS counts itself)")
    check_eq(s["replies_total"], 4, "replies_total (not yet this one)")
    check_eq(s["errors_total"], 2, "errors_total")
    check_eq(s["busy_total"], 0, "busy_total")
    check_eq(s["timeouts_total"], 0, "timeouts_total")
    check_eq(s["dropped_total"], 0, "dropped_total")
    check_eq(s["queue_depth"], 0, "queue_depth")
    check_eq(s["inflight"], 0, "inflight")
    check_eq(s["workers"], 3, "workers")
    c2 = t.daemons[0].connect()
    s2 = c2.stats()
    check_eq(s2["clients"], 2, "clients with two connections")
    check_eq(s2["commands_total"], 6, "commands_total across clients")


def test_quit_after_pipelined_replies(t):
    c = t.start().connect()
    c.send_lines(["#slow diag sleep 400", "diag sleep 100", "PING", "QUIT",
                  "PING"])
    replies = c.read_lines(4)
    check_eq(replies[-1], "OK BYE", "last reply")
    check_eq(sorted(replies[:3]), sorted(["#slow OK slept 400",
                                          "OK slept 100", "OK PONG"]),
             "replies before BYE")
    check(replies.index("OK slept 100") < replies.index("OK PONG"),
          "untagged order: %r" % replies)
    c.expect_eof()


def test_quit_tagged(t):
    c = t.start().connect()
    check_eq(c.request("#bye QUIT"), "#bye OK BYE", "tagged QUIT")
    c.expect_eof()
    c2 = t.daemons[0].connect()
    check_match(r"^ERR ARGS usage: QUIT$", c2.request("quit now"))
    check_eq(c2.request("quit"), "OK BYE", "lower-case quit")
    c2.expect_eof()


def test_command_names_are_case_insensitive(t):
    c = t.start().connect()
    for line, want in [("ping", "OK PONG"), ("PiNg", "OK PONG"),
                       ("Echo A b", "OK A b"), ("DIAG SLEEP 0", "OK slept 0"),
                       ("Diag Error denied no", "ERR DENIED no"),
                       ("version", None)]:
        reply = c.request(line)
        if want is None:
            check_match(r"^OK picmd ", reply)
        else:
            check_eq(reply, want, "reply to %r" % line)


def test_blank_lines_get_no_reply(t):
    c = t.start().connect()
    c.send("\n   \n\t\n\r\nECHO 1\n \t \r\n\nECHO 2\n\n")
    check_eq(c.read_lines(2), ["OK 1", "OK 2"], "replies")
    # Nothing else is owed: the next reply is the next request's.
    check_eq(c.request("ECHO 3"), "OK 3", "reply after blank lines")
    check_eq(c.stats()["commands_total"], 4, "blank lines are not commands")


def test_crlf_line_endings(t):
    c = t.start().connect()
    c.send("PING\r\nECHO a b\r\n#t1 ECHO x\r\nECHO \"q\"\r\n")
    check_eq(c.read_lines(4), ["OK PONG", "OK a b", "#t1 OK x", "OK q"],
             "CRLF replies")


def test_tags_are_echoed(t):
    c = t.start().connect()
    tag64 = "T" * 64
    for line, want in [
        ("#t1 PING", "#t1 OK PONG"),
        ("#A.b_c:d-9 ECHO x y", "#A.b_c:d-9 OK x y"),
        ("#%s PING" % tag64, "#%s OK PONG" % tag64),
        ("#1 diag sleep 0", "#1 OK slept 0"),
        ("#e diag error BUSY later", "#e ERR BUSY later"),
        ("#u NOSUCH", None),
        ("#a PING extra", "#a ERR ARGS usage: PING"),
        ("  #lead PING", "#lead OK PONG"),
    ]:
        reply = c.request(line)
        if want is None:
            check_match(r"^#u ERR UNKNOWN ", reply)
        else:
            check_eq(reply, want, "reply to %r" % line)


def test_bad_tags_are_proto_errors(t):
    c = t.start().connect()
    for line in ["#bad!tag PING", "# PING", "#%s PING" % ("T" * 65),
                 "#tag\"x PING", "#tág PING"]:
        check_match(r"^ERR PROTO ", c.request(line), "reply to %r" % line)
    check_match(r"^#lonely ERR PROTO ", c.request("#lonely"))
    check_eq(c.request("PING"), "OK PONG", "PING after PROTO errors")


def test_bad_quoting_is_proto_error(t):
    c = t.start().connect()
    for line in ['ECHO "unterminated', 'ECHO a"b', 'ECHO "a"b',
                 r'ECHO "bad\q"', 'ECHO "ends with backslash\\',
                 'ECHO """', "PING\x01", "ECHO a\x7fb", "PING\x00"]:
        check_match(r"^ERR PROTO ", c.request(line), "reply to %r" % line)
    check_match(r"^#q ERR PROTO ", c.request('#q ECHO "open'))
    check_eq(c.request("PING"), "OK PONG", "PING after PROTO errors")


def test_too_many_words(t):
    c = t.start().connect()
    words = ["w%d" % i for i in range(127)]
    check_eq(c.request("ECHO " + " ".join(words)), "OK " + " ".join(words),
             "128 words")
    check_match(r"^ERR PROTO ", c.request("ECHO " + " ".join(words + ["x"])),
                "129 words")


def test_unknown_command(t):
    c = t.start().connect()
    check_match(r"^ERR UNKNOWN .*frobnicate", c.request("frobnicate now"))
    check_match(r"^ERR UNKNOWN ", c.request("diag"))
    check_match(r"^ERR UNKNOWN ", c.request("diag frob 1"))


def test_wrong_argument_count(t):
    c = t.start().connect()
    for line, want in [
        ("PING extra", "ERR ARGS usage: PING"),
        ("STATS all", "ERR ARGS usage: STATS"),
        ("diag sleep", "ERR ARGS usage: diag sleep <ms>"),
        ("diag sleep 1 2", "ERR ARGS usage: diag sleep <ms>"),
        ("diag error", "ERR ARGS usage: diag error <CODE> [message]"),
        ("diag error A B C", "ERR ARGS usage: diag error <CODE> [message]"),
        ("HELP a b c d e", "ERR ARGS usage: HELP [command]"),
    ]:
        check_eq(c.request(line), want, "reply to %r" % line)
    # A handler's own argument check answers ARGS too.
    check_match(r"^ERR ARGS milliseconds", c.request("diag sleep soon"))
    check_match(r"^ERR ARGS milliseconds", c.request("diag sleep 60001"))


def test_plugin_error_replies(t):
    c = t.start().connect()
    for line, want in [
        ("diag error DEVICE boom", "ERR DEVICE boom"),
        ('diag error DEVICE "gpio 17: no such line"',
         "ERR DEVICE gpio 17: no such line"),
        ("diag error device", "ERR DEVICE diag error"),
        ("diag error ARGS x", "ERR ARGS x"),
        ("diag error BUSY x", "ERR BUSY x"),
        ("diag error TIMEOUT x", "ERR TIMEOUT x"),
        ("diag error DENIED x", "ERR DENIED x"),
        ("diag error INTERNAL x", "ERR INTERNAL x"),
        (r'diag error DEVICE "two\nlines"', "ERR DEVICE two lines"),
        ("#tag diag error DEVICE boom", "#tag ERR DEVICE boom"),
    ]:
        check_eq(c.request(line), want, "reply to %r" % line)
    check_match(r"^ERR ARGS unknown code", c.request("diag error NOPE"))
    s = c.stats()
    check_eq(s["errors_total"], 11, "errors_total")
    check_eq(s["timeouts_total"], 0, "a plugin's TIMEOUT is not a timeout")
    check_eq(s["busy_total"], 0, "a plugin's BUSY is not a full queue")


def test_plugin_gets_parsed_words_longest_name_wins(t):
    pdir = t.plugin_dir(["diag", "tplug"])
    c = t.start(plugins={"dir": pdir, "load": None}).connect()
    for line, want in [
        ("tplug", "OK 0:"),
        ("tplug a b", "OK 2:a|b"),
        ('tplug "a b" c', "OK 2:a b|c"),
        (r'tplug "x\"y" "" z', 'OK 3:x"y||z'),
        ("TPLUG HELLO", "OK hello"),          # "tplug hello" beats "tplug"
        ("tplug helloo", "OK 1:helloo"),
        ("tplug x hello", "OK 2:x|hello"),
        ("tplug hello there", "ERR ARGS usage: tplug hello"),
    ]:
        check_eq(c.request(line), want, "reply to %r" % line)
