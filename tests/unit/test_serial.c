/*
 * The serial plugin, loaded through the real loader: every command and
 * error on the simulated loopback backend, and the termios backend on
 * pseudo-terminal pairs: real termios, real reads with timeouts,
 * hang-ups made by closing the master, and re-plugging made by pointing
 * the port's path, a symlink in the test's directory, at a new pty.
 * Watches run on the harness's event loop (harness_events), as in the
 * daemon.  The plugin's pure functions: test_serial_format.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SIM	"backend = sim\nloop = /dev/sim-loop 9600 8N1\n" \
		"modem = /dev/sim-modem 115200 8E2 rtscts\n"

static void
expect_event(struct harness *h, const char *want)
{
	char *got = harness_event(h, 5000);

	if (got == NULL)
		fail_msg("no event, expected '%s'", want);
	assert_string_equal(got, want);
	free(got);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the simulated backend ---- */

static void
test_sim_write_read(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);
	long t0;

	(void)state;
	harness_expect(h, "serial write loop hello  world", "OK 11");
	harness_expect(h, "serial read loop", "OK hello world");
	harness_expect(h, "serial write loop \"two  spaces\"", "OK 11");
	harness_expect(h, "serial read loop", "OK two  spaces");
	/* Bytes a text word cannot hold, and escapes a client undoes. */
	harness_expect(h, "serial write loop hex:0d0a 0x00ff 5C 20", "OK 6");
	harness_expect(h, "serial read loop", "OK \\x0d\\x0a\\x00\\xff\\\\\\x20");
	harness_expect(h, "serial write LOOP HEX:41", "OK 1");
	harness_expect(h, "serial read loop", "OK A");
	/* "\n" in a quoted word is a line feed; no line end is added. */
	harness_expect(h, "serial write loop \"a\\tb\\n\"", "OK 4");
	harness_expect(h, "serial read loop", "OK a\\x09b\\x0a");
	/* max_bytes: the rest stays for the next read. */
	harness_expect(h, "serial write loop abcdef", "OK 6");
	harness_expect(h, "serial read loop 4", "OK abcd");
	harness_expect(h, "serial read loop 4 0", "OK ef");
	/* Nothing within the timeout: OK, empty, after the timeout. */
	t0 = now_ms();
	harness_expect(h, "serial read loop 10 150", "OK");
	assert_true(now_ms() - t0 >= 140);
	harness_expect(h, "serial read loop 1 0", "OK");
	/* A port on its own: the modem saw none of it. */
	harness_expect(h, "serial read modem 100 0", "OK");
	harness_free(h);
}

static void
test_sim_readline(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);
	char line[700], want[700];
	long t0;

	(void)state;
	/* one CR LF CR LF LF two LF thr */
	harness_expect(h, "serial write loop hex:6f6e650d0a0d0a0a74776f0a746872",
	    "OK 15");
	harness_expect(h, "serial readline loop", "OK one");
	harness_expect(h, "serial readline loop", "OK two");
	/* No whole line: OK, empty, after the timeout; the part stays. */
	t0 = now_ms();
	harness_expect(h, "serial readline loop 150", "OK");
	assert_true(now_ms() - t0 >= 140);
	harness_expect(h, "serial readline loop 0", "OK");
	harness_expect(h, "serial write loop \"ee\\n\"", "OK 3");
	harness_expect(h, "serial readline loop 0", "OK three");
	/* read takes what readline left. */
	harness_expect(h, "serial write loop \"par\"", "OK 3");
	harness_expect(h, "serial readline loop 0", "OK");
	harness_expect(h, "serial read loop", "OK par");
	/* Unprintable bytes escaped, a line feed after a CR kept apart. */
	harness_expect(h, "serial write loop hex:410d420d0a", "OK 5");
	harness_expect(h, "serial readline loop", "OK A\\x0dB");
	/* 300 bytes: a piece of 255 ending in \+, then the rest. */
	strcpy(line, "serial write loop \"");
	memset(line + 19, 'q', 300);
	strcpy(line + 319, "\\n\"");
	harness_expect(h, line, "OK 301");
	memset(want, 'q', 258);
	memcpy(want, "OK ", 3);
	strcpy(want + 258, "\\+");
	harness_expect(h, "serial readline loop", want);
	memset(want, 'q', 48);
	memcpy(want, "OK ", 3);
	want[48] = '\0';
	harness_expect(h, "serial readline loop", want);
	harness_free(h);
}

static void
test_sim_flush_and_list(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);

	(void)state;
	harness_expect(h, "serial list", "OK loop:9600:8N1:none:closed:-:"
	    "/dev/sim-loop modem:115200:8E2:rtscts:closed:-:/dev/sim-modem");
	harness_expect(h, "serial flush loop", "OK 0");
	harness_expect(h, "serial write loop \"abc\\ndef\"", "OK 7");
	harness_expect(h, "serial readline loop", "OK abc");
	/* "def" in picmd's buffer, "xy" in the loopback: both dropped. */
	harness_expect(h, "serial write loop xy", "OK 2");
	harness_expect(h, "serial flush loop", "OK 5");
	harness_expect(h, "serial read loop 10 0", "OK");
	harness_expect(h, "serial list", "OK loop:9600:8N1:none:open:-:"
	    "/dev/sim-loop modem:115200:8E2:rtscts:closed:-:/dev/sim-modem");
	harness_free(h);
}

static void
test_sim_bad_input(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);

	(void)state;
	harness_expect(h, "serial read gps", "ERR ARGS unknown port 'gps' "
	    "(ports: loop modem)");
	harness_expect(h, "serial write /dev/ttyS0 x", "ERR ARGS unknown port "
	    "'/dev/ttyS0' (ports: loop modem)");
	harness_expect(h, "serial watch nope", "ERR ARGS unknown port 'nope' "
	    "(ports: loop modem)");
	harness_expect(h, "serial unwatch nope", "ERR ARGS unknown port 'nope' "
	    "(ports: loop modem)");
	harness_expect(h, "serial flush nope", "ERR ARGS unknown port 'nope' "
	    "(ports: loop modem)");
	harness_expect(h, "serial readline nope", "ERR ARGS unknown port 'nope' "
	    "(ports: loop modem)");
	harness_expect(h, "serial sim-set nope plug", "ERR ARGS unknown port "
	    "'nope' (ports: loop modem)");
	harness_expect(h, "serial write loop", "ERR ARGS usage: serial write "
	    "<port> <text>|hex:<bytes>");
	harness_expect(h, "serial write loop \"\"", "ERR ARGS nothing to write: "
	    "give text or hex:<bytes>");
	harness_expect(h, "serial write loop hex:", "ERR ARGS hex: needs at "
	    "least one byte, e.g. hex:0d0a");
	harness_expect(h, "serial write loop hex:0g", "ERR ARGS '0g' is not "
	    "hex: give pairs of hex digits, e.g. hex:0d0a or hex:0x0d 0a");
	harness_expect(h, "serial write loop hex:0d 0", "ERR ARGS '0' is not "
	    "whole bytes: give pairs of hex digits, e.g. hex:0d0a or hex:0x0d "
	    "0a");
	harness_expect(h, "serial read", "ERR ARGS usage: serial read <port> "
	    "[max_bytes] [timeout_ms]");
	harness_expect(h, "serial read loop 1 2 3", "ERR ARGS usage: serial read "
	    "<port> [max_bytes] [timeout_ms]");
	harness_expect(h, "serial read loop 0", "ERR ARGS max_bytes must be a "
	    "whole number from 1 to 4096, not '0'");
	harness_expect(h, "serial read loop 4097", "ERR ARGS max_bytes must be "
	    "a whole number from 1 to 4096, not '4097'");
	harness_expect(h, "serial read loop -1", "ERR ARGS max_bytes must be a "
	    "whole number from 1 to 4096, not '-1'");
	harness_expect(h, "serial read loop 10 1.5", "ERR ARGS timeout_ms must "
	    "be a whole number from 0 to 60000, not '1.5'");
	harness_expect(h, "serial read loop 10 60001", "ERR ARGS timeout_ms "
	    "must be a whole number from 0 to 60000, not '60001'");
	harness_expect(h, "serial readline loop x", "ERR ARGS timeout_ms must be "
	    "a whole number from 0 to 60000, not 'x'");
	harness_expect(h, "serial readline loop 1 2", "ERR ARGS usage: serial "
	    "readline <port> [timeout_ms]");
	harness_expect(h, "serial flush", "ERR ARGS usage: serial flush <port>");
	harness_expect(h, "serial list loop", "ERR ARGS usage: serial list");
	harness_expect(h, "serial watch", "ERR ARGS usage: serial watch <port>");
	harness_expect(h, "serial sim-set loop pull", "ERR ARGS sim-set takes "
	    "unplug or plug, not 'pull'");
	/* Nothing above opened a port. */
	harness_expect(h, "serial list", "OK loop:9600:8N1:none:closed:-:"
	    "/dev/sim-loop modem:115200:8E2:rtscts:closed:-:/dev/sim-modem");
	harness_free(h);
}

static void
test_sim_unplug(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);

	(void)state;
	/* Unplugged before it was ever opened. */
	harness_expect(h, "serial sim-set modem unplug", "OK");
	harness_expect(h, "serial read modem", "ERR DEVICE port modem: cannot "
	    "open /dev/sim-modem: No such file or directory");
	harness_expect(h, "serial sim-set modem plug", "OK");
	harness_expect(h, "serial read modem 1 0", "OK");

	harness_expect(h, "serial write loop \"lost\\npart\"", "OK 9");
	harness_expect(h, "serial readline loop", "OK lost");
	harness_expect(h, "serial sim-set loop unplug", "OK");
	/* The first command finds the hang-up; what was unread is gone. */
	harness_expect(h, "serial readline loop", "ERR DEVICE port loop: "
	    "/dev/sim-loop hung up (device gone?); a later command opens it "
	    "again once it is back");
	harness_expect(h, "serial list", "OK loop:9600:8N1:none:gone:-:"
	    "/dev/sim-loop modem:115200:8E2:rtscts:open:-:/dev/sim-modem");
	harness_expect(h, "serial write loop x", "ERR DEVICE port loop: cannot "
	    "open /dev/sim-loop: No such file or directory");
	harness_expect(h, "serial flush loop", "ERR DEVICE port loop: cannot "
	    "open /dev/sim-loop: No such file or directory");
	harness_expect(h, "serial sim-set loop plug", "OK");
	harness_expect(h, "serial read loop 10 0", "OK");
	harness_expect(h, "serial write loop back", "OK 4");
	harness_expect(h, "serial read loop", "OK back");
	/* A write finds the hang-up too, and so does a flush. */
	harness_expect(h, "serial sim-set loop unplug", "OK");
	harness_expect(h, "serial write loop x", "ERR DEVICE port loop: "
	    "/dev/sim-loop hung up (device gone?); a later command opens it "
	    "again once it is back");
	harness_expect(h, "serial sim-set loop plug", "OK");
	harness_expect(h, "serial flush loop", "OK 0");
	harness_expect(h, "serial sim-set loop unplug", "OK");
	harness_expect_prefix(h, "serial flush loop", "ERR DEVICE port loop: "
	    "/dev/sim-loop hung up");
	harness_free(h);
}

static void
test_sim_watch(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);
	char line[600], want[400];

	(void)state;
	assert_int_equal(harness_events(h), 0);
	/* Lines received before the watch are published first. */
	harness_expect(h, "serial write loop \"early\\npart\"", "OK 10");
	harness_expect(h, "serial watch LOOP", "OK");
	expect_event(h, "serial.loop early");
	harness_expect(h, "serial watch loop", "OK");
	/* ial CR LF CR LF 0x01 LF */
	harness_expect(h, "serial write loop hex:69616c0d0a0d0a010a", "OK 9");
	expect_event(h, "serial.loop partial");
	expect_event(h, "serial.loop \\x01");
	/* Reading a watched port would take lines from the subscribers. */
	harness_expect(h, "serial read loop", "ERR BUSY port loop is watched "
	    "(its lines go to serial.loop): serial unwatch loop first");
	harness_expect(h, "serial readline loop", "ERR BUSY port loop is watched "
	    "(its lines go to serial.loop): serial unwatch loop first");
	harness_expect(h, "serial list", "OK loop:9600:8N1:none:open:watched:"
	    "/dev/sim-loop modem:115200:8E2:rtscts:closed:-:/dev/sim-modem");
	/* A long line in pieces. */
	snprintf(line, sizeof(line), "serial write loop hex:");
	for (int i = 0; i < 260; i++)
		strcat(line, "61");
	strcat(line, "0a");
	harness_expect(h, line, "OK 261");
	memset(want, 'a', sizeof(want));
	memcpy(want, "serial.loop ", 12);
	strcpy(want + 12 + 255, "\\+");
	expect_event(h, want);
	expect_event(h, "serial.loop aaaaa");
	/* A partial line stays for readline after the watch. */
	harness_expect(h, "serial write loop tail", "OK 4");
	harness_expect(h, "serial unwatch loop", "OK");
	harness_expect(h, "serial unwatch loop", "OK");
	harness_expect(h, "serial readline loop 0", "OK");
	harness_expect(h, "serial write loop \"!\\n\"", "OK 2");
	harness_expect(h, "serial readline loop", "OK tail!");
	harness_free(h);
}

/* Unplugged while watched: the watch goes on once it is back. */
static void
test_sim_watch_unplug(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);
	long t0;
	char *got;

	(void)state;
	assert_int_equal(harness_events(h), 0);
	harness_expect(h, "serial watch modem", "OK");
	harness_expect(h, "serial sim-set modem unplug", "OK");
	/* The tick closes it (at once) and tries again every second. */
	t0 = now_ms();
	for (;;) {
		got = harness_run(h, "serial list");
		if (strstr(got, "modem:115200:8E2:rtscts:gone:watched:") != NULL)
			break;
		assert_true(now_ms() - t0 < 5000);
		free(got);
		usleep(10000);
	}
	free(got);
	harness_expect(h, "serial sim-set modem plug", "OK");
	t0 = now_ms();
	for (;;) {
		got = harness_run(h, "serial list");
		if (strstr(got, "modem:115200:8E2:rtscts:open:watched:") != NULL)
			break;
		assert_true(now_ms() - t0 < 5000);
		free(got);
		usleep(10000);
	}
	free(got);
	harness_expect(h, "serial write modem \"again\\n\"", "OK 6");
	expect_event(h, "serial.modem again");
	/* Unwatched while the hang-up is fresh: closed, not watched. */
	harness_expect(h, "serial sim-set modem unplug", "OK");
	harness_expect(h, "serial unwatch modem", "OK");
	harness_expect_prefix(h, "serial list", "OK loop:9600:8N1:none:closed:-:"
	    "/dev/sim-loop modem:115200:8E2:rtscts:gone:-:");
	harness_free(h);
}

/* Without the daemon's event loop, watch says why it cannot. */
static void
test_watch_without_events(void **state)
{
	struct harness *h = harness_load_ok("serial", SIM);

	(void)state;
	harness_expect(h, "serial watch loop", "ERR DEVICE port loop: cannot "
	    "watch /dev/sim-loop: Operation not supported");
	harness_expect(h, "serial read loop 1 0", "OK");
	harness_free(h);
}

static void
expect_load_error(const char *section, const char *want)
{
	assert_null(harness_load("serial", section, NULL));
	if (strstr(harness_last_errors(), want) == NULL)
		fail_msg("load errors lack '%s':\n%s", want,
		    harness_last_errors());
}

static void
test_config(void **state)
{
	struct harness *h;

	(void)state;
	/* No ports (the shipped config): valid, and says so. */
	h = harness_load_ok("serial", NULL);
	harness_expect(h, "serial list", "OK");
	harness_expect(h, "serial read gps", "ERR ARGS unknown port 'gps': no "
	    "ports are configured ([serial] name = device speed framing)");
	harness_free(h);
	h = harness_load_ok("serial", "backend = dev");
	harness_free(h);
	expect_load_error("backend = usb", "[serial] backend must be dev or "
	    "sim, not 'usb'");
	expect_load_error("gps = /dev/serial0 9600", "[serial] port gps: a "
	    "port is '<device> <speed> <framing> [rtscts|xonxoff]'");
	expect_load_error("gps = /dev/serial0 9601 8N1", "[serial] port gps: "
	    "speed '9601' is not one termios has");
	expect_load_error("gps = serial0 9600 8N1", "[serial] port gps: the "
	    "device must be an absolute path such as /dev/serial0, not "
	    "'serial0'");
	expect_load_error("g.ps = /dev/serial0 9600 8N1", "[serial] port name "
	    "'g.ps' must be 1 to 32 letters, digits, '_' or '-' (it names the "
	    "topic serial.<name>)");
	expect_load_error("gps = /dev/a 9600 8N1\nGPS = /dev/b 9600 8N1",
	    "[serial] ports 'gps' and 'GPS' differ only in case");
	expect_load_error("gps = /dev/a 9600 8N1\nx = /dev/a 9600 8N1",
	    "[serial] ports 'gps' and 'x' name the same device /dev/a");
	/* Every problem is reported, not just the first. */
	expect_load_error("a = /dev/a 1 8N1\nb = /dev/b 9600 8X1",
	    "[serial] port b: framing '8X1'");
}

/* ---- the termios backend on pseudo-terminals ---- */

struct pty {
	int	 master;
	int	 slave;		/* the test's own, opened before picmd's */
	char	*dir;		/* the test's directory */
	char	*link;		/* dir/tty -> the slave: the port's path */
};

/* A new pty pair, the link pointed at its slave (replacing the old). */
static void
pty_plug(struct pty *p)
{
	char name[64], *tmp;

	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->master >= 0);
	assert_int_equal(grantpt(p->master), 0);
	assert_int_equal(unlockpt(p->master), 0);
	assert_int_equal(ptsname_r(p->master, name, sizeof(name)), 0);
	/* Opened before the plugin sets TIOCEXCL, so that the test can
	 * look at the slave's termios as any user. */
	p->slave = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	assert_true(p->slave >= 0);
	/* Replaced atomically, as udev replaces a device's link. */
	assert_true(asprintf(&tmp, "%s/tty.new", p->dir) != -1);
	assert_int_equal(symlink(name, tmp), 0);
	assert_int_equal(rename(tmp, p->link), 0);
	free(tmp);
}

/* Pull it out: close the master (the slave hangs up, its node goes)
 * and remove the link, as udev does. */
static void
pty_unplug(struct pty *p)
{
	close(p->master);
	close(p->slave);
	p->master = p->slave = -1;
	assert_int_equal(unlink(p->link), 0);
}

static struct harness *
pty_load(struct pty *p, const char *settings, int events)
{
	struct harness *h;
	char *section;

	p->dir = fixture_tmpdir();
	assert_true(asprintf(&p->link, "%s/tty", p->dir) != -1);
	pty_plug(p);
	assert_true(asprintf(&section, "p = %s %s\n", p->link, settings) != -1);
	h = harness_load_ok("serial", section);
	free(section);
	if (events)
		assert_int_equal(harness_events(h), 0);
	return h;
}

static void
pty_free(struct pty *p)
{
	if (p->master >= 0) {
		close(p->master);
		close(p->slave);
	}
	free(p->link);
	fixture_rm(p->dir);
}

/* Exactly want from the master within 5 s. */
static void
master_expect(struct pty *p, const char *want, size_t n)
{
	char buf[256];
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = p->master, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		r = read(p->master, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_memory_equal(buf, want, n);
}

static void
master_write(struct pty *p, const char *data, size_t n)
{
	assert_int_equal(write(p->master, data, n), (ssize_t)n);
}

static void
master_puts(struct pty *p, const char *text)
{
	master_write(p, text, strlen(text));
}

/* The slave's termios, through the test's own descriptor. */
static void
slave_termios(struct pty *p, struct termios *tio, int *excl)
{
	assert_int_equal(tcgetattr(p->slave, tio), 0);
	if (ioctl(p->slave, TIOCGEXCL, excl) == -1) {
		/* qemu-user (the cross tests) does not pass TIOCGEXCL on:
		 * the exclusivity cannot be seen there. */
		assert_true(errno == ENOSYS || errno == EINVAL ||
		    errno == ENOTTY);
		*excl = -1;
	}
}

static void
test_pty_io(void **state)
{
	struct pty p;
	struct harness *h = pty_load(&p, "115200 8N1", 0);
	struct termios tio;
	int excl = 0;
	long t0;

	(void)state;
	harness_expect(h, "serial write p hello", "OK 5");
	master_expect(&p, "hello", 5);
	/* Opened exclusively (root, as the tests may run, may still open
	 * it), raw, at the configured speed and framing. */
	if (geteuid() != 0) {
		assert_int_equal(open(p.link, O_RDWR | O_NOCTTY), -1);
		assert_int_equal(errno, EBUSY);
	}
	slave_termios(&p, &tio, &excl);
	if (excl != -1)
		assert_int_equal(excl, 1);
	assert_int_equal(cfgetospeed(&tio), B115200);
	assert_int_equal(cfgetispeed(&tio), B115200);
	assert_int_equal(tio.c_cflag & CSIZE, CS8);
	assert_int_equal(tio.c_cflag & (PARENB | CSTOPB | CRTSCTS), 0);
	assert_true(tio.c_cflag & CLOCAL);
	assert_int_equal(tio.c_lflag & (ICANON | ECHO | ISIG), 0);
	assert_int_equal(tio.c_iflag & (IXON | IXOFF | ICRNL), 0);
	assert_int_equal(tio.c_oflag & OPOST, 0);
	assert_int_equal(tio.c_cc[VMIN], 1);
	harness_expect(h, "serial write p hex:0d0a00ff", "OK 4");
	master_expect(&p, "\r\n\x00\xff", 4);

	master_puts(&p, "abc\r\nde");
	harness_expect(h, "serial readline p", "OK abc");
	t0 = now_ms();
	harness_expect(h, "serial readline p 150", "OK");
	assert_true(now_ms() - t0 >= 140);
	master_puts(&p, "f\n");
	harness_expect(h, "serial readline p", "OK def");
	t0 = now_ms();
	harness_expect(h, "serial read p 10 150", "OK");
	assert_true(now_ms() - t0 >= 140);
	master_write(&p, "\x01\x7f\\", 3);
	harness_expect(h, "serial read p", "OK \\x01\\x7f\\\\");
	/* flush drops what readline left behind. */
	master_puts(&p, "junk");
	harness_expect(h, "serial readline p 100", "OK");
	harness_expect(h, "serial flush p", "OK 4");
	harness_expect(h, "serial read p 10 0", "OK");
	harness_expect_prefix(h, "serial list", "OK p:115200:8N1:none:open:-:/");
	harness_free(h);
	pty_free(&p);
}

/* What a pty keeps of the settings (it forces 8 data bits and no
 * parity: test_termios covers those), and what it refuses. */
static void
test_pty_framing(void **state)
{
	static const struct {
		const char	*settings;
		tcflag_t	 cflag, iflag;
		speed_t		 speed;
	} cases[] = {
		{ "9600 8N2 rtscts", CS8 | CSTOPB | CRTSCTS, 0, B9600 },
		{ "57600 8N1 xonxoff", CS8, IXON | IXOFF, B57600 },
		{ "4000000 8N1 none", CS8, 0, B4000000 },
	};
	const tcflag_t cmask = CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS;
	const tcflag_t imask = INPCK | IXON | IXOFF;
	struct pty p;
	struct harness *h;
	char *want;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct termios tio;
		int excl;

		/* Under qemu-user (the cross tests, tools/run-unit.sh) the
		 * pty does not keep 4000000 bit/s, which the plugin then
		 * reports as refused; a real kernel keeps it. */
		if (cases[i].speed == B4000000 &&
		    getenv("PICMD_TEST_EMULATOR") != NULL &&
		    *getenv("PICMD_TEST_EMULATOR") != '\0')
			continue;
		h = pty_load(&p, cases[i].settings, 0);
		harness_expect(h, "serial flush p", "OK 0");
		slave_termios(&p, &tio, &excl);
		assert_int_equal(tio.c_cflag & cmask, cases[i].cflag);
		assert_int_equal(tio.c_iflag & imask, cases[i].iflag);
		assert_int_equal(cfgetospeed(&tio), cases[i].speed);
		harness_free(h);
		pty_free(&p);
	}
	h = pty_load(&p, "4800 7E1", 0);
	assert_true(asprintf(&want, "ERR DEVICE port p: cannot open %s: the "
	    "device does not take framing 7E1 (it kept 8N1)", p.link) != -1);
	harness_expect(h, "serial read p", want);
	free(want);
	harness_free(h);
	pty_free(&p);
}

static void
test_pty_hangup_and_replug(void **state)
{
	struct pty p;
	struct harness *h = pty_load(&p, "9600 8N1", 0);
	char *want;

	(void)state;
	harness_expect(h, "serial write p x", "OK 1");
	master_expect(&p, "x", 1);
	pty_unplug(&p);
	assert_true(asprintf(&want, "ERR DEVICE port p: %s hung up (device "
	    "gone?); a later command opens it again once it is back",
	    p.link) != -1);
	harness_expect(h, "serial readline p", want);
	free(want);
	assert_true(asprintf(&want, "ERR DEVICE port p: cannot open %s: No "
	    "such file or directory", p.link) != -1);
	harness_expect(h, "serial write p x", want);
	free(want);
	/* Plugged in again, at another pty behind the same path. */
	pty_plug(&p);
	harness_expect(h, "serial write p again", "OK 5");
	master_expect(&p, "again", 5);
	master_puts(&p, "ok\n");
	harness_expect(h, "serial readline p", "OK ok");
	/* A hang-up found by a write. */
	pty_unplug(&p);
	harness_expect_prefix(h, "serial write p y", "ERR DEVICE port p: ");
	pty_plug(&p);
	harness_expect(h, "serial read p 1 0", "OK");
	harness_free(h);
	pty_free(&p);
}

/* How many descriptors of this process are pseudo-terminal slaves. */
static int
pts_fds(void)
{
	char path[64], target[256];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((len = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "/dev/pts/", 9) == 0)
			n++;
	}
	return n;
}

/*
 * With the daemon's loop running, an open port's hang-up is found
 * within a second without any command, and the device let go (a USB
 * adapter then gets its old number back); the next command still
 * answers the hang-up.
 */
static void
test_pty_tick_lets_go(void **state)
{
	/* A terminal the test's output goes to counts too. */
	int before = pts_fds();
	struct pty p;
	struct harness *h = pty_load(&p, "9600 8N1", 1);
	long t0;
	char *want;

	(void)state;
	harness_expect(h, "serial write p x", "OK 1");
	master_expect(&p, "x", 1);
	assert_int_equal(pts_fds(), before + 2);  /* ours and the plugin's */
	pty_unplug(&p);
	t0 = now_ms();
	while (pts_fds() > before) {
		assert_true(now_ms() - t0 < 5000);
		usleep(10000);
	}
	assert_true(asprintf(&want, "ERR DEVICE port p: %s hung up (device "
	    "gone?); a later command opens it again once it is back",
	    p.link) != -1);
	harness_expect(h, "serial write p x", want);
	free(want);
	assert_true(asprintf(&want, "ERR DEVICE port p: cannot open %s: No "
	    "such file or directory", p.link) != -1);
	harness_expect(h, "serial write p x", want);
	free(want);
	pty_plug(&p);
	harness_expect(h, "serial write p y", "OK 1");
	master_expect(&p, "y", 1);
	harness_free(h);
	pty_free(&p);
}

static void
test_pty_open_errors(void **state)
{
	struct harness *h;
	char *dir = fixture_tmpdir(), *section;

	(void)state;
	assert_int_equal(fixture_write(dir, "file", "not a tty\n"), 0);
	assert_true(asprintf(&section, "f = %s/file 9600 8N1\nm = %s/missing "
	    "9600 8N1\n", dir, dir) != -1);
	h = harness_load_ok("serial", section);
	free(section);
	section = fixture_subst("ERR DEVICE port f: cannot open %T/file: "
	    "Inappropriate ioctl for device", dir);
	harness_expect(h, "serial read f", section);
	free(section);
	section = fixture_subst("ERR DEVICE port m: cannot open %T/missing: "
	    "No such file or directory", dir);
	harness_expect(h, "serial watch m", section);
	free(section);
	harness_free(h);
	fixture_rm(dir);
}

static void
test_pty_watch(void **state)
{
	struct pty p;
	struct harness *h = pty_load(&p, "115200 8N1", 1);
	long t0;
	char *got;

	(void)state;
	harness_expect(h, "serial watch p", "OK");
	master_puts(&p, "$GPGGA,1*4F\r\n\r\n$GPRMC,2");
	expect_event(h, "serial.p $GPGGA,1*4F");
	master_puts(&p, "*5A\r\n");
	expect_event(h, "serial.p $GPRMC,2*5A");
	/* Writing a watched port is fine. */
	harness_expect(h, "serial write p hex:41", "OK 1");
	master_expect(&p, "A", 1);
	/* Unplugged and plugged in again: the watch carries on. */
	pty_unplug(&p);
	t0 = now_ms();
	for (;;) {
		got = harness_run(h, "serial list");
		if (strstr(got, ":gone:watched:") != NULL)
			break;
		assert_true(now_ms() - t0 < 5000);
		free(got);
		usleep(10000);
	}
	free(got);
	pty_plug(&p);
	t0 = now_ms();
	for (;;) {
		got = harness_run(h, "serial list");
		if (strstr(got, ":open:watched:") != NULL)
			break;
		assert_true(now_ms() - t0 < 5000);
		free(got);
		usleep(10000);
	}
	free(got);
	master_puts(&p, "back\n");
	expect_event(h, "serial.p back");
	harness_expect(h, "serial unwatch p", "OK");
	master_puts(&p, "mine\n");
	harness_expect(h, "serial readline p", "OK mine");
	assert_null(harness_event(h, 100));
	harness_free(h);
	pty_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_write_read),
		cmocka_unit_test(test_sim_readline),
		cmocka_unit_test(test_sim_flush_and_list),
		cmocka_unit_test(test_sim_bad_input),
		cmocka_unit_test(test_sim_unplug),
		cmocka_unit_test(test_sim_watch),
		cmocka_unit_test(test_sim_watch_unplug),
		cmocka_unit_test(test_watch_without_events),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_pty_io),
		cmocka_unit_test(test_pty_framing),
		cmocka_unit_test(test_pty_hangup_and_replug),
		cmocka_unit_test(test_pty_tick_lets_go),
		cmocka_unit_test(test_pty_open_errors),
		cmocka_unit_test(test_pty_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
