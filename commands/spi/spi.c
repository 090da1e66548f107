/*
 * spi: full-duplex transfers with SPI devices through the kernel's spidev
 * (/dev/spidevB.C), as spidev_test does.
 *
 * The hardware is behind backend.h (spidev, or an in-memory loopback
 * device); this file parses arguments, applies the configured speed and
 * mode, and serialises transfers per device.
 *
 * Locking: one mutex per device (buslock.h).  The kernel runs one
 * SPI_IOC_MESSAGE whole, but the mode is the device's and is set by a
 * separate ioctl before it: without the mutex a client's mode-3 transfer
 * could run in the mode-0 another client set in between.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <picmd/plugin.h>

#include "backend.h"
#include "buslock.h"
#include "hexbytes.h"
#include "sysfs.h"

#define SPI_SPEED_DEFAULT	500000		/* Hz, as spidev_test's */
/* A Pi 4's SPI clock at its fastest (core clock / 2); the kernel lowers
 * any speed to what the device tree allows the device. */
#define SPI_SPEED_MAX		250000000UL

/* [spi] speed_hz.B.C / mode.B.C: one device's own settings. */
struct spi_override {
	struct spi_dev_id	 id;
	unsigned long		 speed_hz;	/* 0: the default */
	int			 mode;		/* -1: the default */
};

struct spi_state {
	struct spi_backend	*be;
	struct buslock_set	*locks;
	unsigned long		 speed_hz;	/* [spi] speed_hz */
	unsigned		 mode;		/* [spi] mode */
	struct spi_override	*over;
	size_t			 nover;
};

static const struct picmd_api *api;

/* "0.1" or "spidev0.1"; 0, or -1 when it is no device name. */
static int
parse_id(const char *s, struct spi_dev_id *id)
{
	unsigned long long bus, cs;
	const char *dot;
	char busbuf[8];

	if (strncmp(s, "spidev", 6) == 0)
		s += 6;
	if ((dot = strchr(s, '.')) == NULL ||
	    (size_t)(dot - s) >= sizeof(busbuf))
		return -1;
	memcpy(busbuf, s, (size_t)(dot - s));
	busbuf[dot - s] = '\0';
	if (!sysfs_parse_ull(busbuf, SPI_BUS_MAX, &bus) ||
	    !sysfs_parse_ull(dot + 1, SPI_CS_MAX, &cs))
		return -1;
	id->bus = (unsigned)bus;
	id->cs = (unsigned)cs;
	return 0;
}

static bool
parse_mode(const char *s, unsigned *mode)
{
	if (s[0] < '0' || s[0] > '3' || s[1] != '\0')
		return false;
	*mode = (unsigned)(s[0] - '0');
	return true;
}

static bool
parse_speed(const char *s, unsigned long *hz)
{
	unsigned long long v;

	if (!sysfs_parse_ull(s, SPI_SPEED_MAX, &v) || v == 0)
		return false;
	*hz = (unsigned long)v;
	return true;
}

/* One mutex per device: bus and chip select in one number. */
static unsigned long
lock_key(struct spi_dev_id id)
{
	return id.bus * (SPI_CS_MAX + 1UL) + id.cs;
}

static const struct spi_override *
find_override(const struct spi_state *st, struct spi_dev_id id)
{
	for (size_t i = 0; i < st->nover; i++)
		if (st->over[i].id.bus == id.bus && st->over[i].id.cs == id.cs)
			return &st->over[i];
	return NULL;
}

/* ---- handlers ---- */

/* "OK 0.0 0.1": the devices present, by bus and chip select. */
static void
spi_devices(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct spi_state *st = api->state(ctx);
	struct spi_dev_id *ids;
	char why[4096];
	size_t n;

	(void)argc;
	(void)argv;
	if (st->be->ops->list(st->be, &ids, &n, why, sizeof(why)) == -1) {
		sysfs_reply_errno(api, ctx, "read", why);
		return;
	}
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++)
		api->reply_append(ctx, "%s%u.%u", i > 0 ? " " : "", ids[i].bus,
		    ids[i].cs);
	free(ids);
}

static void
reply_open_error(picmd_ctx *ctx, struct spi_dev_id id, const char *path,
    int err)
{
	char buf[128];
	const char *msg = strerror_r(err, buf, sizeof(buf));

	if (err == ENOENT || err == ENODEV || err == ENXIO)
		api->reply_error(ctx, PICMD_ERR_DEVICE, "spidev%u.%u: no such "
		    "device", id.bus, id.cs);
	else if (err == ENOTTY)
		api->reply_error(ctx, PICMD_ERR_DEVICE, "spidev%u.%u: %s is not "
		    "an spidev device (%s)", id.bus, id.cs, path, msg);
	else
		api->reply_error(ctx, PICMD_ERR_DEVICE, "spidev%u.%u: cannot "
		    "open %s: %s", id.bus, id.cs, path, msg);
}

static void
reply_transfer_error(picmd_ctx *ctx, struct spi_dev_id id, int err)
{
	char buf[128];
	const char *msg = strerror_r(err, buf, sizeof(buf));

	if (err == EMSGSIZE)
		api->reply_error(ctx, PICMD_ERR_DEVICE, "spidev%u.%u: longer than "
		    "spidev's buffer (module parameter spidev.bufsiz) (%s)",
		    id.bus, id.cs, msg);
	else if (err == ETIMEDOUT)
		api->reply_error(ctx, PICMD_ERR_TIMEOUT, "spidev%u.%u: the "
		    "transfer timed out (%s)", id.bus, id.cs, msg);
	else
		api->reply_error(ctx, PICMD_ERR_DEVICE, "spidev%u.%u: %s", id.bus,
		    id.cs, msg);
}

/*
 * spi xfer <bus>.<cs> [speed=HZ] [mode=0-3] <hex bytes...>: the options
 * come first, each at most once; every word after them is bytes.
 */
static void
spi_xfer(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct spi_state *st = api->state(ctx);
	const struct spi_override *o;
	unsigned long speed = 0;
	int mode = -1, i;
	struct spi_dev_id id;
	struct spi_dev *dev;
	struct buslock *lock;
	uint8_t *tx = NULL, *rx = NULL;
	char why[4096];
	size_t n;
	int rc, err;

	if (parse_id(argv[0], &id) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad device '%.40s': give "
		    "<bus>.<cs> such as 0.0 (spi devices lists them)", argv[0]);
		return;
	}
	for (i = 1; i < argc; i++) {
		unsigned m;

		if (strncasecmp(argv[i], "speed=", 6) == 0) {
			if (speed != 0 || !parse_speed(argv[i] + 6, &speed)) {
				api->reply_error(ctx, PICMD_ERR_ARGS, "bad "
				    "'%.40s': speed= once, 1 to %lu Hz",
				    argv[i], SPI_SPEED_MAX);
				return;
			}
		} else if (strncasecmp(argv[i], "mode=", 5) == 0) {
			if (mode != -1 || !parse_mode(argv[i] + 5, &m)) {
				api->reply_error(ctx, PICMD_ERR_ARGS, "bad "
				    "'%.40s': mode= once, 0 to 3", argv[i]);
				return;
			}
			mode = (int)m;
		} else
			break;
	}
	if (i == argc) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "no bytes to send: usage: "
		    "spi xfer <bus>.<cs> [speed=HZ] [mode=0-3] <hex bytes...>");
		return;
	}
	for (int j = i; j < argc; j++) {
		if (strchr(argv[j], '=') != NULL) {
			api->reply_error(ctx, PICMD_ERR_ARGS, "'%.40s' after the "
			    "bytes: speed= and mode= go before them", argv[j]);
			return;
		}
	}
	if ((tx = malloc(SPI_XFER_MAX)) == NULL) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	if (hexbytes_parse(argc - i, argv + i, tx, SPI_XFER_MAX, &n, why,
	    sizeof(why)) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "%s", why);
		goto out;
	}
	o = find_override(st, id);
	if (speed == 0)
		speed = o != NULL && o->speed_hz != 0 ? o->speed_hz :
		    st->speed_hz;
	if (mode == -1)
		mode = o != NULL && o->mode != -1 ? o->mode : (int)st->mode;
	if ((rx = malloc(n)) == NULL) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		goto out;
	}

	if (st->be->ops->open(st->be, id, &dev, why, sizeof(why)) == -1) {
		reply_open_error(ctx, id, why, errno);
		goto out;
	}
	/* Only a device that opened gets a mutex (buslock.h). */
	if ((lock = buslock_lock(st->locks, lock_key(id),
	    api->remaining_ms(ctx))) == NULL) {
		if (errno == ENOMEM)
			api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of "
			    "memory");
		else
			api->reply_error(ctx, PICMD_ERR_BUSY, "spidev%u.%u: busy "
			    "with another command until after this one's "
			    "deadline", id.bus, id.cs);
		st->be->ops->dev_close(dev);
		goto out;
	}
	rc = st->be->ops->transfer(dev, (uint32_t)speed, (unsigned)mode, tx,
	    rx, n);
	err = errno;
	buslock_unlock(lock);
	st->be->ops->dev_close(dev);
	if (rc == -1)
		reply_transfer_error(ctx, id, err);
	else
		hexbytes_reply(api, ctx, rx, n);
out:
	free(tx);
	free(rx);
}

/* Sim only: "OK 0.0 speed_hz=500000 mode=0", the last transfer's. */
static void
spi_sim_last_cmd(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct spi_state *st = api->state(ctx);
	struct spi_dev_id id = { SPI_SIM_BUS, SPI_SIM_CS };
	struct buslock *lock;
	uint32_t speed;
	unsigned mode;
	int rc;

	(void)argc;
	(void)argv;
	if ((lock = buslock_lock(st->locks, lock_key(id),
	    api->remaining_ms(ctx))) == NULL) {
		api->reply_error(ctx, PICMD_ERR_BUSY, "spidev%u.%u: busy",
		    id.bus, id.cs);
		return;
	}
	rc = spi_sim_last(st->be, &speed, &mode);
	buslock_unlock(lock);
	if (rc == -1)
		api->reply_ok(ctx, "%u.%u none", id.bus, id.cs);
	else
		api->reply_ok(ctx, "%u.%u speed_hz=%lu mode=%u", id.bus, id.cs,
		    (unsigned long)speed, mode);
}

static const struct picmd_command sim_last_command = {
	"spi sim-last", "spi sim-last", 0, 0, 0, spi_sim_last_cmd,
};

static const struct picmd_command commands[] = {
	{ "spi devices", "spi devices", 0, 0, 0, spi_devices },
	{ "spi xfer", "spi xfer <bus>.<cs> [speed=HZ] [mode=0-3] "
	    "<hex bytes...>", 2, PICMD_ARGS_ANY, 0, spi_xfer },
};

/* ---- load time ---- */

static void
spi_fini(void *p)
{
	struct spi_state *st = p;

	if (st == NULL)
		return;
	if (st->be != NULL)
		st->be->ops->close(st->be);
	buslock_set_free(st->locks);
	free(st->over);
	free(st);
}

/* The entry for id, made when missing; NULL when out of memory. */
static struct spi_override *
get_override(struct spi_state *st, struct spi_dev_id id)
{
	struct spi_override *tmp;

	for (size_t i = 0; i < st->nover; i++)
		if (st->over[i].id.bus == id.bus && st->over[i].id.cs == id.cs)
			return &st->over[i];
	if ((tmp = reallocarray(st->over, st->nover + 1, sizeof(*tmp))) == NULL)
		return NULL;
	st->over = tmp;
	st->over[st->nover] = (struct spi_override){ id, 0, -1 };
	return &st->over[st->nover++];
}

/*
 * Every key of [spi]: backend and dev_root were read before; speed_hz,
 * mode, and their per-device forms speed_hz.B.C and mode.B.C.  The
 * number of problems reported, or -1 when out of memory.
 */
static int
read_settings(picmd_init *init, struct spi_state *st)
{
	int bad = 0;

	for (int i = 0; i < api->config_count(init); i++) {
		const char *k = api->config_key(init, i);
		const char *v = api->config_value(init, i);
		const char *dev = NULL;
		struct spi_override *o;
		struct spi_dev_id id;
		unsigned long hz;
		unsigned m;
		bool speed;

		if (strcmp(k, "backend") == 0 || strcmp(k, "dev_root") == 0)
			continue;
		if (strcmp(k, "speed_hz") == 0 || strcmp(k, "mode") == 0) {
			speed = k[0] == 's';
		} else if (strncmp(k, "speed_hz.", 9) == 0) {
			speed = true;
			dev = k + 9;
		} else if (strncmp(k, "mode.", 5) == 0) {
			speed = false;
			dev = k + 5;
		} else {
			api->config_error(init, k, "unknown key '%s' (known: "
			    "backend, dev_root, speed_hz, mode, "
			    "speed_hz.<bus>.<cs>, mode.<bus>.<cs>)", k);
			bad++;
			continue;
		}
		if (dev != NULL && parse_id(dev, &id) == -1) {
			api->config_error(init, k, "'%s' names no device: write "
			    "%s.<bus>.<cs>, such as %s.0.1", dev,
			    speed ? "speed_hz" : "mode", speed ? "speed_hz" :
			    "mode");
			bad++;
			continue;
		}
		if (speed ? !parse_speed(v, &hz) : !parse_mode(v, &m)) {
			if (speed)
				api->config_error(init, k, "%s must be 1 to %lu "
				    "(Hz), not '%s'", k, SPI_SPEED_MAX, v);
			else
				api->config_error(init, k, "%s must be 0, 1, 2 "
				    "or 3, not '%s'", k, v);
			bad++;
			continue;
		}
		if (dev == NULL) {
			if (speed)
				st->speed_hz = hz;
			else
				st->mode = m;
			continue;
		}
		if ((o = get_override(st, id)) == NULL)
			return -1;
		if (speed)
			o->speed_hz = hz;
		else
			o->mode = (int)m;
	}
	return bad;
}

/*
 * backend = dev (the default) with no spidev at all is not an error and
 * not a reason to simulate, for the reason i2c.c gives: the plugin loads,
 * says so, and spi xfer answers "no such device" until one appears.
 */
static struct spi_backend *
open_backend(picmd_init *init, const char *backend, const char *dev_root)
{
	struct spi_backend *be;
	int any;

	if (strcmp(backend, "sim") == 0) {
		if ((be = spi_sim_open()) == NULL)
			api->log(PICMD_LOG_ERROR, "spi: out of memory");
		else
			api->log(PICMD_LOG_INFO, "spi: simulated device "
			    "spidev%d.%d in loopback", SPI_SIM_BUS, SPI_SIM_CS);
		return be;
	}
	if ((any = spi_dev_any(dev_root)) == -1) {
		api->config_error(init, api->config_get(init, "dev_root") != NULL ?
		    "dev_root" : NULL, "cannot read %s: %s", dev_root,
		    strerror(errno));
		return NULL;
	}
	if (any == 0)
		api->log(PICMD_LOG_WARN, "spi: no SPI device in %s (spidevB.C): "
		    "turn SPI on (dtparam=spi=on in config.txt); until a device "
		    "appears spi xfer answers ERR DEVICE", dev_root);
	else
		api->log(PICMD_LOG_INFO, "spi: the kernel's spidev devices in "
		    "%s", dev_root);
	if ((be = spi_dev_open(dev_root)) == NULL)
		api->log(PICMD_LOG_ERROR, "spi: out of memory");
	return be;
}

static int
spi_init(const struct picmd_api *host, picmd_init *init)
{
	const char *backend, *dev_root;
	struct spi_state *st;
	int bad = 0, rc;

	api = host;
	if ((backend = api->config_get(init, "backend")) == NULL)
		backend = "dev";
	if (strcmp(backend, "dev") != 0 && strcmp(backend, "sim") != 0) {
		api->config_error(init, "backend", "backend must be dev or sim, "
		    "not '%s'", backend);
		bad++;
	}
	if ((dev_root = api->config_get(init, "dev_root")) == NULL)
		dev_root = "/dev";
	if (dev_root[0] != '/') {
		api->config_error(init, "dev_root", "dev_root must be an "
		    "absolute path, not '%s'", dev_root);
		bad++;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		api->log(PICMD_LOG_ERROR, "spi: out of memory");
		return -1;
	}
	/* From here on the loader hands st to fini() if init fails. */
	api->set_state(init, st);
	st->speed_hz = SPI_SPEED_DEFAULT;
	if ((rc = read_settings(init, st)) == -1 ||
	    (st->locks = buslock_set_new()) == NULL) {
		api->log(PICMD_LOG_ERROR, "spi: out of memory");
		return -1;
	}
	if (bad + rc > 0)
		return -1;
	if ((st->be = open_backend(init, backend, dev_root)) == NULL)
		return -1;
	if (sysfs_register(api, init, commands, SYSFS_NELEM(commands)) == -1)
		return -1;
	/* Only the simulated device has a last transfer to show. */
	if (strcmp(st->be->kind, "sim") == 0 &&
	    api->register_command(init, &sim_last_command) == -1)
		return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "spi",
	.version = "1.0",
	.init = spi_init,
	.fini = spi_fini,
};
