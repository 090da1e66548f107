/*
 * The pwm plugin against a copy of tests/fixtures/sysfs (a Raspberry Pi
 * 4's PWM0 after dtoverlay=pwm-2chan: pwmchip0 with npwm 2, nothing
 * exported).  No kernel creates pwmN on export here, so tests either
 * create it beforehand, play the kernel from a thread, or check the
 * timeout.  inotify shows the order in which the attributes are written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define CHIP	"sysfs/class/pwm/pwmchip0"

static int
setup(void **state)
{
	*state = fx_load("pwm", NULL);
	return 0;
}

static void
make_dir(struct fx *fx, const char *rel)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s", fx->tmp, rel) != -1);
	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

static void
remove_dir(struct fx *fx, const char *rel)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s", fx->tmp, rel) != -1);
	assert_int_equal(rmdir(path), 0);
	free(path);
}

/* A channel as the kernel shows it right after export. */
static void
make_channel(const char *tmp, const char *rel)
{
	char file[512];
	static const char *const attrs[][2] = {
		{ "period", "0\n" }, { "duty_cycle", "0\n" },
		{ "polarity", "normal\n" }, { "capture", "" },
		{ "enable", "0\n" },
	};

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", rel, attrs[i][0]);
		assert_int_equal(fixture_write(tmp, file, attrs[i][1]), 0);
	}
}

/* Watch a channel directory; written() then names the attributes
 * closed after writing, in order, space-separated. */
static int
watch(struct fx *fx, const char *rel)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fx->tmp, rel);
	assert_true((fd = inotify_init1(IN_NONBLOCK)) != -1);
	assert_true(inotify_add_watch(fd, path, IN_CLOSE_WRITE) != -1);
	return fd;
}

static char *
written(int fd)
{
	static char out[256];
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n;
	size_t len = 0;

	out[0] = '\0';
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len > 0)
				len += (size_t)snprintf(out + len,
				    sizeof(out) - len, "%s%s",
				    len == 0 ? "" : " ", ev->name);
			p += sizeof(*ev) + ev->len;
		}
	}
	close(fd);
	return out;
}

static void
test_list(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "pwm list", "OK pwmchip0:2");
	/* A Pi 5's RP1 has four channels; numbers sort as numbers. */
	fixture_write(fx->tmp, "sysfs/class/pwm/pwmchip10/npwm", "4\n");
	fixture_write(fx->tmp, "sysfs/class/pwm/pwmchip2/npwm", "4\n");
	fx_expect(fx, "pwm list", "OK pwmchip0:2 pwmchip2:4 pwmchip10:4");
	fixture_write(fx->tmp, "sysfs/class/pwm/pwmchip2/npwm", "four\n");
	fx_expect_t(fx, "pwm list",
	    "ERR DEVICE %T/sysfs/class/pwm/pwmchip2/npwm: "
	    "unexpected content 'four'");
}

static void
test_list_missing(void **state)
{
	struct fx *fx = *state;
	char *cmd;

	assert_true(asprintf(&cmd, "rm -r '%s/sysfs/class/pwm'", fx->tmp) !=
	    -1);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	fx_expect_t(fx, "pwm list",
	    "ERR DEVICE %T/sysfs/class/pwm: No such file "
	    "or directory");
	fx_expect_t(fx, "pwm set 0 0 1000 10",
	    "ERR DEVICE no PWM chip pwmchip0 "
	    "in %T/sysfs/class/pwm (is a pwm overlay enabled?)");
}

static void
test_set_exported(void **state)
{
	struct fx *fx = *state;
	int fd;

	make_channel(fx->tmp, CHIP "/pwm0");
	/* Raising the period from 0: period, then duty_cycle, then on. */
	fd = watch(fx, CHIP "/pwm0");
	fx_expect(fx, "pwm set 0 0 20000000 1500000", "OK");
	assert_string_equal(written(fd), "period duty_cycle enable");
	fx_expect_file(fx, CHIP "/export", "");
	fx_expect_file(fx, CHIP "/pwm0/period", "20000000\n");
	fx_expect_file(fx, CHIP "/pwm0/duty_cycle", "1500000\n");
	fx_expect_file(fx, CHIP "/pwm0/enable", "1\n");
	fx_expect(fx, "pwm get 0 0",
	    "OK exported=1 enabled=1 period_ns=20000000 "
	    "duty_ns=1500000 polarity=normal");

	/* Lowering it: duty_cycle first, so duty never exceeds period. */
	fd = watch(fx, CHIP "/pwm0");
	fx_expect(fx, "pwm set pwmchip0 0 1000000 999999", "OK");
	assert_string_equal(written(fd), "duty_cycle period enable");
	fx_expect_file(fx, CHIP "/pwm0/period", "1000000\n");
	fx_expect_file(fx, CHIP "/pwm0/duty_cycle", "999999\n");

	/* The same period: period first (a no-op for the kernel). */
	fd = watch(fx, CHIP "/pwm0");
	fx_expect(fx, "pwm set 0 0 1000000 0", "OK");
	assert_string_equal(written(fd), "period duty_cycle enable");
	fx_expect_file(fx, CHIP "/pwm0/duty_cycle", "0\n");

	/* Full duty and the largest period. */
	fx_expect(fx, "pwm set 0 0 4294967295 4294967295", "OK");
	fx_expect_file(fx, CHIP "/pwm0/period", "4294967295\n");
	fx_expect_file(fx, CHIP "/pwm0/duty_cycle", "4294967295\n");
}

/* Plays the kernel: when `export` holds "1\n", create pwm1. */
static void *
fake_kernel(void *arg)
{
	const char *tmp = arg;
	struct timespec nap = { 0, 2000000L };

	for (int i = 0; i < 1000; i++) {
		char *text = fixture_read(tmp, CHIP "/export");
		int done = text != NULL && strcmp(text, "1\n") == 0;
		char from[512], to[512];

		free(text);
		if (done) {
			/* Whole, then renamed in, as the kernel shows it. */
			make_channel(tmp, CHIP "/.pwm1");
			snprintf(from, sizeof(from), "%s/" CHIP "/.pwm1", tmp);
			snprintf(to, sizeof(to), "%s/" CHIP "/pwm1", tmp);
			rename(from, to);
			return NULL;
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void
test_set_exports(void **state)
{
	struct fx *fx = *state;
	pthread_t tid;

	fx_expect(fx, "pwm get 0 1", "OK exported=0");
	assert_int_equal(pthread_create(&tid, NULL, fake_kernel, fx->tmp), 0);
	fx_expect(fx, "pwm set 0 1 50000 25000", "OK");
	pthread_join(tid, NULL);
	fx_expect_file(fx, CHIP "/export", "1\n");
	fx_expect_file(fx, CHIP "/pwm1/period", "50000\n");
	fx_expect_file(fx, CHIP "/pwm1/duty_cycle", "25000\n");
	fx_expect_file(fx, CHIP "/pwm1/enable", "1\n");

	/* Exported now: no second export. */
	fixture_write(fx->tmp, CHIP "/export", "");
	fx_expect(fx, "pwm set 0 1 40000 0", "OK");
	fx_expect_file(fx, CHIP "/export", "");
	fx_expect_file(fx, CHIP "/pwm1/period", "40000\n");
}

static void
test_export_timeout(void **state)
{
	struct timespec t0, t1;
	struct fx fx;
	long ms;

	(void)state;
	assert_non_null(fx.tmp = fixture_copy("sysfs", "procfs", NULL));
	fx.h = harness_load_fixture("pwm", "export_wait_ms = 50", fx.tmp);
	assert_non_null(fx.h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fx_expect_t(&fx, "pwm set 0 1 1000 500",
	    "ERR TIMEOUT pwmchip0: pwm1 did "
	    "not appear within 50 ms of writing 1 to %T/" CHIP "/export");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	assert_true(ms >= 50 && ms < 1000);
	fx_expect_file(&fx, CHIP "/export", "1\n");
	harness_free(fx.h);

	/* 0: do not wait at all. */
	fx.h = harness_load_fixture("pwm", "export_wait_ms = 0", fx.tmp);
	assert_non_null(fx.h);
	fx_expect_t(&fx, "pwm set 0 0 1000 500",
	    "ERR TIMEOUT pwmchip0: pwm0 did "
	    "not appear within 0 ms of writing 0 to %T/" CHIP "/export");
	fx_expect_file(&fx, CHIP "/export", "0\n");
	harness_free(fx.h);
	fixture_rm(fx.tmp);
}

static void
test_off(void **state)
{
	struct fx *fx = *state;

	/* Never exported: off already, and nothing is exported for it. */
	fx_expect(fx, "pwm off 0 1", "OK");
	fx_expect_file(fx, CHIP "/export", "");

	make_channel(fx->tmp, CHIP "/pwm0");
	fx_expect(fx, "pwm set 0 0 20000000 10000000", "OK");
	fx_expect(fx, "pwm off pwmchip0 0", "OK");
	fx_expect_file(fx, CHIP "/pwm0/enable", "0\n");
	/* The settings stay for the next pwm set. */
	fx_expect_file(fx, CHIP "/pwm0/period", "20000000\n");
	fx_expect(fx, "pwm get 0 0",
	    "OK exported=1 enabled=0 period_ns=20000000 "
	    "duty_ns=10000000 polarity=normal");

	make_dir(fx, CHIP "/pwm0/enable");
	fx_expect_t(fx, "pwm off 0 0", "ERR DEVICE write %T/" CHIP
	    "/pwm0/enable: Is a directory");
}

static void
test_bad_args(void **state)
{
	struct fx *fx = *state;

	fx_expect(fx, "pwm set x 0 1000 10", "ERR ARGS chip must be N or "
	    "pwmchipN, not 'x'");
	fx_expect(fx, "pwm set pwmchip 0 1000 10", "ERR ARGS chip must be N or "
	    "pwmchipN, not 'pwmchip'");
	fx_expect(fx, "pwm set -1 0 1000 10", "ERR ARGS chip must be N or "
	    "pwmchipN, not '-1'");
	fx_expect(fx, "pwm set ../0 0 1000 10", "ERR ARGS chip must be N or "
	    "pwmchipN, not '../0'");
	fx_expect(fx, "pwm off 0 +1", "ERR ARGS channel must be a number, not "
	    "'+1'");
	fx_expect(fx, "pwm off 0 1x", "ERR ARGS channel must be a number, not "
	    "'1x'");
	fx_expect(fx, "pwm set 0 0 0 0", "ERR ARGS period_ns must be a whole "
	    "number from 1 to 4294967295");
	fx_expect(fx, "pwm set 0 0 4294967296 0",
	    "ERR ARGS period_ns must be a "
	    "whole number from 1 to 4294967295");
	fx_expect(fx, "pwm set 0 0 -5 0", "ERR ARGS period_ns must be a whole "
	    "number from 1 to 4294967295");
	fx_expect(fx, "pwm set 0 0 1000 1001",
	    "ERR ARGS duty_ns must be a whole "
	    "number from 0 to period_ns (1000)");
	fx_expect(fx, "pwm set 0 0 1000 1e2",
	    "ERR ARGS duty_ns must be a whole "
	    "number from 0 to period_ns (1000)");
	fx_expect(fx, "pwm set 0 0 1000", "ERR ARGS usage: pwm set <chip> "
	    "<channel> <period_ns> <duty_ns>");
	fx_expect(fx, "pwm off 0", "ERR ARGS usage: pwm off <chip> <channel>");
	/* Well-formed, but not on this system. */
	fx_expect(fx, "pwm set 0 2 1000 10",
	    "ERR DEVICE pwmchip0 has no channel "
	    "2 (npwm is 2)");
	fx_expect(fx, "pwm get 0 65535", "ERR DEVICE pwmchip0 has no channel "
	    "65535 (npwm is 2)");
	fx_expect_t(fx, "pwm off 1 0", "ERR DEVICE no PWM chip pwmchip1 in "
	    "%T/sysfs/class/pwm (is a pwm overlay enabled?)");
	/* Nothing was exported by any of that. */
	fx_expect_file(fx, CHIP "/export", "");
}

static void
test_device_errors(void **state)
{
	struct fx *fx = *state;

	fixture_write(fx->tmp, CHIP "/npwm", "\n");
	fx_expect_t(fx, "pwm set 0 0 1000 10", "ERR DEVICE %T/" CHIP "/npwm: "
	    "unexpected content ''");
	make_dir(fx, CHIP "/npwm");
	fx_expect_t(fx, "pwm off 0 0", "ERR DEVICE read %T/" CHIP "/npwm: Is a "
	    "directory");
	remove_dir(fx, CHIP "/npwm");
	fixture_write(fx->tmp, CHIP "/npwm", "2\n");

	make_dir(fx, CHIP "/export");
	fx_expect_t(fx, "pwm set 0 0 1000 10", "ERR DEVICE write %T/" CHIP
	    "/export: Is a directory");

	make_channel(fx->tmp, CHIP "/pwm1");
	fixture_write(fx->tmp, CHIP "/pwm1/period", "soon\n");
	fx_expect_t(fx, "pwm set 0 1 1000 10", "ERR DEVICE %T/" CHIP
	    "/pwm1/period: unexpected content 'soon'");
	fx_expect_t(fx, "pwm get 0 1", "ERR DEVICE %T/" CHIP
	    "/pwm1/period: unexpected content 'soon'");
	make_dir(fx, CHIP "/pwm1/period");
	fx_expect_t(fx, "pwm set 0 1 1000 10", "ERR DEVICE read %T/" CHIP
	    "/pwm1/period: Is a directory");

	make_channel(fx->tmp, CHIP "/pwm0");
	make_dir(fx, CHIP "/pwm0/duty_cycle");
	fx_expect_t(fx, "pwm set 0 0 1000 10", "ERR DEVICE write %T/" CHIP
	    "/pwm0/duty_cycle: Is a directory");
	fx_expect_file(fx, CHIP "/pwm0/period", "1000\n");
	fx_expect_file(fx, CHIP "/pwm0/enable", "0\n");
	fx_expect_t(fx, "pwm get 0 0", "ERR DEVICE read %T/" CHIP
	    "/pwm0/duty_cycle: Is a directory");

	remove_dir(fx, CHIP "/pwm0/duty_cycle");
	make_channel(fx->tmp, CHIP "/pwm0");
	fixture_write(fx->tmp, CHIP "/pwm0/polarity", "upside-down\n");
	fx_expect_t(fx, "pwm get 0 0", "ERR DEVICE %T/" CHIP "/pwm0/polarity: "
	    "unexpected content 'upside-down'");
	fixture_write(fx->tmp, CHIP "/pwm0/polarity", "inversed\n");
	fx_expect(fx, "pwm get 0 0", "OK exported=1 enabled=0 period_ns=0 "
	    "duty_ns=0 polarity=inversed");
}

static void
test_config(void **state)
{
	(void)state;
	assert_null(harness_load("pwm", "frequency = 50", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "[pwm] unknown key 'frequency'"));
	assert_null(harness_load("pwm", "export_wait_ms = 10001", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "[pwm] export_wait_ms must be a whole number from 0 to 10000"));
	assert_null(harness_load("pwm", "export_wait_ms = -1", NULL));
	assert_null(harness_load("pwm", "export_wait_ms = 1s", NULL));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_list),
		T(test_list_missing),
		T(test_set_exported),
		T(test_set_exports),
		cmocka_unit_test(test_export_timeout),
		T(test_off),
		T(test_bad_args),
		T(test_device_errors),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests_name("pwm", tests, NULL, NULL);
}
