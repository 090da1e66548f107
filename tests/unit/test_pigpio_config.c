/*
 * Unit tests for src/compat_pigpio_config.c: the [pigpio] keys, the rule
 * that an open listener needs an allow list, comparing two sections for
 * a reload, and finding the board revision in procfs files shaped like
 * the kernel's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compat_pigpio.h"
#include "config.h"
#include "harness.h"

static struct pigpio_config *
parse(const char *const *kv)
{
	struct pigpio_config *pc = NULL;
	char msg[256];

	for (; kv[0] != NULL; kv += 2)
		if (pigpio_config_set(&pc, kv[0], kv[1], msg, sizeof(msg)) != 0)
			fail_msg("%s = %s: %s", kv[0], kv[1], msg);
	return pc;
}

static void
expect_bad(const char *key, const char *value, const char *why)
{
	struct pigpio_config *pc = NULL;
	char msg[256] = "";

	if (pigpio_config_set(&pc, key, value, msg, sizeof(msg)) != -1)
		fail_msg("%s = %s accepted", key, value);
	if (strstr(msg, why) == NULL)
		fail_msg("%s = %s: '%s' does not say '%s'", key, value, msg, why);
	pigpio_config_free(pc);
}

static void
test_keys(void **state)
{
	static const char *const kv[] = {
		"listen", "127.0.0.1:8888, [::1]:8888",
		"allow", "192.168.1.0/24 10.0.0.7",
		"pins", "17 18,27",
		"hwver", "0xa02082",
		"hardware_pwm", "18:0.0 19:0.1",
		NULL };
	struct pigpio_config *pc = parse(kv);
	char msg[256];

	(void)state;
	assert_int_equal(pc->nlisten, 2);
	assert_string_equal(pc->listen[1].text, "[::1]:8888");
	assert_int_equal(pc->nallow, 2);
	assert_true(pc->pins == (1ULL << 17 | 1ULL << 18 | 1ULL << 27));
	assert_true(pc->hwver_set);
	assert_int_equal(pc->hwver, 0xa02082);
	assert_int_equal(pc->nhwpwm, 2);
	assert_int_equal(pc->hwpwm[1].gpio, 19);
	assert_int_equal(pc->hwpwm[1].chip, 0);
	assert_int_equal(pc->hwpwm[1].channel, 1);
	assert_int_equal(pigpio_config_check(pc, msg, sizeof(msg)), 0);
	pigpio_config_free(pc);
}

static void
test_defaults(void **state)
{
	static const char *const kv[] = { "listen", "127.0.0.1:0", NULL };
	struct pigpio_config *pc = parse(kv);

	(void)state;
	/* Every line of the header, 0 to 53; the board's own revision. */
	assert_true(pc->pins == (1ULL << 54) - 1);
	assert_false(pc->hwver_set);
	assert_int_equal(pc->nallow, 0);
	pigpio_config_free(pc);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_bad("listen", "127.0.0.1", "bad listen address '127.0.0.1'");
	expect_bad("allow", "192.168.1.0/33", "bad address '192.168.1.0/33'");
	expect_bad("pins", "54", "bad pin '54'");
	expect_bad("pins", "-1", "bad pin '-1'");
	expect_bad("pins", "GPIO17", "bad pin 'GPIO17'");
	expect_bad("hwver", "pi5", "bad hwver 'pi5'");
	expect_bad("hwver", "0x100000000", "bad hwver");
	expect_bad("hardware_pwm", "18", "expected GPIO:CHIP.CHANNEL");
	expect_bad("hardware_pwm", "18:0", "expected GPIO:CHIP.CHANNEL");
	expect_bad("hardware_pwm", "54:0.0", "expected GPIO:CHIP.CHANNEL");
	expect_bad("hardware_pwm", "18:0.0 18:1.0", "GPIO 18 is given twice");
}

/* Protected mode's rule for a protocol without a password. */
static void
test_open_listener_needs_allow(void **state)
{
	static const char *const open[] = { "listen", "0.0.0.0:8888", NULL };
	static const char *const allowed[] = { "listen", "0.0.0.0:8888",
	    "allow", "192.168.1.20", NULL };
	struct pigpio_config *pc;
	char msg[512] = "";

	(void)state;
	pc = parse(open);
	assert_int_equal(pigpio_config_check(pc, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "[pigpio] listen = 0.0.0.0:8888 is not a "
	    "loopback address"));
	assert_non_null(strstr(msg, "[pigpio] allow"));
	pigpio_config_free(pc);
	pc = parse(allowed);
	assert_int_equal(pigpio_config_check(pc, msg, sizeof(msg)), 0);
	pigpio_config_free(pc);
	assert_int_equal(pigpio_config_check(NULL, msg, sizeof(msg)), 0);
}

static void
test_same(void **state)
{
	static const char *const a[] = { "listen", "127.0.0.1:8888",
	    "pins", "17", NULL };
	static const char *const b[] = { "listen", "127.0.0.1:8888",
	    "pins", "18", NULL };
	struct pigpio_config *pa = parse(a), *pa2 = parse(a), *pb = parse(b);

	(void)state;
	assert_true(pigpio_config_same(pa, pa2));
	assert_false(pigpio_config_same(pa, pb));
	assert_false(pigpio_config_same(pa, NULL));
	assert_true(pigpio_config_same(NULL, NULL));
	pigpio_config_free(pa);
	pigpio_config_free(pa2);
	pigpio_config_free(pb);
}

/* [system] procfs_root as the board revision's source. */
static uint32_t
revision_in(const char *procfs, const char *hwver)
{
	struct config cfg;
	struct pigpio_config *pc = NULL;
	char msg[256];
	uint32_t rev;

	memset(&cfg, 0, sizeof(cfg));
	cfg.procfs_root = (char *)procfs;
	if (hwver != NULL) {
		assert_int_equal(pigpio_config_set(&pc, "hwver", hwver, msg,
		    sizeof(msg)), 0);
		cfg.pigpio = pc;
	}
	rev = pigpio_board_revision(&cfg);
	pigpio_config_free(pc);
	return rev;
}

static void
test_board_revision(void **state)
{
	char *dir = fixture_tmpdir();
	static const unsigned char pi5[4] = { 0x00, 0xd0, 0x41, 0x70 };
	char path[4096];
	FILE *fp;

	(void)state;
	/* Nothing to read: 0, unless configured. */
	assert_int_equal(revision_in(dir, NULL), 0);
	assert_int_equal(revision_in(dir, "0xa02082"), 0xa02082);
	/* cpuinfo's Revision (not "CPU revision", which comes first). */
	assert_int_equal(fixture_write(dir, "cpuinfo", "processor\t: 0\n"
	    "CPU revision\t: 3\n\nHardware\t: BCM2835\nRevision\t: c03114\n"
	    "Serial\t\t: 100000001234abcd\n"), 0);
	assert_int_equal(revision_in(dir, NULL), 0xc03114);
	/* The device tree's 4 big-endian bytes win. */
	fixture_sh("mkdir -p '%s/device-tree/system'", dir);
	snprintf(path, sizeof(path), "%s/device-tree/system/linux,revision",
	    dir);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(pi5, 1, sizeof(pi5), fp), sizeof(pi5));
	fclose(fp);
	assert_int_equal(revision_in(dir, NULL), 0xd04170);
	assert_int_equal(revision_in(dir, "0x902120"), 0x902120);
	/* A short file is no revision: cpuinfo's instead. */
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(pi5, 1, 3, fp), 3);
	fclose(fp);
	assert_int_equal(revision_in(dir, NULL), 0xc03114);
	fixture_rm(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_open_listener_needs_allow),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_board_revision),
	};

	return cmocka_run_group_tests_name("pigpio_config", tests, NULL, NULL);
}
