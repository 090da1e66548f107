/*
 * The gpio plugin on its simulated chip, loaded through the real loader:
 * every command, bad input, the sim's outside world, pulses, the list and
 * info formats, per-line serialisation, config errors - and the pure chip
 * selection function, compiled in from the plugin's source.
 * The chip backend's own tests are in test_gpio_chip.c.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The selection function is pure; test it directly. */
#include "../../commands/gpio/chipsel.c"

static struct harness *
load_sim(void)
{
	struct harness *h = harness_load("gpio", "backend = sim", NULL);

	if (h == NULL)
		fprintf(stderr, "%s", harness_last_errors());
	assert_non_null(h);
	return h;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
test_read_write(void **state)
{
	struct harness *h = load_sim();

	(void)state;
	harness_expect(h, "gpio write 17 1", "OK");
	harness_expect(h, "gpio read 17", "OK 1");
	harness_expect(h, "gpio write GPIO17 0", "OK");
	harness_expect(h, "gpio read gpio17", "OK 0");
	harness_expect(h, "gpio read BCM17", "OK 0");
	harness_expect(h, "#t GPIO READ Gpio17", "#t OK 0");
	/* An output keeps its level between commands: it stays held. */
	harness_expect(h, "gpio info 17", "OK offset=17 name=GPIO17 "
	    "direction=out value=0 bias=unknown used=yes consumer=picmd "
	    "edges=2");
	/* Reading a line nobody holds borrows it and gives it back. */
	harness_expect(h, "gpio read 5", "OK 0");
	harness_expect(h, "gpio sim-set 5 1", "OK");
	harness_expect(h, "gpio read 5", "OK 1");
	harness_expect(h, "gpio info 5", "OK offset=5 name=GPIO5 direction=in "
	    "value=- bias=unknown used=no consumer=- edges=1");
	harness_expect(h, "gpio write 0 1", "OK");
	harness_expect(h, "gpio write 53 1", "OK");
	harness_expect(h, "gpio read 53", "OK 1");
	harness_free(h);
}

static void
test_bad_input(void **state)
{
	struct harness *h = load_sim();

	(void)state;
	harness_expect(h, "gpio read x", "ERR ARGS unknown line 'x': give a "
	    "number 0 to 53 or a line name such as GPIO17 (gpio list shows "
	    "them)");
	harness_expect(h, "gpio read \"\"", "ERR ARGS unknown line '': give a "
	    "number 0 to 53 or a line name such as GPIO17 (gpio list shows "
	    "them)");
	harness_expect(h, "gpio read GPIOX", "ERR ARGS unknown line 'GPIOX': "
	    "give a number 0 to 53 or a line name such as GPIO17 (gpio list "
	    "shows them)");
	/* Out of range is the chip's answer (issue 4: ERR DEVICE). */
	harness_expect(h, "gpio read 54", "ERR DEVICE line 54: out of range: "
	    "sim has lines 0 to 53");
	harness_expect(h, "gpio write GPIO60 1", "ERR DEVICE line 60: out of "
	    "range: sim has lines 0 to 53");
	harness_expect(h, "gpio read -1", "ERR ARGS bad line number '-1': "
	    "lines are 0 to 53");
	harness_expect(h, "gpio read +3", "ERR ARGS bad line number '+3': "
	    "lines are 0 to 53");
	harness_expect(h, "gpio read 17abc", "ERR ARGS bad line number "
	    "'17abc': lines are 0 to 53");
	harness_expect(h, "gpio read 0x11", "ERR ARGS bad line number '0x11': "
	    "lines are 0 to 53");
	harness_expect(h, "gpio read 99999999999999999999999", "ERR ARGS bad "
	    "line number '99999999999999999999999': lines are 0 to 53");
	harness_expect(h, "gpio read GPIO17x", "ERR ARGS bad line number "
	    "'GPIO17x': lines are 0 to 53");
	harness_expect(h, "gpio write 17 2", "ERR ARGS level must be 0 or 1, "
	    "not '2'");
	harness_expect(h, "gpio write 17 on", "ERR ARGS level must be 0 or 1, "
	    "not 'on'");
	harness_expect(h, "gpio write 17", "ERR ARGS usage: gpio write <line> "
	    "0|1 [lease]");
	harness_expect(h, "gpio read", "ERR ARGS usage: gpio read <line>");
	harness_expect(h, "gpio list all", "ERR ARGS usage: gpio list");
	harness_expect(h, "gpio mode 17 sideways", "ERR ARGS mode must be in "
	    "or out, not 'sideways'");
	harness_expect(h, "gpio mode 17 in sideways", "ERR ARGS pull must be "
	    "pull-up, pull-down or no-pull, not 'sideways'");
	harness_expect(h, "gpio mode 17 in pull-up extra", "ERR ARGS usage: "
	    "gpio mode <line> in|out [pull-up|pull-down|no-pull]");
	harness_expect(h, "gpio pulse 17 0", "ERR ARGS pulse length must be a "
	    "whole number of milliseconds from 1 to 60000");
	harness_expect(h, "gpio pulse 17 60001", "ERR ARGS pulse length must "
	    "be a whole number of milliseconds from 1 to 60000");
	harness_expect(h, "gpio pulse 17 -5", "ERR ARGS pulse length must be "
	    "a whole number of milliseconds from 1 to 60000");
	harness_expect(h, "gpio pulse 17 1.5", "ERR ARGS pulse length must be "
	    "a whole number of milliseconds from 1 to 60000");
	harness_expect(h, "gpio pulse 17 10 2", "ERR ARGS level must be 0 or "
	    "1, not '2'");
	/* The harness gives a command 10 s: a 20 s pulse cannot finish. */
	harness_expect_prefix(h, "gpio pulse 17 20000", "ERR ARGS a 20000 ms pulse "
	    "does not fit in the ");
	harness_expect(h, "gpio sim-set 17 2", "ERR ARGS sim-set takes 0, 1, "
	    "float, busy or free, not '2'");
	harness_expect(h, "gpio sim-set 99 1", "ERR DEVICE line 99: out of "
	    "range: sim has lines 0 to 53");
	/* Nothing above took a line. */
	harness_expect(h, "gpio info 17", "OK offset=17 name=GPIO17 "
	    "direction=in value=- bias=unknown used=no consumer=- edges=0");
	harness_free(h);
}

static void
test_mode_and_pulls(void **state)
{
	struct harness *h = load_sim();

	(void)state;
	harness_expect(h, "gpio mode 4 in pull-up", "OK");
	harness_expect(h, "gpio read 4", "OK 1");
	harness_expect(h, "gpio info 4", "OK offset=4 name=GPIO4 direction=in "
	    "value=1 bias=pull-up used=yes consumer=picmd edges=1");
	harness_expect(h, "gpio mode 4 in pull-down", "OK");
	harness_expect(h, "gpio read 4", "OK 0");
	/* Something driving the pin beats the pull... */
	harness_expect(h, "gpio sim-set 4 1", "OK");
	harness_expect(h, "gpio read 4", "OK 1");
	/* ...until it lets go. */
	harness_expect(h, "gpio sim-set 4 float", "OK");
	harness_expect(h, "gpio read 4", "OK 0");
	/* "mode in" without a pull keeps the one set before. */
	harness_expect(h, "gpio mode 4 in", "OK");
	harness_expect(h, "gpio info 4", "OK offset=4 name=GPIO4 direction=in "
	    "value=0 bias=pull-down used=yes consumer=picmd edges=4");
	harness_expect(h, "gpio mode 4 in no-pull", "OK");
	harness_expect(h, "gpio info 4", "OK offset=4 name=GPIO4 direction=in "
	    "value=0 bias=no-pull used=yes consumer=picmd edges=4");
	harness_expect(h, "gpio mode 5 INPUT pu", "OK");
	harness_expect(h, "gpio read 5", "OK 1");
	/* "mode out" drives 0, or keeps the level of an output of ours. */
	harness_expect(h, "gpio mode 4 out", "OK");
	harness_expect(h, "gpio read 4", "OK 0");
	harness_expect(h, "gpio write 4 1", "OK");
	harness_expect(h, "gpio mode 4 out", "OK");
	harness_expect(h, "gpio read 4", "OK 1");
	harness_expect(h, "gpio mode 4 output pull-down", "OK");
	harness_expect(h, "gpio info 4", "OK offset=4 name=GPIO4 direction=out "
	    "value=1 bias=pull-down used=yes consumer=picmd edges=5");
	/* Back to an input: the pull decides again. */
	harness_expect(h, "gpio mode 4 in", "OK");
	harness_expect(h, "gpio read 4", "OK 0");
	/* write turns an input of ours into an output. */
	harness_expect(h, "gpio write 5 0", "OK");
	harness_expect(h, "gpio info 5", "OK offset=5 name=GPIO5 direction=out "
	    "value=0 bias=pull-up used=yes consumer=picmd edges=2");
	harness_free(h);
}

static void
test_pulse_restores(void **state)
{
	struct harness *h = load_sim();
	double t0;

	(void)state;
	/* An output of ours: back to its level, still ours. */
	harness_expect(h, "gpio write 17 0", "OK");
	t0 = now_ms();
	harness_expect(h, "gpio pulse 17 100", "OK");
	assert_true(now_ms() - t0 >= 99.0);
	harness_expect(h, "gpio info 17", "OK offset=17 name=GPIO17 "
	    "direction=out value=0 bias=unknown used=yes consumer=picmd "
	    "edges=2");
	harness_expect(h, "gpio write 17 1", "OK");
	harness_expect(h, "gpio pulse 17 20 0", "OK");
	harness_expect(h, "gpio info 17", "OK offset=17 name=GPIO17 "
	    "direction=out value=1 bias=unknown used=yes consumer=picmd "
	    "edges=5");
	/* An input of ours: an input again, with its pull. */
	harness_expect(h, "gpio mode 22 in pull-up", "OK");
	harness_expect(h, "gpio pulse 22 20 0", "OK");
	harness_expect(h, "gpio info 22", "OK offset=22 name=GPIO22 "
	    "direction=in value=1 bias=pull-up used=yes consumer=picmd "
	    "edges=3");
	/* A line nobody held: as it was, and released. */
	harness_expect(h, "gpio pulse GPIO23 20", "OK");
	harness_expect(h, "gpio info 23", "OK offset=23 name=GPIO23 "
	    "direction=in value=- bias=unknown used=no consumer=- edges=2");
	/* A released output: direction and level come back. */
	harness_expect(h, "gpio write 24 1", "OK");
	harness_expect(h, "gpio release 24", "OK");
	harness_expect(h, "gpio pulse 24 20 0", "OK");
	harness_expect(h, "gpio info 24", "OK offset=24 name=GPIO24 "
	    "direction=out value=- bias=unknown used=no consumer=- edges=3");
	harness_expect(h, "gpio read 24", "OK 1");
	/* A line another program holds is not touched. */
	harness_expect(h, "gpio sim-set 25 busy", "OK");
	harness_expect(h, "gpio pulse 25 10", "ERR DEVICE line 25: Device or "
	    "resource busy (in use by other-program)");
	harness_expect(h, "gpio info 25", "OK offset=25 name=GPIO25 "
	    "direction=in value=- bias=unknown used=yes "
	    "consumer=other-program edges=0");
	harness_free(h);
}

static void
test_list(void **state)
{
	struct harness *h = load_sim();
	char *got, *save = NULL, *item;
	int n = 0;

	(void)state;
	harness_expect(h, "gpio write 17 1", "OK");
	harness_expect(h, "gpio mode 4 in pull-up", "OK");
	harness_expect(h, "gpio write 9 0", "OK");
	harness_expect(h, "gpio release 9", "OK");
	got = harness_run(h, "gpio list");
	assert_true(strncmp(got, "OK ", 3) == 0);
	for (item = strtok_r(got + 3, " ", &save); item != NULL;
	    item = strtok_r(NULL, " ", &save), n++) {
		char want[64];

		/* Values only for lines picmd holds: see docs/GPIO.md. */
		if (n == 4)
			snprintf(want, sizeof(want), "4:GPIO4:in:1");
		else if (n == 17)
			snprintf(want, sizeof(want), "17:GPIO17:out:1");
		else if (n == 9)
			snprintf(want, sizeof(want), "9:GPIO9:out:-");
		else
			snprintf(want, sizeof(want), "%d:GPIO%d:in:-", n, n);
		assert_string_equal(item, want);
	}
	assert_int_equal(n, 54);
	free(got);
	harness_free(h);
}

static void
test_busy_and_release(void **state)
{
	struct harness *h = load_sim();

	(void)state;
	harness_expect(h, "gpio sim-set 5 busy", "OK");
	harness_expect(h, "gpio write 5 1", "ERR DEVICE line 5: Device or "
	    "resource busy (in use by other-program)");
	harness_expect(h, "gpio read 5", "ERR DEVICE line 5: Device or "
	    "resource busy (in use by other-program)");
	harness_expect(h, "gpio mode 5 in", "ERR DEVICE line 5: Device or "
	    "resource busy (in use by other-program)");
	/* The failures left nothing half-held. */
	harness_expect(h, "gpio sim-set 5 free", "OK");
	harness_expect(h, "gpio info 5", "OK offset=5 name=GPIO5 direction=in "
	    "value=- bias=unknown used=no consumer=- edges=0");
	harness_expect(h, "gpio write 5 1", "OK");
	harness_expect(h, "gpio sim-set 5 busy", "ERR BUSY line 5 is held by "
	    "picmd: gpio release 5 first");
	harness_expect(h, "gpio release 5", "OK");
	harness_expect(h, "gpio release 5", "OK");
	harness_expect(h, "gpio release 6", "OK");
	harness_expect(h, "gpio info 5", "OK offset=5 name=GPIO5 direction=out "
	    "value=- bias=unknown used=no consumer=- edges=1");
	/* The sim, like current Pi kernels, keeps a released level. */
	harness_expect(h, "gpio read 5", "OK 1");
	harness_expect(h, "gpio sim-set 5 busy", "OK");
	harness_expect(h, "gpio chip", "OK backend=sim name=sim "
	    "label=picmd-sim lines=54");
	harness_free(h);
}

/* ---- concurrency ---- */

struct job {
	struct harness	*h;
	const char	*line;
	long		 delay_ms;
	char		*reply;
	double		 start, end;
};

static void *
run_job(void *arg)
{
	struct job *j = arg;

	if (j->delay_ms > 0)
		usleep((useconds_t)j->delay_ms * 1000);
	j->start = now_ms();
	j->reply = harness_run(j->h, j->line);
	j->end = now_ms();
	return NULL;
}

static void
run_jobs(struct job *jobs, int n)
{
	pthread_t t[16];

	assert_true(n <= 16);
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_job,
		    &jobs[i]), 0);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void
test_same_line_serialised(void **state)
{
	struct harness *h = load_sim();
	struct job jobs[3];

	(void)state;
	/* On this thread first: the dispatcher sorts its table on first use. */
	harness_expect(h, "gpio write 17 0", "OK");
	memset(jobs, 0, sizeof(jobs));
	jobs[0] = (struct job){ h, "gpio pulse 17 400", 0, NULL, 0, 0 };
	jobs[1] = (struct job){ h, "gpio read 17", 100, NULL, 0, 0 };
	jobs[2] = (struct job){ h, "gpio read 18", 100, NULL, 0, 0 };
	run_jobs(jobs, 3);
	assert_string_equal(jobs[0].reply, "OK");
	/* The read of 17 waited for the whole pulse and saw it restored. */
	assert_string_equal(jobs[1].reply, "OK 0");
	assert_true(jobs[1].end - jobs[0].start >= 390.0);
	/* The read of 18 did not wait for line 17. */
	assert_string_equal(jobs[2].reply, "OK 0");
	assert_true(jobs[2].end - jobs[0].start < 350.0);
	for (int i = 0; i < 3; i++)
		free(jobs[i].reply);
	harness_free(h);
}

static void
test_lines_in_parallel(void **state)
{
	struct harness *h = load_sim();
	struct job jobs[4];
	const char *lines[] = { "gpio pulse 10 200", "gpio pulse 11 200",
	    "gpio pulse 12 200", "gpio pulse 13 200" };
	double t0;

	(void)state;
	harness_expect(h, "gpio read 10", "OK 0");
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 4; i++)
		jobs[i] = (struct job){ h, lines[i], 0, NULL, 0, 0 };
	t0 = now_ms();
	run_jobs(jobs, 4);
	/* One after another would take 800 ms. */
	assert_true(now_ms() - t0 < 600.0);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(jobs[i].reply, "OK");
		free(jobs[i].reply);
	}
	harness_free(h);
}

/*
 * Many writers, readers, pulses and lists on a few lines at once: no
 * crash, no race (run it under the thread sanitizer too), every reply
 * well formed.  Failures are counted, not asserted: cmocka's assertions
 * must run on the test's own thread.
 */
struct hammer_arg {
	struct harness	*h;
	int		 bad;
};

static void
hammer_check(struct hammer_arg *a, char *reply, const char *want,
    const char *alt)
{
	if (strncmp(reply, want, strlen(want)) != 0 &&
	    (alt == NULL || strcmp(reply, alt) != 0)) {
		fprintf(stderr, "hammer: got '%s', wanted '%s'\n", reply, want);
		a->bad++;
	}
	free(reply);
}

static void *
hammer(void *arg)
{
	struct hammer_arg *a = arg;
	char line[64];

	for (int i = 0; i < 40; i++) {
		int l = 20 + (i % 3);

		snprintf(line, sizeof(line), "gpio write %d %d", l, i & 1);
		hammer_check(a, harness_run(a->h, line), "OK", NULL);
		snprintf(line, sizeof(line), "gpio read %d", l);
		hammer_check(a, harness_run(a->h, line), "OK 0", "OK 1");
		if (i % 10 == 0)
			hammer_check(a, harness_run(a->h, "gpio list"),
			    "OK 0:GPIO0:in:- 1:GPIO1:in:-", NULL);
		snprintf(line, sizeof(line), "gpio pulse %d 1", l);
		hammer_check(a, harness_run(a->h, line), "OK", NULL);
	}
	return NULL;
}

static void
test_hammer(void **state)
{
	struct harness *h = load_sim();
	struct hammer_arg args[6];
	pthread_t t[6];

	(void)state;
	harness_expect(h, "gpio read 20", "OK 0");
	for (int i = 0; i < 6; i++) {
		args[i].h = h;
		args[i].bad = 0;
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]),
		    0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 6; i++)
		assert_int_equal(args[i].bad, 0);
	harness_free(h);
}

/* ---- configuration ---- */

static void
expect_load_error(const char *section, const char *want)
{
	struct harness *h = harness_load("gpio", section, NULL);

	if (h != NULL)
		harness_free(h);
	assert_null(h);
	if (strstr(harness_last_errors(), want) == NULL) {
		fprintf(stderr, "errors: %s\nwanted: %s\n",
		    harness_last_errors(), want);
		fail();
	}
}

static void
test_config_errors(void **state)
{
	char *dir = fixture_tmpdir(), section[512], want[512];

	(void)state;
	/* Lines: 1 [plugins], 2 dir, 3 load, 4 [gpio], 5... the keys. */
	expect_load_error("backend = sim\ncolour = blue",
	    "picmd.ini:6: [gpio] unknown key 'colour' (known: backend, chip, "
	    "dev_root, watch_idle_s, safe.<line>)");
	expect_load_error("backend = wires",
	    "picmd.ini:5: [gpio] backend must be chip or sim, not 'wires'");
	expect_load_error("backend = sim\nchip =",
	    "picmd.ini:6: [gpio] chip must be auto, gpiochipN or a chip "
	    "label");
	expect_load_error("dev_root = dev",
	    "picmd.ini:5: [gpio] dev_root must be an absolute path, not 'dev'");
	/* A named chip that is not there. */
	snprintf(section, sizeof(section), "backend = chip\nchip = gpiochip7\n"
	    "dev_root = %s", dir);
	expect_load_error(section, "picmd.ini:6: [gpio] no GPIO chip "
	    "gpiochip7 (found: none)");
	snprintf(section, sizeof(section), "chip = 3\ndev_root = %s", dir);
	expect_load_error(section, "picmd.ini:5: [gpio] no GPIO chip "
	    "gpiochip3 (found: none)");
	snprintf(section, sizeof(section), "chip = pinctrl-bcm2711\n"
	    "dev_root = %s", dir);
	expect_load_error(section, "picmd.ini:5: [gpio] no GPIO chip "
	    "labelled 'pinctrl-bcm2711' (found: none)");
	snprintf(section, sizeof(section), "dev_root = %s/missing", dir);
	snprintf(want, sizeof(want), "picmd.ini:5: [gpio] cannot read "
	    "%s/missing: No such file or directory", dir);
	expect_load_error(section, want);
	fixture_rm(dir);
}

/* No chip at all and chip = auto: the simulated chip, with sim-set. */
static void
test_fallback_to_sim(void **state)
{
	char *dir = fixture_tmpdir(), section[512];
	struct harness *h;

	(void)state;
	snprintf(section, sizeof(section), "backend = chip\ndev_root = %s",
	    dir);
	h = harness_load("gpio", section, NULL);
	assert_non_null(h);
	harness_expect(h, "gpio chip", "OK backend=sim name=sim "
	    "label=picmd-sim lines=54");
	harness_expect(h, "gpio sim-set 3 1", "OK");
	harness_expect(h, "gpio read 3", "OK 1");
	harness_free(h);
	fixture_rm(dir);

	/* The same with the real /dev, where this machine has no chip. */
	if (access("/dev/gpiochip0", F_OK) == 0) {
		print_message("skipped /dev part: this machine has "
		    "/dev/gpiochip0\n");
		return;
	}
	h = harness_load("gpio", NULL, NULL);
	assert_non_null(h);
	harness_expect(h, "gpio chip", "OK backend=sim name=sim "
	    "label=picmd-sim lines=54");
	harness_free(h);
}

/* ---- chip selection (pure) ---- */

static struct gpio_chip_desc
chip(const char *name, const char *label, unsigned nlines)
{
	struct gpio_chip_desc d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.label, sizeof(d.label), "%s", label);
	d.nlines = nlines;
	return d;
}

static struct gpio_chip_desc
broken(const char *name, int err)
{
	struct gpio_chip_desc d = chip(name, "", 0);

	d.open_errno = err;
	return d;
}

static int
pick(const struct gpio_chip_desc *chips, size_t n, const char *spec,
    char *why)
{
	return gpio_chip_select(chips, n, spec, why, 512);
}

static void
test_select_pi_models(void **state)
{
	char why[512];
	const struct gpio_chip_desc pi3[] = {
		chip("gpiochip0", "pinctrl-bcm2835", 54),
		chip("gpiochip1", "raspberrypi-exp-gpio", 8),
	};
	const struct gpio_chip_desc pi4[] = {
		chip("gpiochip0", "pinctrl-bcm2711", 58),
		chip("gpiochip1", "raspberrypi-exp-gpio", 8),
	};
	/* Pi 5 kernels before 6.6.y: the RP1 came last, as gpiochip4. */
	const struct gpio_chip_desc pi5_old[] = {
		chip("gpiochip0", "gpio-brcmstb@107d508500", 32),
		chip("gpiochip1", "gpio-brcmstb@107d508520", 4),
		chip("gpiochip2", "gpio-brcmstb@107d517c00", 17),
		chip("gpiochip3", "gpio-brcmstb@107d517c20", 6),
		chip("gpiochip4", "pinctrl-rp1", 54),
	};
	/* ... and since: the RP1 is gpiochip0. */
	const struct gpio_chip_desc pi5_new[] = {
		chip("gpiochip0", "pinctrl-rp1", 54),
		chip("gpiochip10", "gpio-brcmstb@107d508500", 32),
		chip("gpiochip11", "gpio-brcmstb@107d508520", 4),
	};

	(void)state;
	assert_int_equal(pick(pi3, 2, "auto", why), 0);
	assert_int_equal(pick(pi4, 2, "auto", why), 0);
	assert_int_equal(pick(pi5_old, 5, "auto", why), 4);
	assert_int_equal(pick(pi5_new, 3, "auto", why), 0);
	/* Named rather than found. */
	assert_int_equal(pick(pi4, 2, "gpiochip1", why), 1);
	assert_int_equal(pick(pi4, 2, "1", why), 1);
	assert_int_equal(pick(pi4, 2, "raspberrypi-exp-gpio", why), 1);
	assert_int_equal(pick(pi5_new, 3, "gpiochip10", why), 1);
	assert_int_equal(pick(pi5_old, 5, "gpio-brcmstb@107d517c00", why), 2);
}

static void
test_select_label_table(void **state)
{
	char why[512];
	/* The RP1 wins when a machine has two known labels. */
	const struct gpio_chip_desc both[] = {
		chip("gpiochip0", "pinctrl-bcm2835", 54),
		chip("gpiochip1", "pinctrl-rp1", 54),
	};
	size_t n = 0;

	(void)state;
	while (gpio_pi_header_labels[n] != NULL)
		n++;
	assert_int_equal(n, 3);
	assert_string_equal(gpio_pi_header_labels[0], "pinctrl-rp1");
	assert_string_equal(gpio_pi_header_labels[1], "pinctrl-bcm2711");
	assert_string_equal(gpio_pi_header_labels[2], "pinctrl-bcm2835");
	assert_int_equal(pick(both, 2, "auto", why), 1);
}

static void
test_select_errors(void **state)
{
	char why[512];
	const struct gpio_chip_desc pc[] = {
		chip("gpiochip0", "INT34C6:00", 360),
	};
	const struct gpio_chip_desc denied[] = {
		broken("gpiochip0", EACCES),
		chip("gpiochip1", "pinctrl-bcm2711", 58),
	};
	const struct gpio_chip_desc fake[] = {
		broken("gpiochip0", ENOTTY),
	};

	(void)state;
	/* No chip at all: the caller falls back to the sim. */
	assert_int_equal(pick(NULL, 0, "auto", why), GPIO_SELECT_NONE);
	/* Chips, but none of a Pi: never drive one on a guess. */
	assert_int_equal(pick(pc, 1, "auto", why), GPIO_SELECT_ERROR);
	assert_string_equal(why, "chip = auto found no Raspberry Pi header "
	    "chip (pinctrl-rp1, pinctrl-bcm2711 or pinctrl-bcm2835) among: "
	    "gpiochip0 [INT34C6:00] (360 lines); name one with chip = "
	    "gpiochipN, or set backend = sim");
	assert_int_equal(pick(pc, 1, "gpiochip0", why), 0);
	/* A chip that does not open is skipped by auto, named by name. */
	assert_int_equal(pick(denied, 2, "auto", why), 1);
	assert_int_equal(pick(denied, 2, "gpiochip0", why),
	    GPIO_SELECT_ERROR);
	assert_string_equal(why, "cannot open gpiochip0: Permission denied");
	assert_int_equal(pick(denied, 1, "auto", why), GPIO_SELECT_ERROR);
	assert_non_null(strstr(why, "among: gpiochip0 (Permission denied)"));
	assert_int_equal(pick(fake, 1, "0", why), GPIO_SELECT_ERROR);
	assert_string_equal(why, "cannot open gpiochip0: not a GPIO "
	    "character device");
	assert_int_equal(pick(pc, 1, "gpiochip9", why), GPIO_SELECT_ERROR);
	assert_string_equal(why, "no GPIO chip gpiochip9 (found: gpiochip0 "
	    "[INT34C6:00] (360 lines))");
	assert_int_equal(pick(NULL, 0, "gpiochip0", why), GPIO_SELECT_ERROR);
	assert_string_equal(why, "no GPIO chip gpiochip0 (found: none)");
	/* Not a number: a label, matched exactly. */
	assert_int_equal(pick(pc, 1, "gpiochip0x", why), GPIO_SELECT_ERROR);
	assert_string_equal(why, "no GPIO chip labelled 'gpiochip0x' (found: "
	    "gpiochip0 [INT34C6:00] (360 lines))");
	assert_int_equal(pick(pc, 1, "int34c6:00", why), GPIO_SELECT_ERROR);
	assert_int_equal(pick(pc, 1, "-1", why), GPIO_SELECT_ERROR);
	assert_int_equal(pick(pc, 1, "", why), GPIO_SELECT_ERROR);
	assert_int_equal(pick(pc, 1, NULL, why), GPIO_SELECT_ERROR);
	assert_int_equal(pick(pc, 1, "99999999999999999999", why),
	    GPIO_SELECT_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_mode_and_pulls),
		cmocka_unit_test(test_pulse_restores),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_busy_and_release),
		cmocka_unit_test(test_same_line_serialised),
		cmocka_unit_test(test_lines_in_parallel),
		cmocka_unit_test(test_hammer),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_fallback_to_sim),
		cmocka_unit_test(test_select_pi_models),
		cmocka_unit_test(test_select_label_table),
		cmocka_unit_test(test_select_errors),
	};

	return cmocka_run_group_tests_name("gpio", tests, NULL, NULL);
}
