/*
 * pwm: the kernel's PWM class, <sysfs>/class/pwm/pwmchipN (on a Raspberry
 * Pi after dtoverlay=pwm or pwm-2chan in config.txt).
 *
 *   pwm list                                  pwmchipN:NPWM ...
 *   pwm set <chip> <channel> <period_ns> <duty_ns>
 *   pwm off <chip> <channel>
 *   pwm get <chip> <channel>                  exported=1 period_ns=...
 *
 * <chip> is N or pwmchipN.  A channel is exported when needed; the kernel
 * then creates pwmchipN/pwmM, which `pwm set` waits for ([pwm]
 * export_wait_ms, default 1000, and never past the command's deadline).
 * docs/DEVICES.md describes the replies and the files.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <picmd/plugin.h>

#include "sysfs.h"

#define WAIT_DEFAULT_MS	1000
#define WAIT_MAX_MS	10000
#define POLL_MS		10
/* Old kernels parse period and duty_cycle as unsigned int. */
#define NS_MAX		4294967295ULL

static const struct picmd_api *api;

struct pwm {
	char		*dir;		/* "<sysfs>/class/pwm" */
	long		 wait_ms;	/* how long export may take */
	/* One command at a time touches the chips: export-then-configure
	 * and the period/duty ordering must not interleave. */
	pthread_mutex_t	 lock;
};

/* The chip and channel a command works on, with their paths. */
struct chan {
	unsigned long	 chip, channel;
	char		 chipdir[PATH_MAX];
	char		 dir[PATH_MAX];		/* chipdir/pwmM */
};

/* Read attribute dir/name as a number in [0, max]; -1 after replying. */
static int
read_num(picmd_ctx *ctx, const char *dir, const char *name,
    unsigned long long max, unsigned long long *out)
{
	char path[PATH_MAX], text[64];

	if (sysfs_path(path, sizeof(path), "%s/%s", dir, name) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return -1;
	}
	if (sysfs_read(path, text, sizeof(text), SYSFS_TRIM_SPACES) == -1) {
		sysfs_reply_errno(api, ctx, "read", path);
		return -1;
	}
	if (!sysfs_parse_ull(text, max, out)) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: unexpected "
		    "content '%s'", path, text);
		return -1;
	}
	return 0;
}

static int
write_num(picmd_ctx *ctx, const char *dir, const char *name,
    unsigned long long v)
{
	char path[PATH_MAX], text[32];

	if (sysfs_path(path, sizeof(path), "%s/%s", dir, name) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return -1;
	}
	snprintf(text, sizeof(text), "%llu\n", v);
	if (sysfs_write(path, text) == -1) {
		sysfs_reply_errno(api, ctx, "write", path);
		return -1;
	}
	return 0;
}

static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/*
 * Parse <chip> <channel> and check both exist on this system: the chip's
 * directory, and channel < npwm.  Fills c; -1 after replying.
 */
static int
chan_lookup(picmd_ctx *ctx, const struct pwm *st, const char *chip,
    const char *channel, struct chan *c)
{
	unsigned long long v, npwm;
	const char *digits = chip;

	if (strncmp(chip, "pwmchip", 7) == 0)
		digits = chip + 7;
	if (!sysfs_parse_ull(digits, 65535, &v)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "chip must be N or "
		    "pwmchipN, not '%s'", chip);
		return -1;
	}
	c->chip = (unsigned long)v;
	if (!sysfs_parse_ull(channel, 65535, &v)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "channel must be a "
		    "number, not '%s'", channel);
		return -1;
	}
	c->channel = (unsigned long)v;
	if (sysfs_path(c->chipdir, sizeof(c->chipdir), "%s/pwmchip%lu",
	    st->dir, c->chip) == -1 || sysfs_path(c->dir, sizeof(c->dir),
	    "%s/pwm%lu", c->chipdir, c->channel) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return -1;
	}
	if (!exists(c->chipdir)) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "no PWM chip "
			    "pwmchip%lu in %s (is a pwm overlay enabled?)",
			    c->chip, st->dir);
		else
			sysfs_reply_errno(api, ctx, "stat", c->chipdir);
		return -1;
	}
	if (read_num(ctx, c->chipdir, "npwm", 65536, &npwm) == -1)
		return -1;
	if (c->channel >= npwm) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "pwmchip%lu has no "
		    "channel %lu (npwm is %llu)", c->chip, c->channel, npwm);
		return -1;
	}
	return 0;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/*
 * Export the channel unless pwmM exists, then wait for the kernel to
 * create pwmM.  Wait for pwmM/enable to be writable rather than for the
 * directory: udev may still be changing the files' group when the
 * directory appears (Raspberry Pi OS gives them to group gpio).
 * -1 after replying.
 */
static int
chan_export(picmd_ctx *ctx, const struct pwm *st, const struct chan *c)
{
	char path[PATH_MAX], enable[PATH_MAX], text[32];
	struct timespec t0, nap = { 0, POLL_MS * 1000000L };
	long budget;

	if (exists(c->dir))
		return 0;
	if (sysfs_path(path, sizeof(path), "%s/export", c->chipdir) == -1 ||
	    sysfs_path(enable, sizeof(enable), "%s/enable", c->dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return -1;
	}
	/* EBUSY: exported meanwhile (by another program); wait as well. */
	snprintf(text, sizeof(text), "%lu\n", c->channel);
	if (sysfs_write(path, text) == -1 && errno != EBUSY) {
		sysfs_reply_errno(api, ctx, "write", path);
		return -1;
	}

	budget = st->wait_ms;
	if (budget > api->remaining_ms(ctx))
		budget = api->remaining_ms(ctx);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (access(enable, W_OK) == -1 && ms_since(&t0) < budget)
		nanosleep(&nap, NULL);
	/* There but not writable: the write reports why. */
	if (exists(c->dir))
		return 0;
	api->reply_error(ctx, PICMD_ERR_TIMEOUT, "pwmchip%lu: pwm%lu did not "
	    "appear within %ld ms of writing %lu to %s", c->chip, c->channel,
	    budget, c->channel, path);
	return -1;
}

static void
pwm_set(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct pwm *st = api->state(ctx);
	unsigned long long period, duty, old_period;
	struct chan c;

	(void)argc;
	if (!sysfs_parse_ull(argv[2], NS_MAX, &period) || period == 0) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "period_ns must be a "
		    "whole number from 1 to %llu", NS_MAX);
		return;
	}
	if (!sysfs_parse_ull(argv[3], NS_MAX, &duty) || duty > period) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "duty_ns must be a "
		    "whole number from 0 to period_ns (%llu)", period);
		return;
	}

	pthread_mutex_lock(&st->lock);
	if (chan_lookup(ctx, st, argv[0], argv[1], &c) == -1 ||
	    chan_export(ctx, st, &c) == -1 ||
	    read_num(ctx, c.dir, "period", ULLONG_MAX, &old_period) == -1)
		goto out;
	/*
	 * The kernel refuses any moment where duty_cycle > period.  When
	 * the period shrinks, the new duty (<= new period < old period)
	 * fits the old period, so it goes first; otherwise the old duty
	 * (<= old period <= new period) fits the new period, so the
	 * period goes first.
	 */
	if (period < old_period) {
		if (write_num(ctx, c.dir, "duty_cycle", duty) == -1 ||
		    write_num(ctx, c.dir, "period", period) == -1)
			goto out;
	} else {
		if (write_num(ctx, c.dir, "period", period) == -1 ||
		    write_num(ctx, c.dir, "duty_cycle", duty) == -1)
			goto out;
	}
	if (write_num(ctx, c.dir, "enable", 1) == -1)
		goto out;
	api->reply_ok(ctx, "%s", "");
out:
	pthread_mutex_unlock(&st->lock);
}

static void
pwm_off(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct pwm *st = api->state(ctx);
	struct chan c;

	(void)argc;
	pthread_mutex_lock(&st->lock);
	if (chan_lookup(ctx, st, argv[0], argv[1], &c) == -1)
		goto out;
	/* Not exported: nothing drives the pin, so it is off already.
	 * The channel stays exported otherwise, keeping its settings. */
	if (exists(c.dir) && write_num(ctx, c.dir, "enable", 0) == -1)
		goto out;
	api->reply_ok(ctx, "%s", "");
out:
	pthread_mutex_unlock(&st->lock);
}

static void
pwm_get(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct pwm *st = api->state(ctx);
	unsigned long long period, duty, enable;
	char path[PATH_MAX], polarity[32];
	struct chan c;

	(void)argc;
	pthread_mutex_lock(&st->lock);
	if (chan_lookup(ctx, st, argv[0], argv[1], &c) == -1)
		goto out;
	if (!exists(c.dir)) {
		api->reply_ok(ctx, "exported=0");
		goto out;
	}
	if (read_num(ctx, c.dir, "period", ULLONG_MAX, &period) == -1 ||
	    read_num(ctx, c.dir, "duty_cycle", ULLONG_MAX, &duty) == -1 ||
	    read_num(ctx, c.dir, "enable", 1, &enable) == -1)
		goto out;
	if (sysfs_path(path, sizeof(path), "%s/polarity", c.dir) == -1 ||
	    sysfs_read(path, polarity, sizeof(polarity),
	    SYSFS_TRIM_SPACES) == -1) {
		sysfs_reply_errno(api, ctx, "read", path);
		goto out;
	}
	if (strcmp(polarity, "normal") != 0 &&
	    strcmp(polarity, "inversed") != 0) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: unexpected "
		    "content '%s'", path, polarity);
		goto out;
	}
	api->reply_ok(ctx, "exported=1 enabled=%llu period_ns=%llu "
	    "duty_ns=%llu polarity=%s", enable, period, duty, polarity);
out:
	pthread_mutex_unlock(&st->lock);
}

static int
cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void
pwm_list(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct pwm *st = api->state(ctx);
	unsigned long chips[256];
	unsigned long long v;
	struct dirent *de;
	size_t n = 0;
	DIR *dp;

	(void)argc;
	(void)argv;
	if ((dp = opendir(st->dir)) == NULL) {
		sysfs_reply_errno(api, ctx, NULL, st->dir);
		return;
	}
	while ((de = readdir(dp)) != NULL && n < 256)
		if (strncmp(de->d_name, "pwmchip", 7) == 0 &&
		    sysfs_parse_ull(de->d_name + 7, 65535, &v))
			chips[n++] = (unsigned long)v;
	closedir(dp);
	/* By number, so pwmchip10 comes after pwmchip2. */
	qsort(chips, n, sizeof(chips[0]), cmp_ulong);
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++) {
		char chipdir[PATH_MAX];

		if (sysfs_path(chipdir, sizeof(chipdir), "%s/pwmchip%lu",
		    st->dir, chips[i]) == -1) {
			api->reply_error(ctx, PICMD_ERR_INTERNAL,
			    "path too long");
			return;
		}
		if (read_num(ctx, chipdir, "npwm", 65536, &v) == -1)
			return;
		api->reply_append(ctx, "%spwmchip%lu:%llu", i == 0 ? "" : " ",
		    chips[i], v);
	}
}

static const struct picmd_command commands[] = {
	{ "pwm list", "pwm list", 0, 0, 0, pwm_list },
	{ "pwm set", "pwm set <chip> <channel> <period_ns> <duty_ns>", 4, 4,
	    0, pwm_set },
	{ "pwm off", "pwm off <chip> <channel>", 2, 2, 0, pwm_off },
	{ "pwm get", "pwm get <chip> <channel>", 2, 2, 0, pwm_get },
};

static void
pwm_fini(void *state)
{
	struct pwm *st = state;

	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st);
}

static int
pwm_init(const struct picmd_api *host, picmd_init *init)
{
	unsigned long long v;
	struct pwm *st;

	api = host;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    asprintf(&st->dir, "%s/class/pwm", api->sysfs_root(init)) == -1) {
		free(st);
		api->log(PICMD_LOG_ERROR, "pwm: out of memory");
		return -1;
	}
	pthread_mutex_init(&st->lock, NULL);
	st->wait_ms = WAIT_DEFAULT_MS;
	api->set_state(init, st);
	for (int i = 0; i < api->config_count(init); i++) {
		const char *key = api->config_key(init, i);
		const char *value = api->config_value(init, i);

		if (strcmp(key, "export_wait_ms") != 0)
			api->config_error(init, key, "unknown key '%s'", key);
		else if (!sysfs_parse_ull(value, WAIT_MAX_MS, &v))
			api->config_error(init, key, "export_wait_ms must be a "
			    "whole number from 0 to %d", WAIT_MAX_MS);
		else
			st->wait_ms = (long)v;
	}
	return sysfs_register(api, init, commands, SYSFS_NELEM(commands));
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "pwm",
	.version = "1.0",
	.init = pwm_init,
	.fini = pwm_fini,
};
