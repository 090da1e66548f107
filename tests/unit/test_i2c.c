/*
 * The i2c plugin, loaded through the real loader: on its simulated bus
 * every command and every error, the register pointer, [i2c] allow and
 * scan's admin flag, per-bus serialisation under threads, config errors;
 * the kernel backend as far as it goes without an adapter (sysfs
 * fixtures shaped like the kernel's, "no such bus", files that are no
 * adapter); and the pure SMBus planning, compiled in from the source.
 * The kernel's i2c-stub is exercised by the VM leg (tests/vm/guest.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/i2c-dev.h>

#include <cmocka.h>

#include "harness.h"

/* The SMBus stand-in is a pure function; test it directly. */
#include "../../commands/i2c/smbus.c"

static void
expect_load_error(const char *section, const char *want)
{
	struct harness *h = harness_load("i2c", section, NULL);

	if (h != NULL)
		harness_free(h);
	assert_null(h);
	if (strstr(harness_last_errors(), want) == NULL) {
		fprintf(stderr, "errors: %s\nwanted: %s\n",
		    harness_last_errors(), want);
		fail();
	}
}

/* "i2c write 1 0x48 <n bytes from first>" into line. */
static void
bytes_line(char *line, size_t size, const char *prefix, unsigned first,
    int n)
{
	size_t len = (size_t)snprintf(line, size, "%s", prefix);

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(line + len, size - len, " %02x",
		    (first + (unsigned)i) & 0xff);
}

/*
 * The same bytes glued into one word: a request has at most 128 words
 * (docs/PROTOCOL.md), so long data goes as "4041424344...".
 */
static void
bytes_glued(char *line, size_t size, const char *prefix, unsigned first,
    int n)
{
	size_t len = (size_t)snprintf(line, size, "%s ", prefix);

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(line + len, size - len, "%02x",
		    (first + (unsigned)i) & 0xff);
}

static void
test_round_trips(void **state)
{
	struct harness *h = harness_load_ok("i2c", "backend = sim");
	char line[2048], want[2048];

	(void)state;
	harness_expect(h, "i2c buses", "OK 1:picmd-sim");
	/* All registers start at 0. */
	harness_expect(h, "i2c read 1 0x48 4", "OK 00 00 00 00");
	/* The example: writereg, then readreg reads it back. */
	harness_expect(h, "i2c writereg 1 0x48 0x10 a5", "OK");
	harness_expect(h, "i2c readreg 1 0x48 0x10", "OK a5");
	/* Every spelling of the bytes; the pointer moves on per byte. */
	harness_expect(h, "i2c writereg 1 0x48 0x20 0x01 0203 04", "OK");
	harness_expect(h, "i2c readreg 1 0x48 0x20 4", "OK 01 02 03 04");
	harness_expect(h, "i2c readreg 1 0x48 0x21 0x2", "OK 02 03");
	/* A plain read continues from where the pointer is. */
	harness_expect(h, "i2c read 1 0x48 2", "OK 04 00");
	harness_expect(h, "i2c write 1 0x48 20", "OK");	/* pointer 0x20 */
	harness_expect(h, "i2c read 1 0x48 2", "OK 01 02");
	harness_expect(h, "i2c read 1 0x48 2", "OK 03 04");
	/* A plain write: the first byte is the register. */
	harness_expect(h, "i2c write 1 0x48 30aabb", "OK");
	harness_expect(h, "i2c readreg 1 0x48 48 2", "OK aa bb");
	/* Decimal and hex, any case; the bus as i2c-N; the command's name
	 * in any case too (the dispatcher's). */
	harness_expect(h, "I2C READREG i2c-1 72 0X10", "OK a5");
	harness_expect(h, "i2c readreg 1 0x48 16", "OK a5");
	/* The pointer wraps from 0xff to 0x00. */
	harness_expect(h, "i2c writereg 1 0x48 0xff 11 22", "OK");
	harness_expect(h, "i2c readreg 1 0x48 255 2", "OK 11 22");
	harness_expect(h, "i2c readreg 1 0x48 0 1", "OK 22");
	/* The largest read and write: 255 bytes. */
	bytes_glued(line, sizeof(line), "i2c writereg 1 0x48 0x00", 0x40, 255);
	harness_expect(h, line, "OK");
	bytes_line(want, sizeof(want), "OK", 0x40, 255);
	harness_expect(h, "i2c readreg 1 0x48 0 255", want);
	bytes_glued(line, sizeof(line), "i2c write 1 0x48", 0x00, 255);
	harness_expect(h, line, "OK");	/* registers 0x00.. = 01 02 ... */
	bytes_line(want, sizeof(want), "OK", 0x01, 254);
	harness_expect(h, "i2c readreg 1 0x48 0 254", want);
	/* A tag comes back; ordering is the connection's business. */
	harness_expect(h, "#t i2c readreg 1 0x48 0x05", "#t OK 06");
	harness_free(h);
}

static void
test_device_errors(void **state)
{
	struct harness *h = harness_load_ok("i2c", "backend = sim");

	(void)state;
	/* Nothing but 0x48 acknowledges: the Pi's controller's EREMOTEIO. */
	harness_expect(h, "i2c read 1 0x49 1", "ERR DEVICE i2c-1 0x49: no "
	    "acknowledgement (Remote I/O error)");
	harness_expect(h, "i2c readreg 1 0x03 0", "ERR DEVICE i2c-1 0x03: no "
	    "acknowledgement (Remote I/O error)");
	harness_expect(h, "i2c write 1 0x77 00", "ERR DEVICE i2c-1 0x77: no "
	    "acknowledgement (Remote I/O error)");
	harness_expect(h, "i2c writereg 1 0x50 0x10 a5", "ERR DEVICE i2c-1 0x50: "
	    "no acknowledgement (Remote I/O error)");
	/* No bus but i2c-1. */
	harness_expect(h, "i2c read 7 0x48 1", "ERR DEVICE i2c-7: no such bus");
	harness_expect(h, "i2c readreg 0 0x48 0", "ERR DEVICE i2c-0: no such "
	    "bus");
	harness_expect(h, "i2c write i2c-65535 0x48 00", "ERR DEVICE i2c-65535: "
	    "no such bus");
	harness_expect(h, "i2c writereg 2 0x48 0 00", "ERR DEVICE i2c-2: no such "
	    "bus");
	harness_expect(h, "i2c scan 7", "ERR DEVICE i2c-7: no such bus");
	harness_free(h);
}

static void
test_bad_arguments(void **state)
{
	struct harness *h = harness_load_ok("i2c", "backend = sim");
	static const char *const bad_bus[] = { "x", "-1", "+1", "65536",
	    "0x1", "1.0", "i2c-", "i2c-x", "", "99999999999999999999" };
	static const char *const bad_addr[] = { "0x02", "2", "0x78", "120",
	    "0x7f", "010", "0x", "abc", "-0x48", "0x48 ", "48h", "0" };
	char line[4096], want[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_bus) / sizeof(bad_bus[0]); i++) {
		snprintf(line, sizeof(line), "i2c read \"%s\" 0x48 1",
		    bad_bus[i]);
		snprintf(want, sizeof(want), "ERR ARGS bad bus '%s': give its "
		    "number, 0 to 65535 (i2c buses lists them)", bad_bus[i]);
		harness_expect(h, line, want);
	}
	for (size_t i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		snprintf(line, sizeof(line), "i2c readreg 1 \"%s\" 0",
		    bad_addr[i]);
		snprintf(want, sizeof(want), "ERR ARGS bad address '%s': 7-bit "
		    "addresses are 0x03 to 0x77 (hex as 0x48, or decimal)",
		    bad_addr[i]);
		harness_expect(h, line, want);
	}
	/* The edges themselves are fine (no device answers there). */
	harness_expect(h, "i2c read 1 3 1", "ERR DEVICE i2c-1 0x03: no "
	    "acknowledgement (Remote I/O error)");
	harness_expect(h, "i2c read 1 119 1", "ERR DEVICE i2c-1 0x77: no "
	    "acknowledgement (Remote I/O error)");
	/* Counts: 1 to 255. */
	harness_expect(h, "i2c read 1 0x48 0", "ERR ARGS bad count '0': read 1 "
	    "to 255 bytes");
	harness_expect(h, "i2c read 1 0x48 256", "ERR ARGS bad count '256': "
	    "read 1 to 255 bytes");
	harness_expect(h, "i2c read 1 0x48 0x100", "ERR ARGS bad count '0x100': "
	    "read 1 to 255 bytes");
	harness_expect(h, "i2c read 1 0x48 -1", "ERR ARGS bad count '-1': read 1 "
	    "to 255 bytes");
	harness_expect(h, "i2c read 1 0x48 two", "ERR ARGS bad count 'two': read "
	    "1 to 255 bytes");
	harness_expect(h, "i2c readreg 1 0x48 0x10 0", "ERR ARGS bad count '0': "
	    "read 1 to 255 bytes");
	/* Registers: 0x00 to 0xff. */
	harness_expect(h, "i2c readreg 1 0x48 0x100", "ERR ARGS bad register "
	    "'0x100': registers are 0x00 to 0xff (hex as 0x10, or decimal)");
	harness_expect(h, "i2c readreg 1 0x48 256", "ERR ARGS bad register "
	    "'256': registers are 0x00 to 0xff (hex as 0x10, or decimal)");
	harness_expect(h, "i2c writereg 1 0x48 r1 00", "ERR ARGS bad register "
	    "'r1': registers are 0x00 to 0xff (hex as 0x10, or decimal)");
	harness_expect(h, "i2c writereg 1 0x48 010 00", "ERR ARGS bad register "
	    "'010': registers are 0x00 to 0xff (hex as 0x10, or decimal)");
	/* Bytes. */
	harness_expect(h, "i2c write 1 0x48 zz", "ERR ARGS bad bytes 'zz': 'z' "
	    "is not a hex digit");
	harness_expect(h, "i2c write 1 0x48 a5 f", "ERR ARGS bad bytes 'f': an "
	    "odd number of hex digits (two per byte: 0a, not a)");
	harness_expect(h, "i2c writereg 1 0x48 0x10 0x", "ERR ARGS bad bytes "
	    "'0x': give hex digits, two per byte (a5, 0xa5ff)");
	harness_expect(h, "i2c writereg 1 0x48 0x10 \"\"", "ERR ARGS bad bytes "
	    "'': give hex digits, two per byte (a5, 0xa5ff)");
	bytes_glued(line, sizeof(line), "i2c write 1 0x48", 0, 256);
	harness_expect(h, line, "ERR ARGS too many bytes: at most 255");
	bytes_glued(line, sizeof(line), "i2c writereg 1 0x48 0", 0, 256);
	harness_expect(h, line, "ERR ARGS too many bytes: at most 255");
	/* Spread over words, the limit counts all of them (0x49: parsed,
	 * then not acknowledged, so no register changes). */
	bytes_glued(line, sizeof(line), "i2c write 1 0x49", 0, 128);
	bytes_glued(want, sizeof(want), line, 0, 127);
	harness_expect(h, want, "ERR DEVICE i2c-1 0x49: no acknowledgement "
	    "(Remote I/O error)");
	bytes_glued(want, sizeof(want), line, 0, 128);
	harness_expect(h, want, "ERR ARGS too many bytes: at most 255");
	/* The argument counts, answered by the dispatcher. */
	harness_expect(h, "i2c read 1 0x48", "ERR ARGS usage: i2c read <bus> "
	    "<addr> <n>");
	harness_expect(h, "i2c read 1 0x48 1 2", "ERR ARGS usage: i2c read "
	    "<bus> <addr> <n>");
	harness_expect(h, "i2c readreg 1 0x48", "ERR ARGS usage: i2c readreg "
	    "<bus> <addr> <reg> [n]");
	harness_expect(h, "i2c readreg 1 0x48 0 1 2", "ERR ARGS usage: i2c "
	    "readreg <bus> <addr> <reg> [n]");
	harness_expect(h, "i2c write 1 0x48", "ERR ARGS usage: i2c write <bus> "
	    "<addr> <hex bytes...>");
	harness_expect(h, "i2c writereg 1 0x48 0x10", "ERR ARGS usage: i2c "
	    "writereg <bus> <addr> <reg> <hex bytes...>");
	harness_expect(h, "i2c buses 1", "ERR ARGS usage: i2c buses");
	harness_expect(h, "i2c scan", "ERR ARGS usage: i2c scan <bus>");
	harness_expect(h, "i2c scan 1 2", "ERR ARGS usage: i2c scan <bus>");
	harness_expect(h, "i2c", "ERR UNKNOWN unknown");
	/* None of it reached the device: every register is still 0. */
	harness_expect(h, "i2c readreg 1 0x48 0 8", "OK 00 00 00 00 00 00 00 "
	    "00");
	harness_expect(h, "i2c readreg 1 0x48 0x10 1", "OK 00");
	harness_free(h);
}

static void
test_scan(void **state)
{
	struct harness *h = harness_load_ok("i2c", "backend = sim");

	(void)state;
	harness_expect(h, "i2c scan 1", "OK 0x48");
	harness_expect(h, "i2c scan i2c-1", "OK 0x48");
	/* A quick write probes 0x48: the register pointer did not move. */
	harness_expect(h, "i2c writereg 1 0x48 0x10 a5 b6", "OK");
	harness_expect(h, "i2c write 1 0x48 10", "OK");
	harness_expect(h, "i2c scan 1", "OK 0x48");
	harness_expect(h, "i2c read 1 0x48 2", "OK a5 b6");
	/* Admin only by default: its probes write to every address. */
	harness_set_admin(h, 0);
	harness_expect(h, "i2c scan 1", "ERR DENIED admin command");
	/* The rest is open to everybody without [i2c] allow. */
	harness_expect(h, "i2c readreg 1 0x48 0x10", "OK a5");
	harness_expect(h, "i2c buses", "OK 1:picmd-sim");
	harness_free(h);

	h = harness_load_ok("i2c", "backend = sim\nscan_admin = false");
	harness_set_admin(h, 0);
	harness_expect(h, "i2c scan 1", "OK 0x48");
	harness_free(h);
	h = harness_load_ok("i2c", "backend = sim\nscan_admin = yes");
	harness_set_admin(h, 0);
	harness_expect(h, "i2c scan 1", "ERR DENIED admin command");
	harness_free(h);
}

static void
test_allow(void **state)
{
	struct harness *h = harness_load_ok("i2c", "backend = sim\nallow = 1:0x48, i2c-1:80 "
	    "3:0x10");

	(void)state;
	/* Admins: everything, [i2c] allow or not. */
	harness_expect(h, "i2c read 1 0x49 1", "ERR DEVICE i2c-1 0x49: no "
	    "acknowledgement (Remote I/O error)");
	harness_expect(h, "i2c scan 1", "OK 0x48");
	harness_set_admin(h, 0);
	/* Others: the pairs listed... */
	harness_expect(h, "i2c writereg 1 0x48 0x10 a5", "OK");
	harness_expect(h, "i2c readreg 1 72 0x10", "OK a5");
	harness_expect(h, "i2c read 1 0x50 1", "ERR DEVICE i2c-1 0x50: no "
	    "acknowledgement (Remote I/O error)");
	harness_expect(h, "i2c read 3 0x10 1", "ERR DEVICE i2c-3: no such bus");
	/* ...and nothing else, before the bus is touched at all. */
	harness_expect(h, "i2c read 1 0x49 1", "ERR DENIED i2c-1 0x49: not in "
	    "[i2c] allow (only an admin may use it)");
	harness_expect(h, "i2c readreg 1 0x10 0", "ERR DENIED i2c-1 0x10: not "
	    "in [i2c] allow (only an admin may use it)");
	harness_expect(h, "i2c write 2 0x48 00", "ERR DENIED i2c-2 0x48: not in "
	    "[i2c] allow (only an admin may use it)");
	harness_expect(h, "i2c writereg 3 0x48 0 00", "ERR DENIED i2c-3 0x48: "
	    "not in [i2c] allow (only an admin may use it)");
	/* Arguments are checked first: a typo is a typo for everyone. */
	harness_expect(h, "i2c read 1 0x49 0", "ERR ARGS bad count '0': read 1 "
	    "to 255 bytes");
	harness_expect(h, "i2c scan 1", "ERR DENIED admin command");
	harness_expect(h, "i2c buses", "OK 1:picmd-sim");
	harness_set_admin(h, 1);
	harness_expect(h, "i2c readreg 1 0x48 0x10", "OK a5");
	harness_free(h);

	/* A scan open to all probes, for the others, only what they may
	 * use; an admin's probes everything. */
	h = harness_load_ok("i2c", "backend = sim\nscan_admin = false\nallow = 1:0x50");
	harness_set_admin(h, 0);
	harness_expect(h, "i2c scan 1", "OK");
	harness_set_admin(h, 1);
	harness_expect(h, "i2c scan 1", "OK 0x48");
	harness_free(h);
}

/* ---- per-bus serialisation ---- */

struct pair_arg {
	struct harness	*h;
	unsigned	 reg;
	int		 bad;
};

/*
 * Each thread writes its own 16 registers and reads them back with a
 * register read, over and over: the writes and reads of the others move
 * the device's one register pointer.  Were a transaction cut in two
 * (pointer set, then another thread's transfer, then the read), the read
 * would come from the other thread's registers.
 */
static void *
pairs(void *arg)
{
	struct pair_arg *a = arg;
	char prefix[64], line[256], want[256], *got;

	for (int i = 0; i < 150; i++) {
		unsigned first = (a->reg + (unsigned)i * 3) & 0xff;

		snprintf(prefix, sizeof(prefix), "i2c writereg 1 0x48 0x%02x",
		    a->reg);
		bytes_line(line, sizeof(line), prefix, first, 16);
		got = harness_run(a->h, line);
		a->bad += strcmp(got, "OK") != 0;
		free(got);
		snprintf(line, sizeof(line), "i2c readreg 1 0x48 0x%02x 16",
		    a->reg);
		bytes_line(want, sizeof(want), "OK", first, 16);
		got = harness_run(a->h, line);
		if (strcmp(got, want) != 0 && a->bad++ == 0)
			fprintf(stderr, "register 0x%02x: got '%s', wanted "
			    "'%s'\n", a->reg, got, want);
		free(got);
		/* And plain reads between: they move the pointer too. */
		got = harness_run(a->h, "i2c read 1 0x48 7");
		a->bad += strncmp(got, "OK ", 3) != 0;
		free(got);
	}
	return NULL;
}

static void
test_serialised_per_bus(void **state)
{
	struct harness *h = harness_load_ok("i2c", "backend = sim");
	struct pair_arg args[6];
	pthread_t t[6];

	(void)state;
	for (int i = 0; i < 6; i++) {
		args[i] = (struct pair_arg){ h, (unsigned)i * 0x20, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, pairs, &args[i]),
		    0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].bad, 0);
	}
	harness_free(h);
}

/* ---- configuration ---- */

static void
test_config_errors(void **state)
{
	char *dir = fixture_tmpdir(), section[512], want[512];

	(void)state;
	/* Lines: 1 [plugins], 2 dir, 3 load, 4 [i2c], 5... the keys. */
	expect_load_error("backend = sim\nspeed = 100000",
	    "picmd.ini:6: [i2c] unknown key 'speed' (known: backend, dev_root, "
	    "allow, scan_admin)");
	expect_load_error("backend = wires",
	    "picmd.ini:5: [i2c] backend must be dev or sim, not 'wires'");
	expect_load_error("backend = chip",
	    "picmd.ini:5: [i2c] backend must be dev or sim, not 'chip'");
	expect_load_error("dev_root = dev",
	    "picmd.ini:5: [i2c] dev_root must be an absolute path, not 'dev'");
	expect_load_error("backend = sim\nscan_admin = maybe",
	    "picmd.ini:6: [i2c] scan_admin must be true or false, not "
	    "'maybe'");
	expect_load_error("backend = sim\nallow = 1:0x48 1-0x49",
	    "picmd.ini:6: [i2c] bad item '1-0x49': give bus:address pairs "
	    "such as 1:0x48 (addresses 0x03 to 0x77)");
	expect_load_error("backend = sim\nallow = 1:0x78",
	    "picmd.ini:6: [i2c] bad item '1:0x78': give bus:address pairs "
	    "such as 1:0x48 (addresses 0x03 to 0x77)");
	expect_load_error("backend = sim\nallow = x:0x48",
	    "picmd.ini:6: [i2c] bad item 'x:0x48': give bus:address pairs "
	    "such as 1:0x48 (addresses 0x03 to 0x77)");
	expect_load_error("backend = sim\nallow = 1:",
	    "picmd.ini:6: [i2c] bad item '1:': give bus:address pairs "
	    "such as 1:0x48 (addresses 0x03 to 0x77)");
	expect_load_error("backend = sim\nallow = ,",
	    "picmd.ini:6: [i2c] allow is empty: list bus:address pairs, or "
	    "leave it out to open every pair");
	snprintf(section, sizeof(section), "dev_root = %s/missing", dir);
	snprintf(want, sizeof(want), "picmd.ini:5: [i2c] cannot read "
	    "%s/missing: No such file or directory", dir);
	expect_load_error(section, want);
	fixture_rm(dir);
}

/* ---- the kernel backend, without an adapter ---- */

/* A sysfs tree shaped like a Pi 4's: i2c-1 (the header), i2c-2 (an
 * overlay's), i2c-10 and i2c-20 (HDMI DDC), clients 1-0048 and 1-0050. */
static char *
make_sysfs(int with_i2c_dev)
{
	char *dir = fixture_tmpdir();
	static const struct {
		const char	*bus;
		const char	*parent;
		const char	*name;
	} buses[] = {
		{ "i2c-1", "soc/fe804000.i2c", "bcm2835 (i2c@7e804000)" },
		{ "i2c-2", "soc/fe805000.i2c", "bcm2835 (i2c@7e805000)" },
		{ "i2c-10", "soc/i2c0mux", "i2c-22-mux (chan_id 1)" },
		{ "i2c-20", "soc/fef04500.i2c", "fef04500.i2c" },
	};
	char rel[512], content[128];

	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		snprintf(content, sizeof(content), "%s\n", buses[i].name);
		snprintf(rel, sizeof(rel), "sysfs/devices/platform/%s/%s/name",
		    buses[i].parent, buses[i].bus);
		assert_int_equal(fixture_write(dir, rel, content), 0);
		fixture_sh("mkdir -p '%s/sysfs/bus/i2c/devices' && ln -s "
		    "'../../../devices/platform/%s/%s' "
		    "'%s/sysfs/bus/i2c/devices/%s'", dir, buses[i].parent,
		    buses[i].bus, dir, buses[i].bus);
		if (!with_i2c_dev)
			continue;
		snprintf(rel, sizeof(rel), "sysfs/devices/platform/%s/%s/"
		    "i2c-dev/%s/name", buses[i].parent, buses[i].bus,
		    buses[i].bus);
		assert_int_equal(fixture_write(dir, rel, content), 0);
		fixture_sh("mkdir -p '%s/sysfs/class/i2c-dev' && ln -s "
		    "'../../devices/platform/%s/%s/i2c-dev/%s' "
		    "'%s/sysfs/class/i2c-dev/%s'", dir, buses[i].parent,
		    buses[i].bus, buses[i].bus, dir, buses[i].bus);
	}
	/* Clients sit beside the adapters in bus/i2c/devices. */
	assert_int_equal(fixture_write(dir, "sysfs/devices/platform/soc/"
	    "fe804000.i2c/i2c-1/1-0048/name", "tmp102\n"), 0);
	fixture_sh("ln -s '../../../devices/platform/soc/fe804000.i2c/i2c-1/"
	    "1-0048' '%s/sysfs/bus/i2c/devices/1-0048'", dir);
	fixture_sh("mkdir -p '%s/dev'", dir);
	return dir;
}

static struct harness *
load_dev(const char *dir)
{
	char section[512], system[512];
	struct harness *h;

	snprintf(section, sizeof(section), "backend = dev\ndev_root = %s/dev",
	    dir);
	snprintf(system, sizeof(system), "sysfs_root = %s/sysfs", dir);
	if ((h = harness_load("i2c", section, system)) == NULL)
		fprintf(stderr, "%s", harness_last_errors());
	assert_non_null(h);
	return h;
}

static void
test_dev_buses(void **state)
{
	char *dir = make_sysfs(1);
	struct harness *h = load_dev(dir);

	(void)state;
	/* By number, not by name; blanks in a name become '_'. */
	harness_expect(h, "i2c buses", "OK 1:bcm2835_(i2c@7e804000) "
	    "2:bcm2835_(i2c@7e805000) 10:i2c-22-mux_(chan_id_1) "
	    "20:fef04500.i2c");
	harness_free(h);
	fixture_rm(dir);

	/* Without i2c-dev loaded: the adapters, from bus/i2c/devices. */
	dir = make_sysfs(0);
	h = load_dev(dir);
	harness_expect(h, "i2c buses", "OK 1:bcm2835_(i2c@7e804000) "
	    "2:bcm2835_(i2c@7e805000) 10:i2c-22-mux_(chan_id_1) "
	    "20:fef04500.i2c");
	/* A name that cannot be read is a "-". */
	fixture_sh("rm '%s/sysfs/devices/platform/soc/fef04500.i2c/i2c-20/"
	    "name'", dir);
	harness_expect(h, "i2c buses", "OK 1:bcm2835_(i2c@7e804000) "
	    "2:bcm2835_(i2c@7e805000) 10:i2c-22-mux_(chan_id_1) 20:-");
	/* No I2C in the kernel at all: no bus. */
	fixture_sh("rm -r '%s/sysfs/bus'", dir);
	harness_expect(h, "i2c buses", "OK");
	harness_free(h);
	fixture_rm(dir);
}

static void
test_dev_errors(void **state)
{
	char *dir = make_sysfs(1), want[1024];
	struct harness *h = load_dev(dir);

	(void)state;
	/* The buses are in sysfs but not in dev_root: no such bus. */
	harness_expect(h, "i2c read 1 0x48 1", "ERR DEVICE i2c-1: no such bus");
	harness_expect(h, "i2c scan 1", "ERR DEVICE i2c-1: no such bus");
	/* A file that is no adapter: the I2C_FUNCS ioctl says so.  (Not
	 * under qemu-user, the cross tests: it fails every ioctl it does not
	 * know with ENOSYS, so the plugin cannot tell.) */
	assert_int_equal(fixture_write(dir, "dev/i2c-1", ""), 0);
	snprintf(want, sizeof(want), "%s/dev/i2c-1", dir);
	if (ioctl_is_passed_on(want, I2C_FUNCS)) {
		snprintf(want, sizeof(want), "ERR DEVICE i2c-1: %s/dev/i2c-1 is "
		    "not an I2C adapter (Inappropriate ioctl for device)", dir);
		harness_expect(h, "i2c readreg 1 0x48 0x10", want);
		harness_expect(h, "i2c scan 1", want);
	}
	/* One that does not open. */
	fixture_sh("mkdir '%s/dev/i2c-2'", dir);
	snprintf(want, sizeof(want), "ERR DEVICE i2c-2: cannot open "
	    "%s/dev/i2c-2: Is a directory", dir);
	harness_expect(h, "i2c write 2 0x48 00", want);
	/* The daemon's own /dev path works the same way. */
	harness_free(h);
	fixture_rm(dir);

	if (access("/dev/i2c-42", F_OK) != 0) {
		h = harness_load_ok("i2c", "backend = dev");
		harness_expect(h, "i2c read 42 0x48 1", "ERR DEVICE i2c-42: no "
		    "such bus");
		harness_free(h);
	}
}

/* ---- the SMBus stand-in ---- */

static void
test_smbus_plan(void **state)
{
	/* i2c-stub's functions (its default "functionality" mask). */
	unsigned long stub = I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_BYTE |
	    I2C_FUNC_SMBUS_BYTE_DATA | I2C_FUNC_SMBUS_WORD_DATA |
	    I2C_FUNC_SMBUS_BLOCK_DATA | I2C_FUNC_SMBUS_I2C_BLOCK;
	unsigned long bytes_only = I2C_FUNC_SMBUS_BYTE |
	    I2C_FUNC_SMBUS_BYTE_DATA;

	(void)state;
	/* read n: one byte only. */
	assert_int_equal(i2c_smbus_plan(stub, 0, 1), I2C_SMBUS_OP_READ_BYTE);
	assert_int_equal(i2c_smbus_plan(stub, 0, 2), I2C_SMBUS_OP_NONE);
	/* write: a byte, a register and a byte, a register and a block. */
	assert_int_equal(i2c_smbus_plan(stub, 1, 0), I2C_SMBUS_OP_WRITE_BYTE);
	assert_int_equal(i2c_smbus_plan(stub, 2, 0),
	    I2C_SMBUS_OP_WRITE_BYTE_DATA);
	assert_int_equal(i2c_smbus_plan(stub, 3, 0),
	    I2C_SMBUS_OP_WRITE_I2C_BLOCK);
	assert_int_equal(i2c_smbus_plan(stub, 33, 0),
	    I2C_SMBUS_OP_WRITE_I2C_BLOCK);
	assert_int_equal(i2c_smbus_plan(stub, 34, 0), I2C_SMBUS_OP_NONE);
	/* readreg: byte data, or an I2C block read of up to 32. */
	assert_int_equal(i2c_smbus_plan(stub, 1, 1),
	    I2C_SMBUS_OP_READ_BYTE_DATA);
	assert_int_equal(i2c_smbus_plan(stub, 1, 2),
	    I2C_SMBUS_OP_READ_I2C_BLOCK);
	assert_int_equal(i2c_smbus_plan(stub, 1, 32),
	    I2C_SMBUS_OP_READ_I2C_BLOCK);
	assert_int_equal(i2c_smbus_plan(stub, 1, 33), I2C_SMBUS_OP_NONE);
	/* Two bytes written then read: no SMBus name for it. */
	assert_int_equal(i2c_smbus_plan(stub, 2, 1), I2C_SMBUS_OP_NONE);
	/* An adapter without the block transfers. */
	assert_int_equal(i2c_smbus_plan(bytes_only, 2, 0),
	    I2C_SMBUS_OP_WRITE_BYTE_DATA);
	assert_int_equal(i2c_smbus_plan(bytes_only, 3, 0), I2C_SMBUS_OP_NONE);
	assert_int_equal(i2c_smbus_plan(bytes_only, 1, 1),
	    I2C_SMBUS_OP_READ_BYTE_DATA);
	assert_int_equal(i2c_smbus_plan(bytes_only, 1, 2), I2C_SMBUS_OP_NONE);
	/* One with the blocks but not byte data: a block of one. */
	assert_int_equal(i2c_smbus_plan(I2C_FUNC_SMBUS_I2C_BLOCK, 2, 0),
	    I2C_SMBUS_OP_WRITE_I2C_BLOCK);
	assert_int_equal(i2c_smbus_plan(I2C_FUNC_SMBUS_I2C_BLOCK, 1, 1),
	    I2C_SMBUS_OP_READ_I2C_BLOCK);
	/* Nothing at all. */
	assert_int_equal(i2c_smbus_plan(0, 0, 1), I2C_SMBUS_OP_NONE);
	assert_int_equal(i2c_smbus_plan(0, 1, 0), I2C_SMBUS_OP_NONE);
	assert_int_equal(i2c_smbus_plan(0, 2, 0), I2C_SMBUS_OP_NONE);
	assert_int_equal(i2c_smbus_plan(0, 1, 1), I2C_SMBUS_OP_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_device_errors),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_serialised_per_bus),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_dev_buses),
		cmocka_unit_test(test_dev_errors),
		cmocka_unit_test(test_smbus_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
