/*
 * The spi plugin, loaded through the real loader: on its simulated
 * loopback device every command and every error, the speed and mode the
 * configuration gives each device, the 4096-byte limit, config errors;
 * and the spidev backend as far as it goes without a device (listing,
 * "no such device", files that are no spidev).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/spi/spidev.h>

#include <cmocka.h>

#include "harness.h"

static void
expect_load_error(const char *section, const char *want)
{
	struct harness *h = harness_load("spi", section, NULL);

	if (h != NULL)
		harness_free(h);
	assert_null(h);
	if (strstr(harness_last_errors(), want) == NULL) {
		fprintf(stderr, "errors: %s\nwanted: %s\n",
		    harness_last_errors(), want);
		fail();
	}
}

/* prefix, then n bytes from first: glued into one word when glue, else
 * one word each. */
static char *
bytes(const char *prefix, unsigned first, size_t n, int glue)
{
	size_t size = strlen(prefix) + 3 * n + 2, len;
	char *s = malloc(size);

	assert_non_null(s);
	len = (size_t)snprintf(s, size, "%s%s", prefix, glue ? " " : "");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, size - len, glue ? "%02x" :
		    " %02x", (first + (unsigned)i) & 0xff);
	return s;
}

static void
test_loopback(void **state)
{
	struct harness *h = harness_load_ok("spi", "backend = sim");
	char *line, *want;

	(void)state;
	harness_expect(h, "spi devices", "OK 0.0");
	harness_expect(h, "spi sim-last", "OK 0.0 none");
	/* MISO is MOSI: every byte comes back. */
	harness_expect(h, "spi xfer 0.0 a5", "OK a5");
	harness_expect(h, "spi xfer 0.0 0xa5 ff", "OK a5 ff");
	harness_expect(h, "spi xfer 0.0 a5ff00", "OK a5 ff 00");
	harness_expect(h, "spi xfer spidev0.0 DEAD 0xBEEF", "OK de ad be ef");
	harness_expect(h, "SPI XFER 0.0 01", "OK 01");
	/* The defaults: 500 kHz, mode 0. */
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=500000 mode=0");
	/* Options, in either order, before the bytes. */
	harness_expect(h, "spi xfer 0.0 speed=1000000 mode=3 0102", "OK 01 02");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=1000000 mode=3");
	harness_expect(h, "spi xfer 0.0 mode=2 speed=250000000 03", "OK 03");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=250000000 mode=2");
	harness_expect(h, "spi xfer 0.0 MODE=1 04", "OK 04");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=500000 mode=1");
	harness_expect(h, "spi xfer 0.0 speed=1 05", "OK 05");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=1 mode=0");
	/* 4096 bytes, the most: glued, as a request has at most 128 words. */
	line = bytes("spi xfer 0.0", 0, 4096, 1);
	want = bytes("OK", 0, 4096, 0);
	harness_expect(h, line, want);
	free(line);
	free(want);
	harness_expect(h, "#x spi xfer 0.0 77", "#x OK 77");
	harness_free(h);
}

static void
test_errors(void **state)
{
	struct harness *h = harness_load_ok("spi", "backend = sim");
	static const char *const bad_dev[] = { "0", "0.", ".0", "x.y", "0.x",
	    "0.256", "32768.0", "0.0.0", "-1.0", "+0.0", "0x0.0", "", "spidev",
	    "spidev0", "spi0.0", "0 .0", "123456789.0" };
	char line[256], want[256], *big;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_dev) / sizeof(bad_dev[0]); i++) {
		snprintf(line, sizeof(line), "spi xfer \"%s\" 00", bad_dev[i]);
		snprintf(want, sizeof(want), "ERR ARGS bad device '%s': give "
		    "<bus>.<cs> such as 0.0 (spi devices lists them)",
		    bad_dev[i]);
		harness_expect(h, line, want);
	}
	/* Well formed, but not there. */
	harness_expect(h, "spi xfer 0.1 00", "ERR DEVICE spidev0.1: no such "
	    "device");
	harness_expect(h, "spi xfer 1.0 00", "ERR DEVICE spidev1.0: no such "
	    "device");
	harness_expect(h, "spi xfer 32767.255 00", "ERR DEVICE "
	    "spidev32767.255: no such device");
	/* Options. */
	harness_expect(h, "spi xfer 0.0 speed=0 00", "ERR ARGS bad 'speed=0': "
	    "speed= once, 1 to 250000000 Hz");
	harness_expect(h, "spi xfer 0.0 speed=250000001 00", "ERR ARGS bad "
	    "'speed=250000001': speed= once, 1 to 250000000 Hz");
	harness_expect(h, "spi xfer 0.0 speed=fast 00", "ERR ARGS bad "
	    "'speed=fast': speed= once, 1 to 250000000 Hz");
	harness_expect(h, "spi xfer 0.0 speed= 00", "ERR ARGS bad 'speed=': "
	    "speed= once, 1 to 250000000 Hz");
	harness_expect(h, "spi xfer 0.0 speed=-5 00", "ERR ARGS bad 'speed=-5': "
	    "speed= once, 1 to 250000000 Hz");
	harness_expect(h, "spi xfer 0.0 speed=1000 speed=2000 00", "ERR ARGS "
	    "bad 'speed=2000': speed= once, 1 to 250000000 Hz");
	harness_expect(h, "spi xfer 0.0 mode=4 00", "ERR ARGS bad 'mode=4': "
	    "mode= once, 0 to 3");
	harness_expect(h, "spi xfer 0.0 mode=01 00", "ERR ARGS bad 'mode=01': "
	    "mode= once, 0 to 3");
	harness_expect(h, "spi xfer 0.0 mode= 00", "ERR ARGS bad 'mode=': "
	    "mode= once, 0 to 3");
	harness_expect(h, "spi xfer 0.0 mode=1 mode=1 00", "ERR ARGS bad "
	    "'mode=1': mode= once, 0 to 3");
	harness_expect(h, "spi xfer 0.0 speed=1000 mode=1", "ERR ARGS no bytes "
	    "to send: usage: spi xfer <bus>.<cs> [speed=HZ] [mode=0-3] "
	    "<hex bytes...>");
	harness_expect(h, "spi xfer 0.0 a5 mode=1", "ERR ARGS 'mode=1' after "
	    "the bytes: speed= and mode= go before them");
	harness_expect(h, "spi xfer 0.0 bits=8 a5", "ERR ARGS 'bits=8' after the "
	    "bytes: speed= and mode= go before them");
	/* Bytes. */
	harness_expect(h, "spi xfer 0.0 zz", "ERR ARGS bad bytes 'zz': 'z' is "
	    "not a hex digit");
	harness_expect(h, "spi xfer 0.0 a5 f", "ERR ARGS bad bytes 'f': an odd "
	    "number of hex digits (two per byte: 0a, not a)");
	harness_expect(h, "spi xfer 0.0 0x", "ERR ARGS bad bytes '0x': give hex "
	    "digits, two per byte (a5, 0xa5ff)");
	big = bytes("spi xfer 0.0", 0, 4097, 1);
	harness_expect(h, big, "ERR ARGS too many bytes: at most 4096");
	free(big);
	/* Checked before the device is looked for. */
	big = bytes("spi xfer 0.1", 0, 4097, 1);
	harness_expect(h, big, "ERR ARGS too many bytes: at most 4096");
	free(big);
	/* Counts, by the dispatcher. */
	harness_expect(h, "spi xfer 0.0", "ERR ARGS usage: spi xfer <bus>.<cs> "
	    "[speed=HZ] [mode=0-3] <hex bytes...>");
	harness_expect(h, "spi xfer", "ERR ARGS usage: spi xfer <bus>.<cs> "
	    "[speed=HZ] [mode=0-3] <hex bytes...>");
	harness_expect(h, "spi devices 0.0", "ERR ARGS usage: spi devices");
	harness_expect(h, "spi sim-last 0.0", "ERR ARGS usage: spi sim-last");
	/* Nothing of it was sent. */
	harness_expect(h, "spi sim-last", "OK 0.0 none");
	harness_expect(h, "spi xfer 0.0 42", "OK 42");
	harness_free(h);
}

static void
test_config_speed_and_mode(void **state)
{
	struct harness *h = harness_load_ok("spi", "backend = sim\nspeed_hz = 8000000\n"
	    "mode = 1\nspeed_hz.0.1 = 1000\nmode.spidev0.1 = 2");

	(void)state;
	harness_expect(h, "spi xfer 0.0 00", "OK 00");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=8000000 mode=1");
	harness_expect(h, "spi xfer 0.0 mode=0 00", "OK 00");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=8000000 mode=0");
	harness_free(h);

	/* A device's own settings beat the section's, a request's beat
	 * both; one key of a device leaves the other at the default. */
	h = harness_load_ok("spi", "backend = sim\nspeed_hz = 8000000\nmode.0.0 = 3");
	harness_expect(h, "spi xfer 0.0 00", "OK 00");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=8000000 mode=3");
	harness_expect(h, "spi xfer 0.0 speed=4000 mode=2 00", "OK 00");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=4000 mode=2");
	harness_free(h);

	/* The other way round; settings of devices that do not exist are
	 * kept for when they do. */
	h = harness_load_ok("spi", "backend = sim\nmode = 2\nspeed_hz.0.0 = 123456\n"
	    "speed_hz.3.1 = 654321\nmode.3.1 = 0");
	harness_expect(h, "spi xfer 0.0 00", "OK 00");
	harness_expect(h, "spi sim-last", "OK 0.0 speed_hz=123456 mode=2");
	harness_free(h);
}

static void
test_config_errors(void **state)
{
	char *dir = fixture_tmpdir(), section[512], want[512];

	(void)state;
	/* Lines: 1 [plugins], 2 dir, 3 load, 4 [spi], 5... the keys. */
	expect_load_error("backend = sim\nbits = 8",
	    "picmd.ini:6: [spi] unknown key 'bits' (known: backend, dev_root, "
	    "speed_hz, mode, speed_hz.<bus>.<cs>, mode.<bus>.<cs>)");
	expect_load_error("backend = spidev",
	    "picmd.ini:5: [spi] backend must be dev or sim, not 'spidev'");
	expect_load_error("dev_root = dev",
	    "picmd.ini:5: [spi] dev_root must be an absolute path, not 'dev'");
	expect_load_error("backend = sim\nspeed_hz = 0",
	    "picmd.ini:6: [spi] speed_hz must be 1 to 250000000 (Hz), not '0'");
	expect_load_error("backend = sim\nspeed_hz = 1MHz",
	    "picmd.ini:6: [spi] speed_hz must be 1 to 250000000 (Hz), not "
	    "'1MHz'");
	expect_load_error("backend = sim\nmode = 4",
	    "picmd.ini:6: [spi] mode must be 0, 1, 2 or 3, not '4'");
	expect_load_error("backend = sim\nmode.0.1 = x",
	    "picmd.ini:6: [spi] mode.0.1 must be 0, 1, 2 or 3, not 'x'");
	expect_load_error("backend = sim\nspeed_hz.0.1 = 99999999999",
	    "picmd.ini:6: [spi] speed_hz.0.1 must be 1 to 250000000 (Hz), not "
	    "'99999999999'");
	expect_load_error("backend = sim\nspeed_hz.0 = 1000",
	    "picmd.ini:6: [spi] '0' names no device: write "
	    "speed_hz.<bus>.<cs>, such as speed_hz.0.1");
	expect_load_error("backend = sim\nmode.a.b = 1",
	    "picmd.ini:6: [spi] 'a.b' names no device: write mode.<bus>.<cs>, "
	    "such as mode.0.1");
	/* Every problem is reported, not just the first. */
	expect_load_error("backend = sim\nmode = 9\nspeed_hz = x",
	    "picmd.ini:7: [spi] speed_hz must be 1 to 250000000 (Hz), not "
	    "'x'");
	snprintf(section, sizeof(section), "dev_root = %s/missing", dir);
	snprintf(want, sizeof(want), "picmd.ini:5: [spi] cannot read "
	    "%s/missing: No such file or directory", dir);
	expect_load_error(section, want);
	fixture_rm(dir);
}

/* ---- the spidev backend, without a device ---- */

static void
test_dev(void **state)
{
	char *dir = fixture_tmpdir(), section[512], want[1024];
	static const char *const files[] = { "spidev0.0", "spidev0.1",
	    "spidev1.0", "spidev10.0", "spidev2.0", "spidev2.10", "spidev2.9",
	    /* not spidev names: */
	    "spidev", "spidevx.0", "spidev0.0.bak", "spidev0.256",
	    "spidev0", "spidev.0", "spidev-1.0", "i2c-1", "spidev00x.1" };
	struct harness *h;

	(void)state;
	snprintf(section, sizeof(section), "dev_root = %s", dir);
	h = harness_load_ok("spi", section);
	harness_expect(h, "spi devices", "OK");
	harness_expect(h, "spi xfer 0.0 00", "ERR DEVICE spidev0.0: no such "
	    "device");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "%s", files[i]);
		assert_int_equal(fixture_write(dir, rel, ""), 0);
	}
	/* By bus, then chip select, as numbers. */
	harness_expect(h, "spi devices", "OK 0.0 0.1 1.0 2.0 2.9 2.10 10.0");
	/* A file that is no spidev: the mode ioctl says so (not under
	 * qemu-user, which fails the ioctl ENOSYS: the plugin cannot tell). */
	snprintf(want, sizeof(want), "%s/spidev0.0", dir);
	if (ioctl_is_passed_on(want, SPI_IOC_RD_MODE32)) {
		snprintf(want, sizeof(want), "ERR DEVICE spidev0.0: %s/spidev0.0 "
		    "is not an spidev device (Inappropriate ioctl for device)",
		    dir);
		harness_expect(h, "spi xfer 0.0 00", want);
	}
	fixture_sh("mkdir '%s/spidev3.0'", dir);
	snprintf(want, sizeof(want), "ERR DEVICE spidev3.0: cannot open "
	    "%s/spidev3.0: Is a directory", dir);
	harness_expect(h, "spi xfer 3.0 00", want);
	/* No sim-only command on the real backend. */
	harness_expect(h, "spi sim-last", "ERR UNKNOWN unknown");
	harness_free(h);
	fixture_rm(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_config_speed_and_mode),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_dev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
