"""The plugin loader: refusals, [plugins] load, and plugin sections.

The test plugins are tests/plugins/*.c, built into DIR/tests/plugins/.
Each test gets a plugin directory holding exactly the plugins it names.
"""

import os

from harness import check, check_eq, check_match


def refused(t, names, load=None, *needles):
    """picmdd and picmdd -t refuse the plugins: exit 1, nothing bound,
    each needle ({dir} is the plugin directory) in stderr."""
    pdir = t.plugin_dir(names)
    path = t.config(plugins={"dir": pdir, "load": load})
    rc, _, err = t.run_picmdd("-c", path)
    check_eq(rc, 1, "exit status (stderr: %r)" % err)
    check("listening on" not in err, "bound a socket: %r" % err)
    check("info: ready:" not in err, "claims to be ready: %r" % err)
    check("plugins failed to load; not starting" in err,
          "no 'not starting' message: %r" % err)
    for needle in needles:
        want = needle.replace("{dir}", pdir)
        check(want in err, "stderr lacks %r:\n%s" % (want, err))
    rc, out, err_t = t.run_picmdd("-t", "-c", path)
    check_eq(rc, 1, "-t exit status")
    for needle in needles:
        want = needle.replace("{dir}", pdir)
        check(want in err_t, "-t stderr lacks %r:\n%s" % (want, err_t))
    return err


def test_refuses_a_wrong_abi_version(t):
    refused(t, ["diag", "bad_abi"], None,
            "{dir}/bad_abi.so: plugin ABI version 2, but this picmdd speaks "
            "version 1")


def test_refuses_a_missing_picmd_plugin_symbol(t):
    refused(t, ["diag", "no_symbol"], None,
            "{dir}/no_symbol.so: not a picmd plugin: no 'picmd_plugin' symbol")


def test_refuses_a_command_name_a_builtin_has(t):
    refused(t, ["diag", "dup_ping"], None,
            "{dir}/dup_ping.so: command 'ping' is already registered")


def test_refuses_a_command_name_another_plugin_has(t):
    refused(t, ["diag", "dup_diag"], "diag dup_diag",
            "{dir}/dup_diag.so: command 'diag sleep' is already registered")


def test_refuses_a_descriptor_name_unlike_the_file_name(t):
    refused(t, ["diag", "misnamed"], None,
            "{dir}/misnamed.so: plugin calls itself 'othername'; its file "
            "must be named othername.so")


def test_failed_init_is_undone(t):
    # init_fail registers "init_fail go" and "shared name", then fails;
    # reuse, loaded after it, registers the same names, which works only
    # if the loader removed init_fail's.  init_fail's state is freed by
    # its fini (the sanitizer check sees a leak otherwise).
    err = refused(t, ["init_fail", "reuse"], "init_fail reuse",
                  "{dir}/init_fail.so: plugin failed to initialise",
                  "init_fail: cannot open /dev/nothing-here")
    check("already registered" not in err,
          "init_fail's commands were not removed:\n%s" % err)
    check("reuse.so" not in err, "reuse.so was refused:\n%s" % err)


def test_refuses_a_missing_plugin_file(t):
    refused(t, ["diag"], "diag nothere", "{dir}/nothere.so: ",
            "No such file or directory")


def test_refuses_a_missing_plugin_directory(t):
    path = t.config(plugins={"dir": t.path("no-such-dir"), "load": None})
    rc, _, err = t.run_picmdd("-c", path)
    check_eq(rc, 1, "exit status")
    check_match(r"no-such-dir: .*No such file or directory", err, "stderr")
    check("info: ready:" not in err, "claims to be ready: %r" % err)


def test_default_loads_every_so_in_the_directory(t):
    pdir = t.plugin_dir(["diag", "tplug"])
    with open(os.path.join(pdir, "README"), "w") as f:
        f.write("not a plugin\n")
    with open(os.path.join(pdir, "old.so.bak"), "w") as f:
        f.write("not a plugin either\n")
    d = t.start(plugins={"dir": pdir, "load": None})
    d.wait_line("ready: 1 listeners, 2 plugins")
    c = d.connect()
    names = c.request("HELP").split()
    for want in ("diag.sleep", "tplug", "tplug.hello"):
        check(want in names, "HELP lacks %s: %r" % (want, names))
    check_eq(c.stats()["plugins"], 2, "STATS plugins")
    check_eq(c.request("tplug hello"), "OK hello", "tplug hello")
    check_eq(c.request("diag sleep 1"), "OK slept 1", "diag sleep")


def test_load_selects_plugins(t):
    pdir = t.plugin_dir(["diag", "tplug"])
    d = t.start(plugins={"dir": pdir, "load": "tplug"})
    d.wait_line("ready: 1 listeners, 1 plugins")
    c = d.connect()
    names = c.request("HELP").split()
    check("tplug.hello" in names, "HELP lacks tplug.hello: %r" % names)
    check("diag.sleep" not in names, "diag was loaded: %r" % names)
    check_match(r"^ERR UNKNOWN ", c.request("diag sleep 1"))
    check_eq(c.request("tplug a"), "OK 1:a", "tplug")


def test_empty_load_loads_nothing(t):
    pdir = t.plugin_dir(["diag", "tplug"])
    d = t.start(plugins={"dir": pdir, "load": ""})
    d.wait_line("ready: 1 listeners, 0 plugins")
    c = d.connect()
    names = c.request("HELP").split()[1:]
    for want in ("echo", "help", "ping", "quit", "stats", "version"):
        check(want in names, "HELP lacks %s: %r" % (want, names))
    check(not any(n.startswith(("diag", "tplug")) for n in names),
          "HELP lists plugin commands: %r" % names)
    check_eq(c.stats()["plugins"], 0, "STATS plugins")
    check_match(r"^ERR UNKNOWN ", c.request("diag sleep 1"))


def test_relative_plugin_dir_is_relative_to_the_config(t):
    t.plugin_dir(["diag"], name="mine")
    d = t.start(plugins={"dir": "mine"})
    check_eq(d.connect().request("diag sleep 1"), "OK slept 1", "diag")


def test_plugin_gets_its_config_section(t):
    pdir = t.plugin_dir(["diag", "tplug"])
    d = t.start(plugins={"dir": pdir, "load": None},
                extra="[tplug]\nreply = hi there\n")
    check_eq(d.connect().request("tplug hello"), "OK hi there", "tplug hello")


def test_plugin_refuses_an_unknown_key_with_its_line(t):
    pdir = t.plugin_dir(["diag", "tplug"])
    text = t.config_text(plugins={"dir": pdir, "load": None},
                         extra="[tplug]\nreply = x\nbogus = 1\n")
    path = t.write_config(text)
    rc, _, err = t.run_picmdd("-c", path)
    check_eq(rc, 1, "exit status")
    lineno = text.split("\n").index("bogus = 1") + 1
    want = "%s:%d: [tplug] unknown key 'bogus'" % (path, lineno)
    check(want in err, "stderr lacks %r:\n%s" % (want, err))
