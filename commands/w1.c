/*
 * w1: 1-Wire temperature sensors (DS18B20 and the other w1_therm
 * devices) under <sysfs>/bus/w1/devices, after dtoverlay=w1-gpio.
 *
 *   w1 list          the device ids, e.g. 28-3c01d6079a3f, sorted
 *   w1 temp <id>     degrees Celsius with three decimals: 23.125
 *
 * `temperature` (kernels since 2020) holds millidegrees.  Older kernels
 * only have `w1_slave`, the scratchpad and the kernel's CRC verdict:
 *
 *   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
 *   72 01 4b 46 7f ff 0e 10 57 t=23125
 *
 * Reading either file makes the sensor convert, which takes up to 750 ms;
 * the read cannot be interrupted, so a command may outlive its deadline by
 * that much.  docs/DEVICES.md describes the replies and the files.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <picmd/plugin.h>

#include "sysfs.h"

/* Every w1_therm family fits: the MAX31850 thermocouple reads -270 C to
 * +1800 C; beyond this the file is not a temperature. */
#define MILLI_MIN	(-273150L)
#define MILLI_MAX	2000000L

static const struct picmd_api *api;

struct w1 {
	char	*dir;	/* "<sysfs>/bus/w1/devices" */
};

/* Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1, bit-reversed: 0x8c). */
static uint8_t
crc8(const uint8_t *p, size_t n)
{
	uint8_t crc = 0;

	while (n-- > 0) {
		uint8_t b = *p++;

		for (int i = 0; i < 8; i++) {
			uint8_t mix = (crc ^ b) & 1;

			crc >>= 1;
			if (mix)
				crc ^= 0x8c;
			b >>= 1;
		}
	}
	return crc;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Two hex digits at *sp into *out; advances *sp. */
static bool
hex_byte(const char **sp, uint8_t *out)
{
	int hi = hexval((*sp)[0]), lo;

	if (hi < 0 || (lo = hexval((*sp)[1])) < 0)
		return false;
	*out = (uint8_t)(hi << 4 | lo);
	*sp += 2;
	return true;
}

/* The nine scratchpad bytes "72 01 ... 57 " that start both lines. */
static bool
scratchpad(const char **sp, uint8_t rom[9])
{
	for (int i = 0; i < 9; i++) {
		if (!hex_byte(sp, &rom[i]) || **sp != ' ')
			return false;
		(*sp)++;
	}
	return true;
}

/*
 * Parse w1_slave and answer its temperature.  The kernel's verdict is
 * trusted only when the CRC agrees with the bytes: the line is checked
 * again here, so a scratchpad of a sensor that went away (all 0xff, or
 * all zero, which has a valid CRC) is refused too.
 */
static void
temp_w1_slave(picmd_ctx *ctx, const char *path, const char *text)
{
	uint8_t rom[9], rom2[9], kernel_crc;
	const char *p = text, *nl;
	bool yes, zero = true;
	char num[32];
	long milli;
	size_t n;

	if (!scratchpad(&p, rom) || strncmp(p, ": crc=", 6) != 0)
		goto bad;
	p += 6;
	if (!hex_byte(&p, &kernel_crc) || *p++ != ' ')
		goto bad;
	if (strncmp(p, "YES\n", 4) == 0) {
		yes = true;
		p += 4;
	} else if (strncmp(p, "NO\n", 3) == 0) {
		yes = false;
		p += 3;
	} else
		goto bad;
	if (!yes) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: CRC check failed",
		    path);
		return;
	}
	/* The second line: the scratchpad again, then "t=<millidegrees>". */
	if (!scratchpad(&p, rom2) || strncmp(p, "t=", 2) != 0)
		goto bad;
	p += 2;
	nl = strchr(p, '\n');
	n = nl != NULL ? (size_t)(nl - p) : strlen(p);
	if (n == 0 || n >= sizeof(num) || (nl != NULL && nl[1] != '\0'))
		goto bad;
	memcpy(num, p, n);
	num[n] = '\0';
	if (!sysfs_parse_long(num, MILLI_MIN, MILLI_MAX, &milli))
		goto bad;

	if (crc8(rom, 8) != rom[8] || kernel_crc != rom[8]) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: CRC check failed "
		    "(bytes give %02x, sensor sent %02x, kernel says %02x)",
		    path, crc8(rom, 8), rom[8], kernel_crc);
		return;
	}
	for (int i = 0; i < 9; i++)
		zero = zero && rom[i] == 0;
	if (zero) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: the scratchpad "
		    "reads all zero (data line held low?)", path);
		return;
	}
	sysfs_reply_milli(api, ctx, milli);
	return;
bad:
	api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: unexpected content",
	    path);
}

/*
 * The device directory of `id` into buf.  Ids come from the client, so
 * anything that could leave the directory is refused first.  -1 after
 * replying.
 */
static int
dev_path(picmd_ctx *ctx, const struct w1 *st, const char *id, char *buf,
    size_t size)
{
	struct stat sb;

	if (id[0] == '\0' || id[0] == '.' || strchr(id, '/') != NULL ||
	    strncmp(id, "w1_bus_master", 13) == 0) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad 1-Wire device id "
		    "'%s'", id);
		return -1;
	}
	if (sysfs_path(buf, size, "%s/%s", st->dir, id) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "device id too long");
		return -1;
	}
	if (stat(buf, &sb) == -1) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "no 1-Wire "
			    "device '%s' in %s", id, st->dir);
		else
			sysfs_reply_errno(api, ctx, NULL, buf);
		return -1;
	}
	return 0;
}

static void
w1_temp(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct w1 *st = api->state(ctx);
	char dir[PATH_MAX], path[PATH_MAX], text[256];
	long milli;

	(void)argc;
	if (dev_path(ctx, st, argv[0], dir, sizeof(dir)) == -1)
		return;

	/*
	 * `temperature` first.  It reads empty when the conversion or its
	 * CRC failed; w1_slave then says which (and is one more try).
	 */
	if (sysfs_path(path, sizeof(path), "%s/temperature", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "device id too long");
		return;
	}
	if (sysfs_read(path, text, sizeof(text), SYSFS_TRIM_SPACES) != -1) {
		if (text[0] != '\0') {
			if (!sysfs_parse_long(text, MILLI_MIN, MILLI_MAX,
			    &milli))
				sysfs_reply_content(api, ctx, path, text);
			else
				sysfs_reply_milli(api, ctx, milli);
			return;
		}
	} else if (errno != ENOENT) {
		sysfs_reply_errno(api, ctx, "read", path);
		return;
	}

	if (sysfs_path(path, sizeof(path), "%s/w1_slave", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "device id too long");
		return;
	}
	if (sysfs_read(path, text, sizeof(text), SYSFS_TRIM_SPACES) == -1) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: no "
			    "temperature or w1_slave file (not a temperature "
			    "sensor?)", dir);
		else
			sysfs_reply_errno(api, ctx, "read", path);
		return;
	}
	/* sysfs_read dropped the last newline; the parser wants lines. */
	strcat(text, "\n");
	temp_w1_slave(ctx, path, text);
}

static void
w1_list(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct w1 *st = api->state(ctx);
	char **ids = NULL;
	size_t n = 0;

	(void)argc;
	(void)argv;
	/* The bus masters live here too; they are not devices. */
	switch (sysfs_list_names(st->dir, "w1_bus_master", &ids, &n)) {
	case SYSFS_LIST_NODIR:
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s (is "
			    "dtoverlay=w1-gpio enabled?)", st->dir,
			    strerror(errno));
		else
			sysfs_reply_errno(api, ctx, NULL, st->dir);
		return;
	case SYSFS_LIST_NOMEM:
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++)
		api->reply_append(ctx, "%s%s", i == 0 ? "" : " ", ids[i]);
	sysfs_free_names(ids, n);
}

static const struct picmd_command commands[] = {
	{ "w1 list", "w1 list", 0, 0, 0, w1_list },
	{ "w1 temp", "w1 temp <id>", 1, 1, 0, w1_temp },
};

static void
w1_fini(void *state)
{
	struct w1 *st = state;

	free(st->dir);
	free(st);
}

static int
w1_init(const struct picmd_api *host, picmd_init *init)
{
	struct w1 *st;

	api = host;
	sysfs_reject_keys(api, init);
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    asprintf(&st->dir, "%s/bus/w1/devices",
	    api->sysfs_root(init)) == -1) {
		free(st);
		api->log(PICMD_LOG_ERROR, "w1: out of memory");
		return -1;
	}
	api->set_state(init, st);
	return sysfs_register(api, init, commands, SYSFS_NELEM(commands));
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "w1",
	.version = "1.0",
	.init = w1_init,
	.fini = w1_fini,
};
