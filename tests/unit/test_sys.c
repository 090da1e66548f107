/*
 * The sys plugin against a copy of tests/fixtures/sysfs and procfs, which
 * hold what a Raspberry Pi 4 on Raspberry Pi OS bookworm shows: thermal
 * zone 0, the device tree's model and serial-number, the rpi_volt hwmon
 * device and the firmware's get_throttled, and procfs uptime, loadavg,
 * meminfo, cpuinfo and sys/kernel/{hostname,osrelease}.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ZONE	"sysfs/class/thermal/thermal_zone0"
#define DT	"sysfs/firmware/devicetree/base"
#define VOLT	"sysfs/class/hwmon/hwmon1"
#define FW	"sysfs/bus/platform/drivers/raspberrypi-firmware/soc:firmware"

#define MEM_OK	"OK total_kb=3884300 available_kb=3452828 free_kb=2981224 " \
	"swap_total_kb=102396 swap_free_kb=102396"
#define INFO_OK	"OK model=\"Raspberry Pi 4 Model B Rev 1.4\" " \
	"serial=100000001b5a3c9e revision=c03114 hostname=raspberrypi " \
	"kernel=6.6.51+rpt-rpi-v8"

static int
setup(void **state)
{
	*state = fx_load("sys", NULL);
	return 0;
}

/* The same, with the firmware's get_throttled enabled. */
static int
setup_fw(void **state)
{
	*state = fx_load("sys", "firmware_throttled = yes");
	return 0;
}

static void
put(struct fx *fx, const char *rel, const char *text)
{
	assert_int_equal(fixture_write(fx->tmp, rel, text), 0);
}

/* Device-tree strings hold a NUL, which fixture_write cannot write. */
static void
put_dt(struct fx *fx, const char *prop, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/" DT "/%s", fx->tmp, prop);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text) + 1, fp),
	    strlen(text) + 1);
	assert_int_equal(fclose(fp), 0);
}

/* system/linux,revision: 4 raw bytes. */
static void
put_revision(struct fx *fx, const char *bytes)
{
	char path[512];
	FILE *fp;

	fixture_sh("mkdir -p '%s/" DT "/system'", fx->tmp);
	snprintf(path, sizeof(path), "%s/" DT "/system/linux,revision",
	    fx->tmp);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(bytes, 1, 4, fp), 4);
	assert_int_equal(fclose(fp), 0);
}

/* A file becomes a directory, so reading it fails (EISDIR) even as root. */
static void
make_dir(struct fx *fx, const char *rel)
{
	fixture_sh("rm '%s/%s' && mkdir '%s/%s'", fx->tmp, rel, fx->tmp, rel);
}

static void
remove_path(struct fx *fx, const char *rel)
{
	fixture_sh("rm -r '%s/%s'", fx->tmp, rel);
}

static void
test_temp(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys temp", "OK 48.312");
	put(fx, ZONE "/temp", "-1500\n");
	fx_expect(fx, "sys temp", "OK -1.500");
	put(fx, ZONE "/temp", "85000\n");
	fx_expect(fx, "sys temp", "OK 85.000");
	put(fx, ZONE "/temp", "5\n");
	fx_expect(fx, "sys temp", "OK 0.005");
	put(fx, ZONE "/temp", "48.3\n");
	fx_expect_t(fx, "sys temp", "ERR DEVICE %T/" ZONE "/temp: unexpected "
	    "content '48.3'");
	put(fx, ZONE "/temp", "\n");
	fx_expect_t(fx, "sys temp", "ERR DEVICE %T/" ZONE "/temp: unexpected "
	    "content ''");
	put(fx, ZONE "/temp", "1000001\n");
	fx_expect_t(fx, "sys temp", "ERR DEVICE %T/" ZONE "/temp: unexpected "
	    "content '1000001'");
	make_dir(fx, ZONE "/temp");
	fx_expect_t(fx, "sys temp", "ERR DEVICE read %T/" ZONE "/temp: Is a "
	    "directory");
	remove_path(fx, "sysfs/class/thermal");
	fx_expect_t(fx, "sys temp", "ERR DEVICE read %T/" ZONE "/temp: No such "
	    "file or directory");
}

static void
test_uptime(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = {
		"\n", "3627\n", "3627.41\n", "3627.41 \n", "3627 14291.06\n",
		"3627.41 14291\n", ".41 14291.06\n", "3627. 14291.06\n",
		"-1.00 0.00\n", "36x7.41 14291.06\n",
		"1234567890123456789.00 0.00\n",
	};

	fx_expect(fx, "sys uptime", "OK 3627");
	put(fx, "procfs/uptime", "0.00 0.00\n");
	fx_expect(fx, "sys uptime", "OK 0");
	/* Five years and a half; the idle time grows with the cores. */
	put(fx, "procfs/uptime", "173448000.99 693792000.12\n");
	fx_expect(fx, "sys uptime", "OK 173448000");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256], *got;

		put(fx, "procfs/uptime", bad[i]);
		snprintf(want, sizeof(want), "ERR DEVICE %s/procfs/uptime: "
		    "unexpected content '%.*s'", fx->tmp,
		    (int)strcspn(bad[i], "\n"), bad[i]);
		got = harness_run(fx->h, "sys uptime");
		assert_string_equal(got, want);
		free(got);
	}
	remove_path(fx, "procfs/uptime");
	fx_expect_t(fx, "sys uptime",
	    "ERR DEVICE read %T/procfs/uptime: No such "
	    "file or directory");
}

static void
test_load(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys load", "OK 0.15 0.10 0.05");
	put(fx, "procfs/loadavg", "12.50 8.03 4.00 3/512 9999\n");
	fx_expect(fx, "sys load", "OK 12.50 8.03 4.00");
	put(fx, "procfs/loadavg", "0.15 0.10\n");
	fx_expect_t(fx, "sys load", "ERR DEVICE %T/procfs/loadavg: unexpected "
	    "content '0.15 0.10'");
	put(fx, "procfs/loadavg", "0.15 high 0.05 1/187 1234\n");
	fx_expect_t(fx, "sys load", "ERR DEVICE %T/procfs/loadavg: unexpected "
	    "content '0.15 high 0.05 1/187 1234'");
	make_dir(fx, "procfs/loadavg");
	fx_expect_t(fx, "sys load", "ERR DEVICE read %T/procfs/loadavg: Is a "
	    "directory");
}

static void
test_mem(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys mem", MEM_OK);
	/* Other keys and their order do not matter. */
	put(fx, "procfs/meminfo", "SwapFree: 0 kB\nSwapTotal: 0 kB\n"
	    "MemAvailable: 300 kB\nHugePages_Total: 0\nMemFree: 200 kB\n"
	    "MemTotal: 1000 kB\n");
	fx_expect(fx, "sys mem",
	    "OK total_kb=1000 available_kb=300 free_kb=200 "
	    "swap_total_kb=0 swap_free_kb=0");
	/* Before Linux 3.14 there was no MemAvailable. */
	put(fx, "procfs/meminfo", "MemTotal: 1000 kB\nMemFree: 200 kB\n"
	    "SwapTotal: 0 kB\nSwapFree: 0 kB\n");
	fx_expect_t(fx, "sys mem",
	    "ERR DEVICE %T/procfs/meminfo: no MemAvailable "
	    "line");
	put(fx, "procfs/meminfo", "MemTotal: 1000 kB\nMemFree: lots kB\n"
	    "MemAvailable: 300 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
	fx_expect_t(fx, "sys mem", "ERR DEVICE %T/procfs/meminfo: unexpected "
	    "content in the MemFree line");
	put(fx, "procfs/meminfo", "MemTotal: 1000 MB\nMemFree: 1 kB\n"
	    "MemAvailable: 300 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
	fx_expect_t(fx, "sys mem", "ERR DEVICE %T/procfs/meminfo: unexpected "
	    "content in the MemTotal line");
	put(fx, "procfs/meminfo", "MemTotal: -1 kB\n");
	fx_expect_t(fx, "sys mem", "ERR DEVICE %T/procfs/meminfo: unexpected "
	    "content in the MemTotal line");
	put(fx, "procfs/meminfo", "");
	fx_expect_t(fx, "sys mem", "ERR DEVICE %T/procfs/meminfo: no MemTotal "
	    "line");
	remove_path(fx, "procfs/meminfo");
	fx_expect_t(fx, "sys mem", "ERR DEVICE read %T/procfs/meminfo: No such "
	    "file or directory");
}

static void
test_info(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys info", INFO_OK);
	/* The device tree comes first. */
	put_dt(fx, "model", "Raspberry Pi 5 Model B Rev 1.0");
	put_dt(fx, "serial-number", "a1b2c3d4e5f60718");
	fx_expect(fx, "sys info", "OK model=\"Raspberry Pi 5 Model B Rev 1.0\" "
	    "serial=a1b2c3d4e5f60718 revision=c03114 hostname=raspberrypi "
	    "kernel=6.6.51+rpt-rpi-v8");
	/* Without it, cpuinfo's Model and Serial lines. */
	remove_path(fx, "sysfs/firmware");
	fx_expect(fx, "sys info", INFO_OK);
	/* Neither (a PC): only what every Linux has. */
	put(fx, "procfs/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n"
	    "model name\t: Some CPU @ 2.00GHz\n\n");
	fx_expect(fx, "sys info", "OK hostname=raspberrypi "
	    "kernel=6.6.51+rpt-rpi-v8");
	/* A Pi 5 under Debian's own kernel: no Revision in cpuinfo, the
	 * device tree's 4 big-endian bytes instead. */
	put_revision(fx, "\x00\xd0\x41\x70");
	fx_expect(fx, "sys info", "OK revision=d04170 hostname=raspberrypi "
	    "kernel=6.6.51+rpt-rpi-v8");
	remove_path(fx, "sysfs/firmware");
	remove_path(fx, "procfs/cpuinfo");
	fx_expect(fx, "sys info", "OK hostname=raspberrypi "
	    "kernel=6.6.51+rpt-rpi-v8");
}

static void
test_info_quoting(void **state)
{
	struct fx *fx = *state;

	/* Read the way a shell (or Python's shlex.split) reads words. */
	put_dt(fx, "model", "Pi \"Special\" \\ Edition\tx");
	put(fx, "procfs/sys/kernel/hostname", "pi-1\n");
	put(fx, "procfs/sys/kernel/osrelease", "6.1.0-rpi7-rpi-v8\n");
	fx_expect(fx, "sys info",
	    "OK model=\"Pi \\\"Special\\\" \\\\ Edition x\" "
	    "serial=100000001b5a3c9e revision=c03114 hostname=pi-1 "
	    "kernel=6.1.0-rpi7-rpi-v8");
	put_dt(fx, "model", "it's");
	fx_expect(fx, "sys info", "OK model=\"it's\" serial=100000001b5a3c9e "
	    "revision=c03114 hostname=pi-1 kernel=6.1.0-rpi7-rpi-v8");
}

static void
test_info_errors(void **state)
{
	struct fx *fx = *state;

	make_dir(fx, DT "/model");
	fx_expect_t(fx, "sys info", "ERR DEVICE read %T/" DT "/model: Is a "
	    "directory");
	remove_path(fx, DT "/model");
	make_dir(fx, DT "/serial-number");
	fx_expect_t(fx, "sys info",
	    "ERR DEVICE read %T/" DT "/serial-number: Is "
	    "a directory");
	remove_path(fx, DT "/serial-number");
	remove_path(fx, "procfs/sys/kernel/hostname");
	fx_expect_t(fx, "sys info", "ERR DEVICE read %T/procfs/sys/kernel/"
	    "hostname: No such file or directory");
	put(fx, "procfs/sys/kernel/hostname", "raspberrypi\n");
	make_dir(fx, "procfs/sys/kernel/osrelease");
	fx_expect_t(fx, "sys info", "ERR DEVICE read %T/procfs/sys/kernel/"
	    "osrelease: Is a directory");
	remove_path(fx, "procfs/sys/kernel/osrelease");
	put(fx, "procfs/sys/kernel/osrelease", "6.6.51+rpt-rpi-v8\n");
	make_dir(fx, "procfs/cpuinfo");
	fx_expect_t(fx, "sys info", "ERR DEVICE read %T/procfs/cpuinfo: Is a "
	    "directory");
}

static void
test_throttled_hwmon(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys throttled", "OK under_voltage=0");
	/* Reading did not touch the firmware's get_throttled. */
	put(fx, FW "/get_throttled", "garbage\n");
	fx_expect(fx, "sys throttled", "OK under_voltage=0");
	put(fx, VOLT "/in0_lcrit_alarm", "1\n");
	fx_expect(fx, "sys throttled", "OK under_voltage=1");
	put(fx, VOLT "/in0_lcrit_alarm", "2\n");
	fx_expect_t(fx, "sys throttled",
	    "ERR DEVICE %T/" VOLT "/in0_lcrit_alarm: "
	    "unexpected content '2'");
	make_dir(fx, VOLT "/in0_lcrit_alarm");
	fx_expect_t(fx, "sys throttled", "ERR DEVICE read %T/" VOLT
	    "/in0_lcrit_alarm: Is a directory");
	/* Only cpu_thermal left: not exposed. */
	remove_path(fx, VOLT);
	fx_expect_t(fx, "sys throttled",
	    "ERR DEVICE under-voltage and throttling "
	    "are not exposed by this kernel/firmware (no rpi_volt device in "
	    "%T/sysfs/class/hwmon)");
	remove_path(fx, "sysfs/class/hwmon");
	fx_expect_t(fx, "sys throttled",
	    "ERR DEVICE under-voltage and throttling "
	    "are not exposed by this kernel/firmware (no rpi_volt device in "
	    "%T/sysfs/class/hwmon)");
}

static void
test_throttled_firmware(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys throttled", "OK under_voltage=0 arm_freq_capped=0 "
	    "throttled=0 soft_temp_limit=0 under_voltage_occurred=0 "
	    "arm_freq_capped_occurred=0 throttled_occurred=0 "
	    "soft_temp_limit_occurred=0 raw=0x0");
	/* vcgencmd's well-known 0x50005: under-voltage, throttled. */
	put(fx, FW "/get_throttled", "50005\n");
	fx_expect(fx, "sys throttled", "OK under_voltage=1 arm_freq_capped=0 "
	    "throttled=1 soft_temp_limit=0 under_voltage_occurred=1 "
	    "arm_freq_capped_occurred=0 throttled_occurred=1 "
	    "soft_temp_limit_occurred=0 raw=0x50005");
	put(fx, FW "/get_throttled", "8000a\n");
	fx_expect(fx, "sys throttled", "OK under_voltage=0 arm_freq_capped=1 "
	    "throttled=0 soft_temp_limit=1 under_voltage_occurred=0 "
	    "arm_freq_capped_occurred=0 throttled_occurred=0 "
	    "soft_temp_limit_occurred=1 raw=0x8000a");
	put(fx, FW "/get_throttled", "0x5\n");
	fx_expect_t(fx, "sys throttled", "ERR DEVICE %T/" FW "/get_throttled: "
	    "unexpected content '0x5'");
	put(fx, FW "/get_throttled", "100000000\n");
	fx_expect_t(fx, "sys throttled", "ERR DEVICE %T/" FW "/get_throttled: "
	    "unexpected content '100000000'");
	make_dir(fx, FW "/get_throttled");
	fx_expect_t(fx, "sys throttled", "ERR DEVICE read %T/" FW
	    "/get_throttled: Is a directory");
	/* A kernel without get_throttled: the hwmon flag. */
	remove_path(fx, FW "/get_throttled");
	fx_expect(fx, "sys throttled", "OK under_voltage=0");
	remove_path(fx, "sysfs/bus/platform");
	fx_expect(fx, "sys throttled", "OK under_voltage=0");
}

static void
test_usage(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "sys temp now", "ERR ARGS usage: sys temp");
	fx_expect(fx, "sys info x", "ERR ARGS usage: sys info");
	fx_expect(fx, "sys", "ERR UNKNOWN unknown");
}

static void
test_config(void **state)
{
	(void)state;
	assert_null(harness_load("sys", "thermal_zone = 1", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "[sys] unknown key 'thermal_zone'"));
	assert_null(harness_load("sys", "firmware_throttled = maybe", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "[sys] firmware_throttled must be yes or no"));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_temp),
		T(test_uptime),
		T(test_load),
		T(test_mem),
		T(test_info),
		T(test_info_quoting),
		T(test_info_errors),
		T(test_throttled_hwmon),
		cmocka_unit_test_setup_teardown(test_throttled_firmware,
		    setup_fw, fx_teardown),
		T(test_usage),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests_name("sys", tests, NULL, NULL);
}
