/*
 * The w1 plugin against a copy of tests/fixtures/sysfs: on bus master 1,
 * a DS18B20 with `temperature` and `w1_slave` (28-3c01d6079a3f, 23.125
 * C), a DS18S20 as an old kernel shows it, with w1_slave only
 * (10-000802b4c5e1, 25.062 C), and a DS18B20 whose last read failed its
 * CRC (28-01192f3b8c4d: `temperature` empty, w1_slave says NO).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define DEVS	"sysfs/bus/w1/devices"
#define NEW	DEVS "/28-3c01d6079a3f"
#define OLD	DEVS "/10-000802b4c5e1"
#define BAD	DEVS "/28-01192f3b8c4d"

static int
setup(void **state)
{
	*state = fx_load("w1", NULL);
	return 0;
}

static void
put(struct fx *fx, const char *rel, const char *text)
{
	assert_int_equal(fixture_write(fx->tmp, rel, text), 0);
}

/* A file of the tree becomes a directory: its read fails with EISDIR,
 * an error path that works when tests run as root. */
static void
make_dir(struct fx *fx, const char *rel)
{
	fixture_sh("rm '%s/%s' && mkdir '%s/%s'", fx->tmp, rel, fx->tmp, rel);
}

static void
test_list(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "w1 list", "OK 10-000802b4c5e1 28-01192f3b8c4d "
	    "28-3c01d6079a3f");
	/* Only bus masters: an empty list. */
	fixture_sh("rm '%s/" DEVS "'/[0-9]*", fx->tmp);
	fx_expect(fx, "w1 list", "OK");
	fixture_sh("rm -r '%s/" DEVS "'", fx->tmp);
	fx_expect_t(fx, "w1 list", "ERR DEVICE %T/" DEVS ": No such file or "
	    "directory (is dtoverlay=w1-gpio enabled?)");
	fixture_sh("touch '%s/" DEVS "'", fx->tmp);
	fx_expect_t(fx, "w1 list", "ERR DEVICE %T/" DEVS ": Not a directory");
}

static void
test_temp(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "w1 temp 28-3c01d6079a3f", "OK 23.125");
	fx_expect(fx, "w1 temp 10-000802b4c5e1", "OK 25.062");
	/* temperature is empty, so w1_slave is read and says NO. */
	fx_expect_t(fx, "w1 temp 28-01192f3b8c4d", "ERR DEVICE %T/" BAD
	    "/w1_slave: CRC check failed");
}

static void
test_temperature_file(void **state)
{
	struct fx *fx = *state;
	static const char *const cases[][2] = {
		{ "-500\n", "OK -0.500" }, { "-10125\n", "OK -10.125" },
		{ "0\n", "OK 0.000" }, { "125000\n", "OK 125.000" },
		{ "-55000\n", "OK -55.000" }, { "7\n", "OK 0.007" },
		{ "-62\n", "OK -0.062" }, { "1800000\n", "OK 1800.000" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(fx, NEW "/temperature", cases[i][0]);
		fx_expect(fx, "w1 temp 28-3c01d6079a3f", cases[i][1]);
	}
	/* The temperature file wins over w1_slave. */
	put(fx, NEW "/w1_slave", "garbage\n");
	put(fx, NEW "/temperature", "21000\n");
	fx_expect(fx, "w1 temp 28-3c01d6079a3f", "OK 21.000");
}

static void
test_temperature_errors(void **state)
{
	struct fx *fx = *state;

	put(fx, NEW "/temperature", "warm\n");
	fx_expect_t(fx, "w1 temp 28-3c01d6079a3f", "ERR DEVICE %T/" NEW
	    "/temperature: unexpected content 'warm'");
	/* Replies are one line: the daemon sends the newline as a space. */
	put(fx, NEW "/temperature", "23125 \n1\n");
	fx_expect_t(fx, "w1 temp 28-3c01d6079a3f", "ERR DEVICE %T/" NEW
	    "/temperature: unexpected content '23125  1'");
	put(fx, NEW "/temperature", "99999999\n");
	fx_expect_t(fx, "w1 temp 28-3c01d6079a3f", "ERR DEVICE %T/" NEW
	    "/temperature: unexpected content '99999999'");
	put(fx, NEW "/temperature", "-273151\n");
	fx_expect_t(fx, "w1 temp 28-3c01d6079a3f", "ERR DEVICE %T/" NEW
	    "/temperature: unexpected content '-273151'");
	make_dir(fx, NEW "/temperature");
	fx_expect_t(fx, "w1 temp 28-3c01d6079a3f", "ERR DEVICE read %T/" NEW
	    "/temperature: Is a directory");
}

static void
test_w1_slave(void **state)
{
	struct fx *fx = *state;

	/* -0.5 C: f8 ff, CRC f8. */
	put(fx, OLD "/w1_slave", "f8 ff 4b 46 7f ff 08 10 f8 : crc=f8 YES\n"
	    "f8 ff 4b 46 7f ff 08 10 f8 t=-500\n");
	fx_expect(fx, "w1 temp 10-000802b4c5e1", "OK -0.500");
	/* Upper-case hex is still hex. */
	put(fx, OLD "/w1_slave", "A1 01 4B 46 7F FF 0C 10 8C : crc=8C YES\n"
	    "A1 01 4B 46 7F FF 0C 10 8C t=26062\n");
	fx_expect(fx, "w1 temp 10-000802b4c5e1", "OK 26.062");
	/* Without the final newline. */
	put(fx, OLD "/w1_slave", "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
	    "72 01 4b 46 7f ff 0e 10 57 t=23125");
	fx_expect(fx, "w1 temp 10-000802b4c5e1", "OK 23.125");
	/* A sensor unplugged after the last good read: NO, whatever t. */
	put(fx, OLD "/w1_slave", "ff ff ff ff ff ff ff ff ff : crc=c9 NO\n"
	    "ff ff ff ff ff ff ff ff ff t=-62\n");
	fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE %T/" OLD
	    "/w1_slave: CRC check failed");
}

static void
test_own_crc_check(void **state)
{
	struct fx *fx = *state;

	/* The kernel says YES, but the ninth byte is not the CRC. */
	put(fx, OLD "/w1_slave", "72 01 4b 46 7f ff 0e 10 58 : crc=58 YES\n"
	    "72 01 4b 46 7f ff 0e 10 58 t=23125\n");
	fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE %T/" OLD
	    "/w1_slave: CRC check failed (bytes give 57, sensor sent 58, "
	    "kernel says 58)");
	/* A flipped data bit. */
	put(fx, OLD "/w1_slave", "73 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
	    "73 01 4b 46 7f ff 0e 10 57 t=23187\n");
	fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE %T/" OLD
	    "/w1_slave: CRC check failed (bytes give 14, sensor sent 57, "
	    "kernel says 57)");
	/* Bytes and CRC agree, but the kernel's crc= does not. */
	put(fx, OLD "/w1_slave", "72 01 4b 46 7f ff 0e 10 57 : crc=00 YES\n"
	    "72 01 4b 46 7f ff 0e 10 57 t=23125\n");
	fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE %T/" OLD
	    "/w1_slave: CRC check failed (bytes give 57, sensor sent 57, "
	    "kernel says 00)");
	/* All zero has a valid CRC, but no sensor says that. */
	put(fx, OLD "/w1_slave", "00 00 00 00 00 00 00 00 00 : crc=00 YES\n"
	    "00 00 00 00 00 00 00 00 00 t=0\n");
	fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE %T/" OLD
	    "/w1_slave: the scratchpad reads all zero (data line held low?)");
}

static void
test_w1_slave_malformed(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = {
		"",
		"\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n",
		"72 01 4b 46 7f ff 0e 10 : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=23125\n",
		"72 01 4b 46 7f ff 0e 10 5g : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=23125\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 MAYBE\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=23125\n",
		"72 01 4b 46 7f ff 0e 10 57 crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=23125\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=23.125\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=99999999\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 23125\n",
		"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
		    "72 01 4b 46 7f ff 0e 10 57 t=23125\nextra\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(fx, OLD "/w1_slave", bad[i]);
		fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE %T/" OLD
		    "/w1_slave: unexpected content");
	}
}

static void
test_files_missing(void **state)
{
	struct fx *fx = *state;

	/* An EEPROM (DS2431) is a device, but not a thermometer. */
	put(fx, "sysfs/devices/w1_bus_master1/2d-00000a1b2c3d/name",
	    "2d-00000a1b2c3d\n");
	fixture_sh("ln -s ../../../devices/w1_bus_master1/2d-00000a1b2c3d "
	    "'%s/" DEVS "/2d-00000a1b2c3d'", fx->tmp);
	fx_expect(fx, "w1 list", "OK 10-000802b4c5e1 28-01192f3b8c4d "
	    "28-3c01d6079a3f 2d-00000a1b2c3d");
	fx_expect_t(fx, "w1 temp 2d-00000a1b2c3d", "ERR DEVICE %T/" DEVS
	    "/2d-00000a1b2c3d: no temperature or w1_slave file (not a "
	    "temperature sensor?)");
	make_dir(fx, OLD "/w1_slave");
	fx_expect_t(fx, "w1 temp 10-000802b4c5e1", "ERR DEVICE read %T/" OLD
	    "/w1_slave: Is a directory");
}

static void
test_bad_ids(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "w1 temp ..", "ERR ARGS bad 1-Wire device id '..'");
	fx_expect(fx, "w1 temp .", "ERR ARGS bad 1-Wire device id '.'");
	fx_expect(fx, "w1 temp ../../../etc", "ERR ARGS bad 1-Wire device id "
	    "'../../../etc'");
	fx_expect(fx, "w1 temp 28-3c01d6079a3f/", "ERR ARGS bad 1-Wire device "
	    "id '28-3c01d6079a3f/'");
	fx_expect(fx, "w1 temp \"\"", "ERR ARGS bad 1-Wire device id ''");
	fx_expect(fx, "w1 temp w1_bus_master1", "ERR ARGS bad 1-Wire device id "
	    "'w1_bus_master1'");
	fx_expect_t(fx, "w1 temp 28-000000000000",
	    "ERR DEVICE no 1-Wire device "
	    "'28-000000000000' in %T/" DEVS);
	fx_expect(fx, "w1 temp", "ERR ARGS usage: w1 temp <id>");
	fx_expect(fx, "w1 temp a b", "ERR ARGS usage: w1 temp <id>");
	fx_expect(fx, "w1 list x", "ERR ARGS usage: w1 list");
}

static void
test_unknown_key(void **state)
{
	(void)state;
	assert_null(harness_load("w1", "pin = 4", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "[w1] unknown key 'pin'"));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_list),
		T(test_temp),
		T(test_temperature_file),
		T(test_temperature_errors),
		T(test_w1_slave),
		T(test_own_crc_check),
		T(test_w1_slave_malformed),
		T(test_files_missing),
		T(test_bad_ids),
		cmocka_unit_test(test_unknown_key),
	};

	return cmocka_run_group_tests_name("w1", tests, NULL, NULL);
}
