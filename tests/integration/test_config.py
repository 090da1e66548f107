"""The command line and configuration errors (FILE:LINE: message)."""

import re
import socket

from harness import check, check_eq, check_match, line_number
from test_protocol import makefile_version


def start_fails(t, text, *needles):
    """picmdd refuses the config text: exit 1, nothing bound, and each
    needle (a format with {path} and {line:MARK}) in its stderr."""
    path = t.write_config(text)
    rc, _, err = t.run_picmdd("-c", path)
    check_eq(rc, 1, "exit status (stderr: %r)" % err)
    check("listening on" not in err, "bound a socket: %r" % err)
    check("info: ready:" not in err, "claims to be ready: %r" % err)
    for needle in needles:
        want = expand(needle, path, text)
        check(want in err, "stderr lacks %r:\n%s" % (want, err))
    return err


def expand(needle, path, text):
    """'{path}:{line:workers =}: x' -> '/tmp/../picmd.ini:3: x'."""
    needle = needle.replace("{path}", path)
    return re.sub(r"\{line:([^}]*)\}",
                  lambda m: str(line_number(text, m.group(1))), needle)


def test_unknown_key_in_a_core_section(t):
    text = t.config_text(server={"bogus": "1"})
    start_fails(t, text, "{path}:{line:bogus}: unknown key 'bogus' in "
                "[server]", "bad configuration; not starting")
    text = t.config_text(log={"colour": "yes"})
    start_fails(t, text, "{path}:{line:colour}: unknown key 'colour' in [log]")


def test_bad_values(t):
    cases = [
        ({"workers": "zero"}, "{path}:{line:workers}: bad value 'zero' for "
         "workers in [server]"),
        ({"workers": "0"}, "{path}:{line:workers}: bad value '0'"),
        ({"max_line": "10"}, "{path}:{line:max_line}: bad value '10' for "
         "max_line"),
        ({"queue": "-1"}, "{path}:{line:queue}: bad value '-1'"),
        ({"command_timeout_ms": "1s"}, "{path}:{line:command_timeout_ms}: "
         "bad value '1s'"),
        ({"idle_timeout_s": ""}, "{path}:{line:idle_timeout_s}: bad value"),
        ({"listen": "localhost:1"}, "{path}:{line:listen}: bad listen "
         "address 'localhost:1'"),
        ({"listen": "127.0.0.1:99999"}, "{path}:{line:listen}: bad listen "
         "address"),
        ({"listen": "unix:relative.sock"}, "{path}:{line:listen}: bad listen "
         "address"),
    ]
    for server, needle in cases:
        start_fails(t, t.config_text(server=server), needle)
    start_fails(t, t.config_text(log={"level": "loud"}),
                "{path}:{line:loud}: bad log level 'loud'")


def test_syntax_error_and_duplicate_key(t):
    text = t.config_text() + "[broken\n"
    start_fails(t, text, "{path}:{line:[broken}: syntax error")
    text = t.config_text() + "\nthis line is not ini\n"
    start_fails(t, text, "{path}:{line:this line}: syntax error")
    text = t.config_text(extra="[server]\nworkers = 2\n")
    lineno = len(text.rstrip("\n").split("\n"))
    start_fails(t, text, "{path}:%d: duplicate key 'workers'" % lineno)


def test_section_for_a_plugin_not_loaded(t):
    text = t.config_text(extra="[gpoi]\nchip = 0\n")
    start_fails(t, text, "{path}:{line:[gpoi]}: section [gpoi] is for a "
                "plugin named 'gpoi', which is not loaded")
    text = t.config_text(extra="[empty]\n")
    start_fails(t, text, "{path}:{line:[empty]}: section [empty]")


def test_plugin_config_errors_name_the_line(t):
    text = t.config_text(extra="[diag]\nspeed = fast\n")
    start_fails(t, text, "{path}:{line:speed}: [diag] unknown key 'speed'")


def test_missing_config_file(t):
    rc, _, err = t.run_picmdd("-c", t.path("nothere.ini"))
    check_eq(rc, 1, "exit status")
    check_match(r"nothere\.ini: cannot open", err, "stderr")


def test_check_mode_good_config(t):
    # -t binds nothing: the configured port may even be taken.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        path = t.config(server={"listen": "127.0.0.1:%d" % port})
        rc, out, err = t.run_picmdd("-t", "-c", path)
    finally:
        busy.close()
    check_eq(rc, 0, "exit status (stderr: %r)" % err)
    check_match(r"configuration OK \(1 plugins, \d+ commands\)", out, "stdout")
    check(path not in err, "problems reported: %r" % err)


def test_check_mode_lists_every_problem(t):
    text = t.config_text(server={"workers": "many", "bogus": "1",
                                 "max_line": "1"},
                         log={"level": "loud"})
    path = t.write_config(text)
    rc, _, err = t.run_picmdd("-t", "-c", path)
    check_eq(rc, 1, "exit status")
    for needle in ("{path}:{line:workers}: bad value 'many'",
                   "{path}:{line:bogus}: unknown key 'bogus'",
                   "{path}:{line:max_line}: bad value '1'",
                   "{path}:{line:loud}: bad log level 'loud'",
                   "configuration test failed"):
        want = expand(needle, path, text)
        check(want in err, "stderr lacks %r:\n%s" % (want, err))

    # Plugin problems are all listed too.
    text = t.config_text(plugins={"load": "diag nothere"},
                         extra="[diag]\nspeed = 1\n[other]\nx = 1\n")
    path = t.write_config(text)
    rc, _, err = t.run_picmdd("-t", "-c", path)
    check_eq(rc, 1, "exit status")
    for needle in ("{path}:{line:speed}: [diag] unknown key 'speed'",
                   "nothere.so: ",
                   "{path}:{line:[other]}: section [other]",
                   "configuration test failed"):
        want = expand(needle, path, text)
        check(want in err, "stderr lacks %r:\n%s" % (want, err))


def test_version_flag(t):
    rc, out, err = t.run_picmdd("-V")
    check_eq(rc, 0, "exit status")
    check_eq(out.strip(), "picmdd %s (protocol 1, plugin ABI 1)"
             % makefile_version(), "-V output")


def test_help_flag_and_bad_usage(t):
    rc, out, _ = t.run_picmdd("-h")
    check_eq(rc, 0, "-h exit status")
    check(out.startswith("usage: picmdd [-c FILE] [-t] [-V] [-h]"),
          "-h output %r" % out)
    for flag in ("-c", "-t", "-V", "-h"):
        check(flag in out, "-h does not describe %s" % flag)
    rc, out, err = t.run_picmdd("-x")
    check_eq(rc, 2, "-x exit status")
    check("usage: picmdd" in err, "-x prints no usage: %r" % err)
    rc, out, err = t.run_picmdd("extra-argument")
    check_eq(rc, 2, "extra argument exit status")
