"""make install / make uninstall into a scratch DESTDIR (mk/install.mk).

The tests install the build under test with "make install-files" (the
copying half of "make install", which never compiles), so they neither
rebuild nor touch the build directory: the tree, the modes, the paths in
the installed unit and configuration, "picmdd -t" on the installed
configuration with the installed plugins, a configuration that is never
overwritten and removed only while unchanged, and an uninstall that
leaves only empty directories.  Also: a PREFIX change rebuilds config.o
(the compiled-in plugin directory), and nothing else.
"""

import os
import re
import stat
import subprocess
import time

import harness
from harness import Failure, check, check_eq, check_match

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))

# The plugins as the Makefile finds them: commands/NAME.c, and each folder
# commands/NAME/ of .c files but commands/common/ (shared code compiled
# into every plugin, not a plugin itself).
PLUGIN_SOURCES = sorted(
    {name[:-2] for name in os.listdir(os.path.join(TOP, "commands"))
     if name.endswith(".c")} |
    {name for name in os.listdir(os.path.join(TOP, "commands"))
     if os.path.isdir(os.path.join(TOP, "commands", name))
     and name != "common"})


# The Python package's modules, and the version the dist-info names.
PY_MODULES = sorted(n for n in os.listdir(os.path.join(TOP, "python",
                                                       "picmd"))
                    if n.endswith(".py"))
VERSION = re.search(r"^VERSION\s*:=\s*(\S+)", open(
    os.path.join(TOP, "Makefile")).read(), re.M).group(1)


def python_dir(prefix):
    """Where make install puts the package: Debian's dist-packages for
    /usr, else the one Debian's python3 reads under the prefix."""
    if prefix == "/usr":
        return "/usr/lib/python3/dist-packages"
    ver = subprocess.run(["/usr/bin/python3", "-c", "import sys; print("
                          "'python%d.%d' % sys.version_info[:2])"],
                         stdout=subprocess.PIPE, check=True).stdout
    return "%s/lib/%s/dist-packages" % (prefix, ver.decode().strip())


def make(t, *args, check_status=True):
    """Run make at the top of the tree: (status, output)."""
    env = dict(os.environ)
    # Not the calling make's jobserver or command-line variables.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(name, None)
    proc = subprocess.run(["make", "--no-print-directory"] + list(args),
                          cwd=TOP, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=120)
    out = proc.stdout.decode("utf-8", "replace")
    if check_status and proc.returncode != 0:
        raise Failure("make %s failed (%d):\n%s" % (" ".join(args),
                                                    proc.returncode, out))
    return proc.returncode, out


def install(t, dest, *extra):
    return make(t, "install-files", "BUILD=" + t.build, "DESTDIR=" + dest,
                *extra)[1]


def uninstall(t, dest, *extra):
    return make(t, "uninstall", "BUILD=" + t.build, "DESTDIR=" + dest,
                *extra)[1]


def tree(root):
    """{relative path: (kind, mode)} of everything under root."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            kind = ("dir" if stat.S_ISDIR(st.st_mode) else
                    "file" if stat.S_ISREG(st.st_mode) else "other")
            found["/" + os.path.relpath(path, root)] = (
                kind, stat.S_IMODE(st.st_mode))
    return found


def files(root):
    return {p: m for p, (k, m) in tree(root).items() if k != "dir"}


def read(path):
    with open(path) as f:
        return f.read()


def udev_rules_dir(prefix, unitdir):
    """Beside the units for PREFIX=/usr (/lib or /usr/lib), where udev
    reads them; /etc/udev/rules.d for any other prefix."""
    if prefix != "/usr":
        return "/etc/udev/rules.d"
    return unitdir.replace("/systemd/system", "/udev/rules.d")


def expected_files(prefix, unitdir, sysusersdir, tmpfilesdir):
    want = {
        prefix + "/sbin/picmdd": 0o755,
        prefix + "/bin/picmd": 0o755,
        prefix + "/include/picmd/plugin.h": 0o644,
        prefix + "/share/man/man1/picmd.1": 0o644,
        prefix + "/share/man/man8/picmdd.8": 0o644,
        "/etc/picmd/picmd.ini": 0o644,
        unitdir + "/picmd.service": 0o644,
        unitdir + "/picmd.socket": 0o644,
        sysusersdir + "/picmd.conf": 0o644,
        tmpfilesdir + "/picmd.conf": 0o644,
        udev_rules_dir(prefix, unitdir) + "/60-picmd.rules": 0o644,
    }
    for name in PLUGIN_SOURCES:
        want["%s/lib/picmd/commands/%s.so" % (prefix, name)] = 0o644
    py = python_dir(prefix)
    for name in PY_MODULES:
        want["%s/picmd/%s" % (py, name)] = 0o644
    for name in ("METADATA", "entry_points.txt"):
        want["%s/picmd-%s.dist-info/%s" % (py, VERSION, name)] = 0o644
    return want


def unit_dir(dest, name="picmd.service"):
    hits = [p for p in files(dest) if p.endswith("/" + name)]
    check_eq(len(hits), 1, "installed %s files" % name)
    return os.path.dirname(hits[0])


def run_installed_picmdd(t, dest, prefix, config):
    """picmdd -t with the installed program: (status, output)."""
    proc = subprocess.run(harness.WRAPPER + [dest + prefix + "/sbin/picmdd",
                                             "-t", "-c", config],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=harness.daemon_env(),
                          timeout=harness.READY_TIMEOUT)
    out = proc.stdout.decode("utf-8", "replace")
    bad = harness.sanitizer_problems(out)
    check(not bad, "sanitizer report from the installed picmdd:\n" + out)
    return proc.returncode, out


def test_install_with_prefix_usr(t):
    dest = t.path("root")
    install(t, dest, "PREFIX=/usr")
    unitdir = unit_dir(dest)
    check(unitdir in ("/lib/systemd/system", "/usr/lib/systemd/system"),
          "unit directory %s for PREFIX=/usr" % unitdir)
    want = expected_files("/usr", unitdir, "/usr/lib/sysusers.d",
                          "/usr/lib/tmpfiles.d")
    got = files(dest)
    check_eq(sorted(got), sorted(want), "installed files")
    for path, mode in want.items():
        check_eq(oct(got[path]), oct(mode), "mode of " + path)
    dirs = tree(dest)
    for path in ("/usr/lib/picmd/commands", "/usr/include/picmd",
                 "/etc/picmd"):
        check_eq(dirs[path], ("dir", 0o755), path)
    # The Python package imports from there, and gpiozero finds its pin
    # factory through the dist-info's entry point.
    proc = subprocess.run(
        ["/usr/bin/python3", "-c", "import picmd, importlib.metadata as m; "
         "print(picmd.__file__); print([e.value for e in m.distribution("
         "'picmd').entry_points if e.group == 'gpiozero_pin_factories'])"],
        env=dict(os.environ, PYTHONPATH=dest + python_dir("/usr")),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = proc.stdout.decode()
    check_eq(out.splitlines()[-1:], ["['picmd.gpiozero:PicmdFactory']"],
             "the entry point (%s)" % out)
    check(out.startswith(dest + python_dir("/usr") + "/picmd/"),
          "imported from the install: %r" % out)

    unit = read(dest + unitdir + "/picmd.service")
    check_match(r"(?m)^ExecStartPre=/usr/sbin/picmdd -t -c "
                r"/etc/picmd/picmd.ini$", unit, "unit")
    check_match(r"(?m)^ExecStart=/usr/sbin/picmdd -c /etc/picmd/picmd.ini$",
                unit, "unit")
    check_eq(unit, read(os.path.join(TOP, "systemd", "picmd.service")),
             "the unit for PREFIX=/usr (the source's own paths)")
    for src, inst in (("picmd.socket", unitdir + "/picmd.socket"),
                      ("picmd.sysusers", "/usr/lib/sysusers.d/picmd.conf"),
                      ("picmd.tmpfiles", "/usr/lib/tmpfiles.d/picmd.conf"),
                      ("picmd.udev", udev_rules_dir("/usr", unitdir) +
                       "/60-picmd.rules")):
        check_eq(read(dest + inst), read(os.path.join(TOP, "systemd", src)),
                 inst)
    for src, inst in (("include/picmd/plugin.h",
                       "/usr/include/picmd/plugin.h"),
                      ("docs/picmd.1", "/usr/share/man/man1/picmd.1"),
                      ("docs/picmdd.8", "/usr/share/man/man8/picmdd.8")):
        check_eq(read(dest + inst), read(os.path.join(TOP, src)), inst)
    for name in PLUGIN_SOURCES:
        inst = "%s/usr/lib/picmd/commands/%s.so" % (dest, name)
        with open(inst, "rb") as a, \
                open(os.path.join(t.commands, name + ".so"), "rb") as b:
            check(a.read() == b.read(), "%s is not the build's" % inst)


def test_installed_config_is_secure_and_loads_the_installed_plugins(t):
    dest = t.path("root")
    install(t, dest, "PREFIX=/usr")
    text = read(dest + "/etc/picmd/picmd.ini")
    active = [line.split(";")[0].strip() for line in text.split("\n")]
    active = [line for line in active if line]
    check_eq([line for line in active if line.startswith("listen")],
             ["listen = 127.0.0.1:15769, unix:/run/picmd/picmd.sock"],
             "listen: localhost and the Unix socket only")
    check("dir = /usr/lib/picmd/commands" in active, "plugin dir: %r"
          % active)
    check(not any(line.startswith(("token", "admin_token", "allow"))
                  for line in active), "a [security] setting is active")
    # Commented lines show the way to the LAN and to the security settings.
    for needle in ("; listen = 0.0.0.0:15769", "; token_file = ",
                   "; allow = ", "IPAddressAllow=", "docs/SECURITY.md"):
        check(needle in text, "%r is not in the installed config" % needle)

    # picmdd -t with the installed program, plugins and configuration
    # (its plugin directory moved into DESTDIR).
    config = t.path("installed.ini")
    with open(config, "w") as f:
        f.write(text.replace("dir = /usr/lib/picmd/commands",
                             "dir = " + dest + "/usr/lib/picmd/commands"))
    rc, out = run_installed_picmdd(t, dest, "/usr", config)
    check_eq(rc, 0, "picmdd -t status (output: %r)" % out)
    # gpio led pwm w1 sys i2c spi serial; serial with its empty [serial] section.
    check_match(r"configuration OK \(8 plugins, \d+ commands\)", out,
                "picmdd -t")


def test_install_with_prefix_usr_local_and_others(t):
    for prefix, unitdir, sysusers, tmpfiles in (
            ("/usr/local", "/usr/local/lib/systemd/system",
             "/usr/local/lib/sysusers.d", "/usr/local/lib/tmpfiles.d"),
            ("/opt/picmd", "/etc/systemd/system", "/etc/sysusers.d",
             "/etc/tmpfiles.d")):
        dest = t.path("root" + prefix.replace("/", "_"))
        install(t, dest, "PREFIX=" + prefix)
        want = expected_files(prefix, unitdir, sysusers, tmpfiles)
        check_eq(sorted(files(dest)), sorted(want),
                 "installed files, PREFIX=" + prefix)
        unit = read(dest + unitdir + "/picmd.service")
        check_match(r"(?m)^ExecStart=%s/sbin/picmdd -c /etc/picmd/picmd.ini$"
                    % re.escape(prefix), unit, "unit, PREFIX=" + prefix)
        check("/usr/sbin/picmdd" not in unit, "unit still names "
              "/usr/sbin/picmdd with PREFIX=" + prefix)
        check_match(r"(?m)^dir = %s/lib/picmd/commands$" % re.escape(prefix),
                    read(dest + "/etc/picmd/picmd.ini"),
                    "config, PREFIX=" + prefix)


def test_install_never_overwrites_the_config(t):
    dest = t.path("root")
    os.makedirs(dest + "/etc/picmd")
    mine = "; the administrator's\n[server]\nlisten = 0.0.0.0:15769\n"
    with open(dest + "/etc/picmd/picmd.ini", "w") as f:
        f.write(mine)
    out = install(t, dest, "PREFIX=/usr")
    check("kept the existing" in out, "install did not say it kept the "
          "config:\n" + out)
    check_eq(read(dest + "/etc/picmd/picmd.ini"), mine, "config after install")
    out = uninstall(t, dest, "PREFIX=/usr")
    check("was changed since install" in out, "uninstall did not say it "
          "kept the config:\n" + out)
    check_eq(sorted(files(dest)), ["/etc/picmd/picmd.ini"],
             "files left by uninstall")
    check_eq(read(dest + "/etc/picmd/picmd.ini"), mine, "config left")


def test_uninstall_removes_what_install_added(t):
    for prefix in ("/usr", "/usr/local"):
        dest = t.path("root" + prefix.replace("/", "_"))
        os.makedirs(dest + "/usr/share/man/man1")
        other = dest + "/usr/share/man/man1/other.1"
        with open(other, "w") as f:
            f.write("not picmd's\n")
        install(t, dest, "PREFIX=" + prefix)
        # An unchanged config goes, as dpkg does with a conffile.
        uninstall(t, dest, "PREFIX=" + prefix)
        check_eq(sorted(files(dest)), ["/usr/share/man/man1/other.1"],
                 "files left by uninstall, PREFIX=" + prefix)
        left = sorted(p for p, (k, _) in tree(dest).items() if k == "dir")
        for gone in ("/etc/picmd", prefix + "/lib/picmd",
                     prefix + "/include/picmd"):
            check(gone not in left, "%s left by uninstall" % gone)
        # Uninstalling again is harmless.
        uninstall(t, dest, "PREFIX=" + prefix)


def test_prefix_change_rebuilds_only_config_o(t):
    # A scratch build directory with an object that is up to date for
    # PREFIX=/usr/local: only its time stamps matter, nothing compiles.
    build = t.path("build")
    os.makedirs(build + "/obj")
    now = time.time()
    check(os.stat(os.path.join(TOP, "src", "config.c")).st_mtime < now - 5,
          "src/config.c changed in the last 5 s; run again")
    obj = build + "/obj/config.o"
    stamp = build + "/.prefix"
    with open(obj, "w"):
        pass
    with open(stamp, "w") as f:
        f.write("/usr/local\n")
    os.utime(stamp, (now - 10, now - 10))
    os.utime(obj, (now - 5, now - 5))

    def dry_run(prefix):
        return make(t, "-n", "BUILD=" + build, "PREFIX=" + prefix, obj)[1]

    out = dry_run("/usr/local")
    check("src/config.c" not in out, "same PREFIX, config.o rebuilt:\n" + out)
    out = dry_run("/usr")
    check_match(r"-DPICMD_PLUGIN_DIR='\"/usr/lib/picmd/commands\"'.* "
                r"-c -o %s src/config.c" % re.escape(obj), out,
                "PREFIX=/usr after /usr/local")
    check_eq(read(stamp), "/usr\n", "stamp")


def test_debian_version_matches_the_makefile(t):
    with open(os.path.join(TOP, "Makefile")) as f:
        version = re.search(r"(?m)^VERSION\s*:?=\s*(\S+)", f.read()).group(1)
    with open(os.path.join(TOP, "debian", "changelog")) as f:
        first = f.readline()
    # "make deb" builds from a copy whose changelog names the release the
    # package is for (0.1.0+deb13); the tree's own has no suffix.
    check_match(r"^picmd \(%s(\+deb\d+)?\) " % re.escape(version), first,
                "debian/changelog (Makefile VERSION %s)" % version)
