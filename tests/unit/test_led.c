/*
 * The led plugin against a copy of tests/fixtures/sysfs (a Raspberry Pi
 * 4's /sys/class/leds: ACT and PWR from gpio-leds, mmc0:: from sdhci).
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

#define LEDS	"sysfs/class/leds"

/* The kernel's list for ACT in the fixture, brackets removed. */
#define TRIGGERS "none usb-gadget usb-host rc-feedback kbd-scrolllock " \
	"kbd-numlock kbd-capslock kbd-kanalock kbd-shiftlock kbd-altgrlock " \
	"kbd-ctrllock kbd-altlock kbd-shiftllock kbd-shiftrlock " \
	"kbd-ctrlllock kbd-ctrlrlock timer oneshot disk-activity disk-read " \
	"disk-write mtd nand-disk heartbeat backlight gpio cpu cpu0 cpu1 " \
	"cpu2 cpu3 activity default-on transient flash torch panic netdev " \
	"mmc1 mmc0 actpwr rfkill-any rfkill-none rfkill0 bluetooth-power " \
	"hci0-power rfkill1"

/* A private copy of the fixture trees, so tests may write to them. */
static int
setup(void **state)
{
	*state = fx_load("led", NULL);
	return 0;
}

/* Turn a file of the tree into a directory: reads and writes then fail
 * with EISDIR, the way to see error paths when tests run as root. */
static void
make_dir(struct fx *fx, const char *rel)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s", fx->tmp, rel) != -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

static void
remove_file(struct fx *fx, const char *rel)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s", fx->tmp, rel) != -1);
	assert_int_equal(unlink(path), 0);
	free(path);
}

/* What the kernel shows in `trigger` after a write: the same list with
 * the new trigger in brackets.  The fixture is a plain file, so a test
 * plays the kernel's part before the next read. */
static void
kernel_trigger(struct fx *fx, const char *led, const char *active)
{
	char rel[256], list[2048], *p, *save;
	char words[] = TRIGGERS;
	size_t n = 0;

	for (p = strtok_r(words, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save))
		n += (size_t)snprintf(list + n, sizeof(list) - n,
		    strcmp(p, active) == 0 ? "%s[%s]" : "%s%s",
		    n == 0 ? "" : " ", p);
	snprintf(list + n, sizeof(list) - n, "\n");
	snprintf(rel, sizeof(rel), LEDS "/%s/trigger", led);
	assert_int_equal(fixture_write(fx->tmp, rel, list), 0);
}

static void
test_list(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led list", "OK ACT:0:1:mmc0 PWR:1:1:default-on "
	    "mmc0:::0:255:mmc0");
	/* Reading changes nothing. */
	fx_expect_file(fx, LEDS "/ACT/brightness", "0\n");
}

static void
test_list_empty_and_missing(void **state)
{
	struct fx *fx = *state;
	char *cmd;

	assert_true(asprintf(&cmd, "rm -rf '%s/" LEDS "'/*", fx->tmp) != -1);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	fx_expect(fx, "led list", "OK");
	assert_true(asprintf(&cmd, "rmdir '%s/" LEDS "'", fx->tmp) != -1);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	fx_expect_t(fx, "led list", "ERR DEVICE %T/" LEDS ": No such file or "
	    "directory");
}

static void
test_list_without_trigger_file(void **state)
{
	struct fx *fx = *state;

	/* CONFIG_LEDS_TRIGGERS=n: no trigger file at all. */
	remove_file(fx, LEDS "/PWR/trigger");
	fx_expect(fx, "led list", "OK ACT:0:1:mmc0 PWR:1:1:none "
	    "mmc0:::0:255:mmc0");
	fx_expect(fx, "led set PWR off", "OK");
	fx_expect_file(fx, LEDS "/PWR/brightness", "0\n");
}

static void
test_list_errors(void **state)
{
	struct fx *fx = *state;

	fixture_write(fx->tmp, LEDS "/PWR/max_brightness", "lots\n");
	fx_expect_t(fx, "led list",
	    "ERR DEVICE %T/" LEDS "/PWR/max_brightness: "
	    "unexpected content 'lots'");
	fixture_write(fx->tmp, LEDS "/PWR/max_brightness", "1\n");
	fixture_write(fx->tmp, LEDS "/ACT/trigger", "none mmc0\n");
	fx_expect_t(fx, "led list", "ERR DEVICE %T/" LEDS "/ACT/trigger: "
	    "unexpected content 'none mmc0'");
	make_dir(fx, LEDS "/ACT/brightness");
	fx_expect_t(fx, "led list",
	    "ERR DEVICE read %T/" LEDS "/ACT/brightness: "
	    "Is a directory");
}

static void
test_set(void **state)
{
	struct fx *fx = *state;

	/* on = max_brightness, after detaching the mmc0 trigger. */
	fx_expect(fx, "led set ACT on", "OK");
	fx_expect_file(fx, LEDS "/ACT/trigger", "none\n");
	fx_expect_file(fx, LEDS "/ACT/brightness", "1\n");

	kernel_trigger(fx, "ACT", "none");
	fx_expect(fx, "led set PWR OFF", "OK");
	fx_expect_file(fx, LEDS "/PWR/trigger", "none\n");
	fx_expect_file(fx, LEDS "/PWR/brightness", "0\n");
	kernel_trigger(fx, "PWR", "none");

	fx_expect(fx, "led set mmc0:: 128", "OK");
	fx_expect_file(fx, LEDS "/mmc0::/trigger", "none\n");
	fx_expect_file(fx, LEDS "/mmc0::/brightness", "128\n");
	kernel_trigger(fx, "mmc0::", "none");
	fx_expect(fx, "led list", "OK ACT:1:1:none PWR:0:1:none "
	    "mmc0:::128:255:none");
	fx_expect(fx, "led set mmc0:: 0", "OK");
	fx_expect_file(fx, LEDS "/mmc0::/brightness", "0\n");
	fx_expect(fx, "led set mmc0:: on", "OK");
	fx_expect_file(fx, LEDS "/mmc0::/brightness", "255\n");
}

static void
test_set_keeps_trigger_none(void **state)
{
	struct fx *fx = *state;
	const char *list = "[none] timer heartbeat\n";

	/* Already detached: the trigger file is not written again. */
	fixture_write(fx->tmp, LEDS "/ACT/trigger", list);
	fx_expect(fx, "led set ACT 1", "OK");
	fx_expect_file(fx, LEDS "/ACT/trigger", list);
	fx_expect_file(fx, LEDS "/ACT/brightness", "1\n");
}

static void
test_set_bad_values(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led set ACT 2", "ERR ARGS brightness must be on, off or "
	    "0 to 1");
	fx_expect(fx, "led set ACT -1",
	    "ERR ARGS brightness must be on, off or "
	    "0 to 1");
	fx_expect(fx, "led set mmc0:: 256",
	    "ERR ARGS brightness must be on, off "
	    "or 0 to 255");
	fx_expect(fx, "led set mmc0:: 1x",
	    "ERR ARGS brightness must be on, off "
	    "or 0 to 255");
	fx_expect(fx, "led set mmc0:: \"\"", "ERR ARGS brightness must be on, "
	    "off or 0 to 255");
	fx_expect(fx, "led set ACT blink",
	    "ERR ARGS brightness must be on, off "
	    "or 0 to 1");
	fx_expect(fx, "led set ACT", "ERR ARGS usage: led set <name> "
	    "on|off|<0..max_brightness>");
	fx_expect(fx, "led set ACT on now", "ERR ARGS usage: led set <name> "
	    "on|off|<0..max_brightness>");
	/* Nothing was written. */
	fx_expect_file(fx, LEDS "/ACT/brightness", "0\n");
	fx_expect(fx, "led trigger ACT", "OK mmc0");
}

static void
test_bad_names(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led set ../../x on", "ERR ARGS bad LED name '../../x'");
	fx_expect(fx, "led set .. on", "ERR ARGS bad LED name '..'");
	fx_expect(fx, "led set . on", "ERR ARGS bad LED name '.'");
	fx_expect(fx, "led trigger ACT/../PWR", "ERR ARGS bad LED name "
	    "'ACT/../PWR'");
	fx_expect(fx, "led triggers \"\"", "ERR ARGS bad LED name ''");
	fx_expect(fx, "led trigger .hidden none", "ERR ARGS bad LED name "
	    "'.hidden'");
	fx_expect_t(fx, "led set led0 on", "ERR DEVICE no LED 'led0' in "
	    "%T/" LEDS);
	/* Names are case-sensitive, as the kernel's are. */
	fx_expect_t(fx, "led trigger act", "ERR DEVICE no LED 'act' in "
	    "%T/" LEDS);
	fixture_write(fx->tmp, LEDS "/stray", "x\n");
	fx_expect_t(fx, "led set stray on", "ERR DEVICE %T/" LEDS "/stray: "
	    "not an LED directory");
}

static void
test_set_errors(void **state)
{
	struct fx *fx = *state;

	remove_file(fx, LEDS "/ACT/max_brightness");
	fx_expect_t(fx, "led set ACT on", "ERR DEVICE read %T/" LEDS
	    "/ACT/max_brightness: No such file or directory");
	fixture_write(fx->tmp, LEDS "/ACT/max_brightness", "\n");
	fx_expect_t(fx, "led set ACT on", "ERR DEVICE %T/" LEDS
	    "/ACT/max_brightness: unexpected content ''");
	fixture_write(fx->tmp, LEDS "/ACT/max_brightness", "1\n");

	make_dir(fx, LEDS "/ACT/brightness");
	fx_expect_t(fx, "led set ACT on", "ERR DEVICE write %T/" LEDS
	    "/ACT/brightness: Is a directory");

	make_dir(fx, LEDS "/PWR/trigger");
	fx_expect_t(fx, "led set PWR on", "ERR DEVICE read %T/" LEDS
	    "/PWR/trigger: Is a directory");
	fixture_write(fx->tmp, LEDS "/mmc0::/trigger", "none timer\n");
	fx_expect_t(fx, "led set mmc0:: on", "ERR DEVICE %T/" LEDS
	    "/mmc0::/trigger: unexpected content 'none timer'");
}

static void
test_permission_denied(void **state)
{
	struct fx *fx = *state;
	char *path;

	/* root writes read-only files, so only an ordinary user sees it. */
	if (geteuid() == 0)
		skip();
	assert_true(asprintf(&path, "%s/" LEDS "/ACT/brightness", fx->tmp) !=
	    -1);
	assert_int_equal(chmod(path, 0444), 0);
	free(path);
	fx_expect_t(fx, "led set ACT off", "ERR DEVICE write %T/" LEDS
	    "/ACT/brightness: Permission denied");
}

static void
test_trigger(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led trigger ACT", "OK mmc0");
	fx_expect(fx, "led trigger PWR", "OK default-on");
	fx_expect(fx, "led trigger ACT heartbeat", "OK");
	fx_expect_file(fx, LEDS "/ACT/trigger", "heartbeat\n");
	kernel_trigger(fx, "ACT", "heartbeat");
	fx_expect(fx, "led trigger ACT", "OK heartbeat");
	/* Setting the brightness detaches it again. */
	fx_expect(fx, "led set ACT off", "OK");
	fx_expect_file(fx, LEDS "/ACT/trigger", "none\n");
	fx_expect_file(fx, LEDS "/ACT/brightness", "0\n");
	fx_expect(fx, "led trigger PWR none", "OK");
	fx_expect_file(fx, LEDS "/PWR/trigger", "none\n");
	/* The active trigger, listed in brackets, may be set again. */
	fx_expect(fx, "led trigger mmc0:: mmc0", "OK");
	fx_expect_file(fx, LEDS "/mmc0::/trigger", "mmc0\n");
}

static void
test_trigger_refused(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led trigger ACT blinky",
	    "ERR ARGS LED ACT has no trigger "
	    "'blinky' (led triggers ACT lists them)");
	fx_expect(fx, "led trigger ACT [mmc0]",
	    "ERR ARGS LED ACT has no trigger "
	    "'[mmc0]' (led triggers ACT lists them)");
	fx_expect(fx, "led trigger ACT mmc", "ERR ARGS LED ACT has no trigger "
	    "'mmc' (led triggers ACT lists them)");
	fx_expect(fx, "led trigger ACT \"\"", "ERR ARGS LED ACT has no trigger "
	    "'' (led triggers ACT lists them)");
	fx_expect(fx, "led trigger ACT \"none timer\"",
	    "ERR ARGS LED ACT has no "
	    "trigger 'none timer' (led triggers ACT lists them)");
	fx_expect(fx, "led trigger", "ERR ARGS usage: led trigger <name> "
	    "[<trigger>]");
	/* Nothing was written. */
	fx_expect(fx, "led trigger ACT", "OK mmc0");
}

static void
test_trigger_errors(void **state)
{
	struct fx *fx = *state;

	fixture_write(fx->tmp, LEDS "/ACT/trigger", "none timer\n");
	fx_expect_t(fx, "led trigger ACT",
	    "ERR DEVICE %T/" LEDS "/ACT/trigger: "
	    "unexpected content 'none timer'");
	fixture_write(fx->tmp, LEDS "/ACT/trigger", "none [] timer\n");
	fx_expect_t(fx, "led trigger ACT",
	    "ERR DEVICE %T/" LEDS "/ACT/trigger: "
	    "unexpected content 'none [] timer'");
	remove_file(fx, LEDS "/PWR/trigger");
	fx_expect_t(fx, "led trigger PWR", "ERR DEVICE read %T/" LEDS
	    "/PWR/trigger: No such file or directory");
	fx_expect_t(fx, "led triggers PWR", "ERR DEVICE read %T/" LEDS
	    "/PWR/trigger: No such file or directory");
}

static void
test_triggers(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led triggers ACT", "OK " TRIGGERS);
	fx_expect(fx, "led triggers PWR", "OK " TRIGGERS);
}

static void
test_long_trigger_list(void **state)
{
	struct fx *fx = *state;
	char *list, *want;
	size_t n = 0, w = 0;

	/* Recent kernels let the trigger file grow past a page. */
	list = malloc(20000);
	want = malloc(20000);
	assert_non_null(list);
	assert_non_null(want);
	w += (size_t)sprintf(want, "OK");
	for (int i = 0; i < 1500; i++) {
		n += (size_t)sprintf(list + n, i == 1400 ? "%s[trig%d]" :
		    "%strig%d", i == 0 ? "" : " ", i);
		w += (size_t)sprintf(want + w, " trig%d", i);
	}
	strcpy(list + n, "\n");
	assert_true(n > 8192);
	fixture_write(fx->tmp, LEDS "/ACT/trigger", list);
	fx_expect(fx, "led trigger ACT", "OK trig1400");
	fx_expect(fx, "led triggers ACT", want);
	fx_expect(fx, "led trigger ACT trig1499", "OK");
	fx_expect_file(fx, LEDS "/ACT/trigger", "trig1499\n");
	free(list);
	free(want);
}

static void
test_unknown_key(void **state)
{
	(void)state;
	assert_null(harness_load("led", "colour = green", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "[led] unknown key 'colour'"));
}

static void
test_help(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "led triggers", "ERR ARGS usage: led triggers <name>");
	fx_expect(fx, "led list now", "ERR ARGS usage: led list");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_list),
		T(test_list_empty_and_missing),
		T(test_list_without_trigger_file),
		T(test_list_errors),
		T(test_set),
		T(test_set_keeps_trigger_none),
		T(test_set_bad_values),
		T(test_bad_names),
		T(test_set_errors),
		T(test_permission_denied),
		T(test_trigger),
		T(test_trigger_refused),
		T(test_trigger_errors),
		T(test_triggers),
		T(test_long_trigger_list),
		T(test_help),
		cmocka_unit_test(test_unknown_key),
	};

	return cmocka_run_group_tests_name("led", tests, NULL, NULL);
}
