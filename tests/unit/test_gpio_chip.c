/*
 * The gpio plugin's chip backend (libgpiod 1.x), through the real loader.
 *
 * Without hardware: the scan of dev_root (which names count, numeric
 * order) and every way opening a chip fails - a missing chip, a regular
 * file, a character device that is not a GPIO chip, a dangling link.
 *
 * With the kernel's gpio-sim (CONFIG_GPIO_SIM, configfs, root): a real
 * GPIO chip driven through the character device, checked from the other
 * side through gpio-sim's sysfs attributes.  Skipped, with the reason
 * printed, where gpio-sim is missing.
 *
 * With PICMD_TEST_GPIOCHIP=gpiochipN: read-only checks (chip, list, info)
 * on that real chip; nothing is requested or driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

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

static char *
chip_section(const char *chip, const char *dev_root)
{
	char *s;

	if (asprintf(&s, "backend = chip\nchip = %s\ndev_root = %s", chip,
	    dev_root) == -1)
		abort();
	return s;
}

/*
 * A device node made under a nodev mount (Debian 13's tmpfs /tmp) cannot
 * be opened: 1 then, with errno EACCES.
 */
static int
node_unusable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1 && errno == EACCES)
		return 1;
	if (fd != -1)
		close(fd);
	return 0;
}

/* ---- without hardware ---- */

static void
test_missing_chip(void **state)
{
	char *dir = fixture_tmpdir(), *s;

	(void)state;
	s = chip_section("gpiochip0", dir);
	expect_load_error(s, "picmd.ini:6: [gpio] no GPIO chip gpiochip0 "
	    "(found: none)");
	free(s);
	s = chip_section("pinctrl-rp1", dir);
	expect_load_error(s, "picmd.ini:6: [gpio] no GPIO chip labelled "
	    "'pinctrl-rp1' (found: none)");
	free(s);
	fixture_rm(dir);
}

static void
test_not_a_chip(void **state)
{
	char *dir = fixture_tmpdir(), *s, path[512];

	(void)state;
	/* A regular file where the chip should be. */
	assert_int_equal(fixture_write(dir, "gpiochip0", "not a chip\n"), 0);
	s = chip_section("gpiochip0", dir);
	expect_load_error(s, "picmd.ini:6: [gpio] cannot open gpiochip0: not "
	    "a GPIO character device");
	free(s);
	/* auto neither drives it nor falls back to the sim: it says why. */
	s = chip_section("auto", dir);
	expect_load_error(s, "picmd.ini:6: [gpio] chip = auto found no "
	    "Raspberry Pi header chip (pinctrl-rp1, pinctrl-bcm2711 or "
	    "pinctrl-bcm2835) among: gpiochip0 (not a GPIO character "
	    "device); name one with chip = gpiochipN, or set backend = sim");
	free(s);

	/* A link to a character device that is no GPIO chip. */
	snprintf(path, sizeof(path), "%s/gpiochip1", dir);
	assert_int_equal(symlink("/dev/null", path), 0);
	s = chip_section("gpiochip1", dir);
	expect_load_error(s, "picmd.ini:6: [gpio] cannot open gpiochip1: not "
	    "a GPIO character device");
	free(s);

	/* A link to nothing. */
	snprintf(path, sizeof(path), "%s/gpiochip2", dir);
	assert_int_equal(symlink("/nonexistent/gpiochip2", path), 0);
	s = chip_section("2", dir);
	expect_load_error(s, "picmd.ini:6: [gpio] cannot open gpiochip2: No "
	    "such file or directory");
	free(s);

	/* A character device node itself (root only, so maybe skipped). */
	snprintf(path, sizeof(path), "%s/gpiochip3", dir);
	if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) == 0 &&
	    !node_unusable(path)) {
		s = chip_section("gpiochip3", dir);
		expect_load_error(s, "picmd.ini:6: [gpio] cannot open "
		    "gpiochip3: not a GPIO character device");
		free(s);
	} else {
		print_message("skipped the device-node case: %s\n",
		    errno == EACCES ? "TMPDIR is mounted nodev" :
		    strerror(errno));
	}
	fixture_rm(dir);
}

/* Only gpiochip<digits> counts, in numeric order. */
static void
test_scan(void **state)
{
	char *dir = fixture_tmpdir(), *s;
	struct harness *h;

	(void)state;
	assert_int_equal(fixture_write(dir, "gpiochip", ""), 0);
	assert_int_equal(fixture_write(dir, "gpiochipX", ""), 0);
	assert_int_equal(fixture_write(dir, "gpiochip1a", ""), 0);
	assert_int_equal(fixture_write(dir, "gpiomem", ""), 0);
	assert_int_equal(fixture_write(dir, "xgpiochip0", ""), 0);
	/* None of those is a chip: auto falls back to the sim. */
	s = chip_section("auto", dir);
	h = harness_load("gpio", s, NULL);
	assert_non_null(h);
	harness_expect(h, "gpio chip", "OK backend=sim name=sim "
	    "label=picmd-sim lines=54");
	harness_free(h);

	assert_int_equal(fixture_write(dir, "gpiochip10", ""), 0);
	assert_int_equal(fixture_write(dir, "gpiochip2", ""), 0);
	expect_load_error(s, "among: gpiochip2 (not a GPIO character "
	    "device), gpiochip10 (not a GPIO character device);");
	free(s);
	fixture_rm(dir);
}

/* ---- gpio-sim ---- */

#define GPIOSIM_ROOT	"/sys/kernel/config/gpio-sim"
#define SIM_LINES	8

struct gpiosim {
	char	 dir[256];		/* the configfs device */
	char	 chip[64];		/* gpiochipN */
	char	 dev[64];		/* gpio-sim.N */
	char	*dev_root;		/* a private /dev with just this chip */
	bool	 live;
};

static int
write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), rc = 0;

	if (fd == -1)
		return -1;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		rc = -1;
	close(fd);
	return rc;
}

/* The file's first line, into buf. */
static int
read_str(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return -1;
	if (fgets(buf, (int)len, fp) == NULL) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int
sim_attr(const struct gpiosim *g, unsigned off, const char *attr,
    char *buf, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/devices/platform/%s/%s/sim_gpio%u/"
	    "%s", g->dev, g->chip, off, attr);
	return read_str(path, buf, len);
}

static int
sim_set_pull(const struct gpiosim *g, unsigned off, const char *pull)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/devices/platform/%s/%s/sim_gpio%u/"
	    "pull", g->dev, g->chip, off);
	return write_str(path, pull);
}

static void
gpiosim_teardown(struct gpiosim *g)
{
	char path[512];

	if (g->live) {
		snprintf(path, sizeof(path), "%s/live", g->dir);
		write_str(path, "0");
	}
	snprintf(path, sizeof(path), "%s/gpio-bank0/line3", g->dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/gpio-bank0", g->dir);
	rmdir(path);
	rmdir(g->dir);
	fixture_rm(g->dev_root);
	g->dev_root = NULL;
}

/*
 * One gpio-sim device with one 8-line bank labelled like a Pi 3's header
 * chip (so chip = auto must find it) and line 3 named "LED".  NULL, or
 * why it could not be made.  Its /dev node is made in a private dev_root
 * from the major:minor in sysfs, so the test needs no udev and sees no
 * other chip of the machine.
 */
static const char *
gpiosim_setup(struct gpiosim *g)
{
	static char why[1024];
	char path[512], devnum[32];
	unsigned maj, min;
	int fd;

	memset(g, 0, sizeof(*g));
	if (access(GPIOSIM_ROOT, W_OK) != 0)
		return "no writable " GPIOSIM_ROOT " (needs CONFIG_GPIO_SIM, "
		    "configfs on /sys/kernel/config, and root)";
	snprintf(g->dir, sizeof(g->dir), GPIOSIM_ROOT "/picmd-test-%d",
	    (int)getpid());
	if (mkdir(g->dir, 0755) == -1) {
		snprintf(why, sizeof(why), "mkdir %s: %s", g->dir,
		    strerror(errno));
		return why;
	}
	snprintf(path, sizeof(path), "%s/gpio-bank0", g->dir);
	if (mkdir(path, 0755) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/gpio-bank0/num_lines", g->dir);
	if (write_str(path, "8") == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/gpio-bank0/label", g->dir);
	if (write_str(path, "pinctrl-bcm2835") == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/gpio-bank0/line3", g->dir);
	if (mkdir(path, 0755) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/gpio-bank0/line3/name", g->dir);
	if (write_str(path, "LED") == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/live", g->dir);
	if (write_str(path, "1") == -1)
		goto fail;
	g->live = true;
	snprintf(path, sizeof(path), "%s/gpio-bank0/chip_name", g->dir);
	if (read_str(path, g->chip, sizeof(g->chip)) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/dev_name", g->dir);
	if (read_str(path, g->dev, sizeof(g->dev)) == -1)
		goto fail;
	snprintf(path, sizeof(path), "/sys/bus/gpio/devices/%s/dev", g->chip);
	if (read_str(path, devnum, sizeof(devnum)) == -1 ||
	    sscanf(devnum, "%u:%u", &maj, &min) != 2)
		goto fail;
	g->dev_root = fixture_tmpdir();
	snprintf(path, sizeof(path), "%s/%s", g->dev_root, g->chip);
	if (mknod(path, S_IFCHR | 0600, makedev(maj, min)) == -1)
		goto fail;
	/* A tmpfs /tmp (Debian 13) is mounted nodev: say so, not fail. */
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		snprintf(why, sizeof(why), "cannot open the device node %s "
		    "(%s%s)", path, strerror(errno), errno == EACCES ?
		    ": is TMPDIR on a nodev file system? set TMPDIR to one "
		    "that allows device nodes, e.g. /var/tmp" : "");
		gpiosim_teardown(g);
		return why;
	}
	close(fd);
	return NULL;
fail:
	snprintf(why, sizeof(why), "setting up gpio-sim at %s: %s", path,
	    strerror(errno));
	gpiosim_teardown(g);
	return why;
}

/*
 * Hold a line through the kernel as "another program" would.  The v2
 * interface of the character device: every kernel since 5.10 has it,
 * and newer ones (Debian's 6.16 and later) have no other.
 */
static int
hold_line(const struct gpiosim *g, unsigned off, const char *consumer)
{
	struct gpio_v2_line_request req;
	char path[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", g->dev_root, g->chip);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&req, 0, sizeof(req));
	req.offsets[0] = off;
	req.num_lines = 1;
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
	snprintf(req.consumer, sizeof(req.consumer), "%s", consumer);
	rc = ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req);
	close(fd);
	return rc == -1 ? -1 : req.fd;
}

/* Is the line requested by anyone? -1 when the kernel won't say. */
static int
line_used(const struct gpiosim *g, unsigned off)
{
	struct gpio_v2_line_info info;
	char path[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", g->dev_root, g->chip);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&info, 0, sizeof(info));
	info.offset = off;
	rc = ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, &info);
	close(fd);
	return rc == -1 ? -1 : (info.flags & GPIO_V2_LINE_FLAG_USED) != 0;
}

struct pulse_job {
	struct harness	*h;
	char		*reply;
};

static void *
run_pulse(void *arg)
{
	struct pulse_job *j = arg;

	j->reply = harness_run(j->h, "gpio pulse 2 400");
	return NULL;
}

/* Poll a gpio-sim attribute until it reads want (sysfs is synchronous,
 * but be patient with a slow machine); 0 when it did. */
static int
wait_attr(const struct gpiosim *g, unsigned off, const char *attr,
    const char *want)
{
	char buf[32];

	for (int i = 0; i < 100; i++) {
		if (sim_attr(g, off, attr, buf, sizeof(buf)) == 0 &&
		    strcmp(buf, want) == 0)
			return 0;
		usleep(10000);
	}
	fprintf(stderr, "sim_gpio%u/%s is '%s', wanted '%s'\n", off, attr,
	    buf, want);
	return -1;
}

/* Fixture: the gpio-sim device, torn down even when a check fails. */
static int
gpiosim_up(void **state)
{
	struct gpiosim *g = calloc(1, sizeof(*g));
	const char *why;

	if (g == NULL)
		return -1;
	if ((why = gpiosim_setup(g)) != NULL) {
		print_message("gpio-sim not available: %s\n", why);
		free(g);
		g = NULL;
	}
	*state = g;
	return 0;
}

static int
gpiosim_down(void **state)
{
	if (*state != NULL) {
		gpiosim_teardown(*state);
		free(*state);
	}
	return 0;
}

static void
test_gpiosim(void **state)
{
	struct pulse_job job;
	struct gpiosim *gp = *state;
	struct harness *h;
	pthread_t t;
	char *s, want[256], *got;
	int fd;

	if (gp == NULL)
		skip();
#define g (*gp)
	/* chip = auto finds it by its label. */
	s = chip_section("auto", g.dev_root);
	h = harness_load("gpio", s, NULL);
	free(s);
	if (h == NULL)
		fprintf(stderr, "%s", harness_last_errors());
	assert_non_null(h);
	snprintf(want, sizeof(want), "OK backend=chip name=%s "
	    "label=pinctrl-bcm2835 lines=%d", g.chip, SIM_LINES);
	harness_expect(h, "gpio chip", want);
	/* sim-set exists only on the simulated backend. */
	harness_expect(h, "gpio sim-set 1 1", "ERR UNKNOWN unknown");
	snprintf(want, sizeof(want), "ERR DEVICE line 8: out of range: %s "
	    "has lines 0 to 7", g.chip);
	harness_expect(h, "gpio read 8", want);

	/* Names come from the chip; GPIO<n> still means offset n. */
	harness_expect(h, "gpio info LED", "OK offset=3 name=LED direction=in "
	    "value=- bias=unknown used=no consumer=-");
	harness_expect(h, "gpio read GPIO3", "OK 0");

	/* Outputs: the kernel sees the level, and the line stays ours. */
	harness_expect(h, "gpio write 2 1", "OK");
	assert_int_equal(wait_attr(&g, 2, "value", "1"), 0);
	harness_expect(h, "gpio read 2", "OK 1");
	harness_expect(h, "gpio info 2", "OK offset=2 name=- direction=out "
	    "value=1 bias=unknown used=yes consumer=picmd");
	assert_int_equal(line_used(&g, 2), 1);
	harness_expect(h, "gpio write 2 0", "OK");
	assert_int_equal(wait_attr(&g, 2, "value", "0"), 0);

	/* Inputs follow what the outside world does. */
	harness_expect(h, "gpio mode 5 in", "OK");
	assert_int_equal(sim_set_pull(&g, 5, "pull-up"), 0);
	harness_expect(h, "gpio read 5", "OK 1");
	assert_int_equal(sim_set_pull(&g, 5, "pull-down"), 0);
	harness_expect(h, "gpio read 5", "OK 0");
	/* A bias we ask for reaches the chip. */
	harness_expect(h, "gpio mode 6 in pull-up", "OK");
	assert_int_equal(wait_attr(&g, 6, "pull", "pull-up"), 0);
	harness_expect(h, "gpio read 6", "OK 1");
	harness_expect(h, "gpio info 6", "OK offset=6 name=- direction=in "
	    "value=1 bias=pull-up used=yes consumer=picmd");

	/* A pulse drives the line meanwhile, then restores it. */
	job.h = h;
	job.reply = NULL;
	assert_int_equal(pthread_create(&t, NULL, run_pulse, &job), 0);
	usleep(150000);
	assert_int_equal(wait_attr(&g, 2, "value", "1"), 0);
	pthread_join(t, NULL);
	assert_string_equal(job.reply, "OK");
	free(job.reply);
	assert_int_equal(wait_attr(&g, 2, "value", "0"), 0);
	harness_expect(h, "gpio info 2", "OK offset=2 name=- direction=out "
	    "value=0 bias=unknown used=yes consumer=picmd");

	/* Another program's line: ERR DEVICE naming it. */
	fd = hold_line(&g, 7, "other");
	assert_true(fd >= 0);
	harness_expect(h, "gpio write 7 1", "ERR DEVICE line 7: Device or "
	    "resource busy (in use by other)");
	harness_expect(h, "gpio info 7", "OK offset=7 name=- direction=in "
	    "value=- bias=unknown used=yes consumer=other");
	close(fd);
	harness_expect(h, "gpio write 7 1", "OK");

	got = harness_run(h, "gpio list");
	assert_string_equal(got, "OK 0:-:in:- 1:-:in:- 2:-:out:0 3:LED:in:- "
	    "4:-:in:- 5:-:in:0 6:-:in:1 7:-:out:1");
	free(got);

	/* release gives a line back; unloading gives back all the rest. */
	harness_expect(h, "gpio release 7", "OK");
	assert_int_equal(line_used(&g, 7), 0);
	harness_free(h);
	assert_int_equal(line_used(&g, 2), 0);
	assert_int_equal(line_used(&g, 5), 0);
	assert_int_equal(line_used(&g, 6), 0);

	/* Named by label and by number too. */
	s = chip_section("pinctrl-bcm2835", g.dev_root);
	h = harness_load("gpio", s, NULL);
	free(s);
	assert_non_null(h);
	harness_free(h);
	s = chip_section(g.chip + 8, g.dev_root);
	h = harness_load("gpio", s, NULL);
	free(s);
	assert_non_null(h);
	harness_free(h);
#undef g
}

/* ---- a real chip, read-only ---- */

static void
test_real_chip(void **state)
{
	const char *chip = getenv("PICMD_TEST_GPIOCHIP");
	struct harness *h;
	char *s, *got;

	(void)state;
	if (chip == NULL || chip[0] == '\0') {
		print_message("no real chip test: set PICMD_TEST_GPIOCHIP="
		    "gpiochipN to run read-only checks on one\n");
		skip();
	}
	s = chip_section(chip, "/dev");
	h = harness_load("gpio", s, NULL);
	free(s);
	if (h == NULL)
		fprintf(stderr, "%s", harness_last_errors());
	assert_non_null(h);
	got = harness_run(h, "gpio chip");
	assert_true(strncmp(got, "OK backend=chip name=", 21) == 0);
	free(got);
	got = harness_run(h, "gpio list");
	assert_true(strncmp(got, "OK 0:", 5) == 0);
	free(got);
	got = harness_run(h, "gpio info 0");
	assert_true(strncmp(got, "OK offset=0 name=", 17) == 0);
	free(got);
	harness_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_chip),
		cmocka_unit_test(test_not_a_chip),
		cmocka_unit_test(test_scan),
		cmocka_unit_test_setup_teardown(test_gpiosim, gpiosim_up,
		    gpiosim_down),
		cmocka_unit_test(test_real_chip),
	};

	return cmocka_run_group_tests_name("gpio_chip", tests, NULL, NULL);
}
