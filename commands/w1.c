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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <picmd/plugin.h>

/* Every w1_therm family fits: the MAX31850 thermocouple reads -270 C to
 * +1800 C; beyond this the file is not a temperature. */
#define MILLI_MIN	(-273150L)
#define MILLI_MAX	2000000L

static const struct picmd_api *api;

struct w1 {
	char	*dir;	/* "<sysfs>/bus/w1/devices" */
};

static int path_fmt(char *buf, size_t size, const char *fmt, ...)
	PICMD_PRINTF(3, 4);

static int
path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Read a sysfs attribute into buf without trailing newlines; -1 with
 * errno set (EFBIG when it does not fit). */
static int
read_attr(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		if (len + 1 == size) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	e = errno;
	close(fd);
	if (n == -1) {
		errno = e;
		return -1;
	}
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return 0;
}

/* A decimal integer in [min, max], the whole string. */
static bool
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

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

/* Millidegrees as Celsius with three decimals; -500 is "-0.500". */
static void
reply_milli(picmd_ctx *ctx, long milli)
{
	unsigned long a = milli < 0 ? (unsigned long)-milli :
	    (unsigned long)milli;

	api->reply_ok(ctx, "%s%lu.%03lu", milli < 0 ? "-" : "", a / 1000,
	    a % 1000);
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
	if (!parse_long(num, MILLI_MIN, MILLI_MAX, &milli))
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
	reply_milli(ctx, milli);
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
	if (path_fmt(buf, size, "%s/%s", st->dir, id) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "device id too long");
		return -1;
	}
	if (stat(buf, &sb) == -1) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "no 1-Wire "
			    "device '%s' in %s", id, st->dir);
		else
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s", buf,
			    strerror(errno));
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
	if (path_fmt(path, sizeof(path), "%s/temperature", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "device id too long");
		return;
	}
	if (read_attr(path, text, sizeof(text)) == 0) {
		if (text[0] != '\0') {
			if (!parse_long(text, MILLI_MIN, MILLI_MAX, &milli))
				api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: "
				    "unexpected content '%.40s'", path, text);
			else
				reply_milli(ctx, milli);
			return;
		}
	} else if (errno != ENOENT) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "read %s: %s", path,
		    strerror(errno));
		return;
	}

	if (path_fmt(path, sizeof(path), "%s/w1_slave", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "device id too long");
		return;
	}
	if (read_attr(path, text, sizeof(text)) == -1) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: no "
			    "temperature or w1_slave file (not a temperature "
			    "sensor?)", dir);
		else
			api->reply_error(ctx, PICMD_ERR_DEVICE, "read %s: %s",
			    path, strerror(errno));
		return;
	}
	/* read_attr dropped the last newline; the parser wants lines. */
	strcat(text, "\n");
	temp_w1_slave(ctx, path, text);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
w1_list(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct w1 *st = api->state(ctx);
	struct dirent *de;
	char **ids = NULL, **tmp;
	size_t n = 0;
	DIR *dp;

	(void)argc;
	(void)argv;
	if ((dp = opendir(st->dir)) == NULL) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s (is "
			    "dtoverlay=w1-gpio enabled?)", st->dir,
			    strerror(errno));
		else
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s",
			    st->dir, strerror(errno));
		return;
	}
	/* The bus masters live here too; they are not devices. */
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, "w1_bus_master", 13) == 0)
			continue;
		if ((tmp = reallocarray(ids, n + 1, sizeof(*ids))) == NULL ||
		    (tmp[n] = strdup(de->d_name)) == NULL) {
			if (tmp != NULL)
				ids = tmp;
			api->reply_error(ctx, PICMD_ERR_INTERNAL,
			    "out of memory");
			goto done;
		}
		ids = tmp;
		n++;
	}
	if (n > 0)
		qsort(ids, n, sizeof(*ids), cmp_name);
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++)
		api->reply_append(ctx, "%s%s", i == 0 ? "" : " ", ids[i]);
done:
	closedir(dp);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
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
	for (int i = 0; i < api->config_count(init); i++)
		api->config_error(init, api->config_key(init, i),
		    "unknown key '%s'", api->config_key(init, i));
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    asprintf(&st->dir, "%s/bus/w1/devices",
	    api->sysfs_root(init)) == -1) {
		free(st);
		api->log(PICMD_LOG_ERROR, "w1: out of memory");
		return -1;
	}
	api->set_state(init, st);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (api->register_command(init, &commands[i]) == -1)
			return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "w1",
	.version = "1.0",
	.init = w1_init,
	.fini = w1_fini,
};
