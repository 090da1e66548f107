/*
 * sys: system health from sysfs and procfs.
 *
 *   sys temp        CPU temperature, Celsius: 48.312 (thermal_zone0)
 *   sys uptime      whole seconds since boot: 3627
 *   sys load        the load averages: 0.15 0.10 0.05
 *   sys mem         total_kb=... available_kb=... free_kb=... swap_...
 *   sys info        model=... serial=... revision=... hostname=... kernel=...
 *   sys throttled   under_voltage=0 [and the firmware's throttling flags]
 *
 * Key=value replies quote a value as a POSIX shell would read it
 * (model="Raspberry Pi 4 Model B Rev 1.4"), so shlex.split() or the like
 * splits them.  docs/DEVICES.md describes the replies and the files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <picmd/plugin.h>

#include "sysfs.h"

#define MILLI_MIN	(-273150L)
#define MILLI_MAX	1000000L

static const struct picmd_api *api;

struct sys {
	char	*sysfs, *procfs;
	/* Read the firmware driver's get_throttled: every flag, but the
	 * kernel logs a "deprecated" WARN with a backtrace on the first
	 * read after boot (fatal under panic_on_warn), so only on request. */
	bool	 firmware_throttled;
};

/*
 * A small kernel file into buf; its length, or -1 with errno set.  A
 * device-tree string property ends in the NUL the kernel stores with it,
 * so that is cut off as well as the newline.
 */
static ssize_t
read_attr(const char *path, char *buf, size_t size)
{
	return sysfs_read(path, buf, size, SYSFS_TRIM_NULS);
}

/* Read root/rel into buf; -1 after replying. */
static int
read_file(picmd_ctx *ctx, const char *root, const char *rel, char *path,
    size_t pathsize, char *buf, size_t size)
{
	if (sysfs_path(path, pathsize, "%s/%s", root, rel) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return -1;
	}
	if (read_attr(path, buf, size) == -1) {
		sysfs_reply_errno(api, ctx, "read", path);
		return -1;
	}
	return 0;
}

static void
sys_temp(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct sys *st = api->state(ctx);
	char path[PATH_MAX], text[64];
	long milli;

	(void)argc;
	(void)argv;
	if (read_file(ctx, st->sysfs, "class/thermal/thermal_zone0/temp", path,
	    sizeof(path), text, sizeof(text)) == -1)
		return;
	if (!sysfs_parse_long(text, MILLI_MIN, MILLI_MAX, &milli)) {
		sysfs_reply_content(api, ctx, path, text);
		return;
	}
	sysfs_reply_milli(api, ctx, milli);
}

/* "12345.67": digits, a point, digits; the whole part into *whole. */
static bool
parse_decimal(const char *s, size_t len, unsigned long long *whole)
{
	size_t i = 0, dot;

	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	if (i == 0 || i > 18 || i == len || s[i] != '.')
		return false;
	dot = i++;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	if (i != len || i == dot + 1)
		return false;
	if (whole != NULL)
		*whole = strtoull(s, NULL, 10);
	return true;
}

static void
sys_uptime(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct sys *st = api->state(ctx);
	char path[PATH_MAX], text[128];
	unsigned long long secs;
	size_t n;

	(void)argc;
	(void)argv;
	/* "3627.41 14291.06": uptime, then the idle time of all CPUs. */
	if (read_file(ctx, st->procfs, "uptime", path, sizeof(path), text,
	    sizeof(text)) == -1)
		return;
	n = strcspn(text, " ");
	if (text[n] != ' ' || !parse_decimal(text, n, &secs) ||
	    !parse_decimal(text + n + 1, strlen(text + n + 1), NULL)) {
		sysfs_reply_content(api, ctx, path, text);
		return;
	}
	api->reply_ok(ctx, "%llu", secs);
}

static void
sys_load(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct sys *st = api->state(ctx);
	char path[PATH_MAX], text[128];
	size_t off = 0, n;

	(void)argc;
	(void)argv;
	/* "0.15 0.10 0.05 1/187 1234": three averages, then the number of
	 * runnable/all tasks and the last pid. */
	if (read_file(ctx, st->procfs, "loadavg", path, sizeof(path), text,
	    sizeof(text)) == -1)
		return;
	for (int i = 0; i < 3; i++) {
		n = strcspn(text + off, " ");
		if (text[off + n] != ' ' || !parse_decimal(text + off, n, NULL)) {
			sysfs_reply_content(api, ctx, path, text);
			return;
		}
		off += n + 1;
	}
	api->reply_ok(ctx, "%.*s", (int)(off - 1), text);
}

/*
 * Call fn(key, value, arg) for each "Key: value" line of a procfs file
 * such as meminfo or cpuinfo; the key and the value have their blanks cut
 * off.  Streams, because cpuinfo of a many-core machine is large.
 * 0, or -1 with errno set.
 */
static int
scan_keyed(const char *path, void (*fn)(const char *, const char *, void *),
    void *arg)
{
	char *line = NULL, *colon, *k, *v, *end;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	int e;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	errno = 0;
	while ((len = getline(&line, &cap, fp)) != -1) {
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		k = line;
		for (end = colon; end > k && isspace((unsigned char)end[-1]);)
			*--end = '\0';
		v = colon + 1;
		v += strspn(v, " \t");
		for (end = line + len; end > v &&
		    isspace((unsigned char)end[-1]);)
			*--end = '\0';
		fn(k, v, arg);
	}
	e = ferror(fp) ? errno : 0;
	free(line);
	fclose(fp);
	errno = e;
	return e != 0 ? -1 : 0;
}

static const char *const mem_keys[] = {
	"MemTotal", "MemAvailable", "MemFree", "SwapTotal", "SwapFree",
};
static const char *const mem_names[] = {
	"total_kb", "available_kb", "free_kb", "swap_total_kb", "swap_free_kb",
};
#define NMEM	(sizeof(mem_keys) / sizeof(mem_keys[0]))

struct mem {
	unsigned long long	 kb[NMEM];
	bool			 seen[NMEM];
	const char		*bad;		/* first key not "N kB" */
};

static void
mem_line(const char *key, const char *value, void *arg)
{
	struct mem *m = arg;
	unsigned long long v;
	char *end;

	for (size_t i = 0; i < NMEM; i++) {
		if (strcmp(key, mem_keys[i]) != 0)
			continue;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || errno != 0 ||
		    strcmp(end, " kB") != 0) {
			if (m->bad == NULL)
				m->bad = mem_keys[i];
			return;
		}
		m->kb[i] = v;
		m->seen[i] = true;
	}
}

static void
sys_mem(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct sys *st = api->state(ctx);
	struct mem m = { .bad = NULL };
	char path[PATH_MAX];

	(void)argc;
	(void)argv;
	if (sysfs_path(path, sizeof(path), "%s/meminfo", st->procfs) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return;
	}
	if (scan_keyed(path, mem_line, &m) == -1) {
		sysfs_reply_errno(api, ctx, "read", path);
		return;
	}
	if (m.bad != NULL) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: unexpected "
		    "content in the %s line", path, m.bad);
		return;
	}
	for (size_t i = 0; i < NMEM; i++) {
		if (!m.seen[i]) {
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: no %s line",
			    path, mem_keys[i]);
			return;
		}
	}
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < NMEM; i++)
		api->reply_append(ctx, "%s%s=%llu", i == 0 ? "" : " ",
		    mem_names[i], m.kb[i]);
}

/*
 * Append " key=value", quoting the value as a POSIX shell would need it:
 * in double quotes, with " and \ escaped, when it is empty or holds a
 * blank or a quote.  Control bytes become spaces (a reply is one line).
 */
static void
append_kv(picmd_ctx *ctx, bool *first, const char *key, const char *value)
{
	bool quote = value[0] == '\0';
	char *out, *o;

	for (const char *p = value; *p != '\0'; p++)
		if (*p == ' ' || *p == '"' || *p == '\\' || *p == '\'' ||
		    iscntrl((unsigned char)*p))
			quote = true;
	if (!quote) {
		api->reply_append(ctx, "%s%s=%s", *first ? "" : " ", key,
		    value);
		*first = false;
		return;
	}
	if ((o = out = malloc(strlen(value) * 2 + 1)) == NULL) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		*o++ = iscntrl((unsigned char)*p) ? ' ' : *p;
	}
	*o = '\0';
	api->reply_append(ctx, "%s%s=\"%s\"", *first ? "" : " ", key, out);
	*first = false;
	free(out);
}

/* What sys info takes from /proc/cpuinfo (the Pi kernel adds these). */
struct cpuinfo {
	char	model[256], serial[64], revision[32];
};

static void
cpuinfo_line(const char *key, const char *value, void *arg)
{
	struct cpuinfo *ci = arg;

	if (strcmp(key, "Model") == 0)
		snprintf(ci->model, sizeof(ci->model), "%s", value);
	else if (strcmp(key, "Serial") == 0)
		snprintf(ci->serial, sizeof(ci->serial), "%s", value);
	else if (strcmp(key, "Revision") == 0)
		snprintf(ci->revision, sizeof(ci->revision), "%s", value);
}

/*
 * A device-tree string property (NUL-terminated by the kernel) into buf;
 * buf stays empty when the property does not exist.  -1 after replying.
 */
static int
read_dt(picmd_ctx *ctx, const struct sys *st, const char *prop, char *buf,
    size_t size)
{
	char path[PATH_MAX];

	buf[0] = '\0';
	if (sysfs_path(path, sizeof(path), "%s/firmware/devicetree/base/%s",
	    st->sysfs, prop) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return -1;
	}
	if (read_attr(path, buf, size) == -1) {
		buf[0] = '\0';
		if (errno == ENOENT)
			return 0;
		sysfs_reply_errno(api, ctx, "read", path);
		return -1;
	}
	return 0;
}

/*
 * The revision code in the device tree (4 bytes, big-endian), where
 * cpuinfo has no Revision line: Debian's own arm64 kernel on a Pi adds
 * none.  buf stays empty when there is none either.
 */
static void
dt_revision(const struct sys *st, char *buf, size_t size)
{
	char path[PATH_MAX];
	unsigned char b[4];
	FILE *fp;

	if (sysfs_path(path, sizeof(path), "%s/firmware/devicetree/base/"
	    "system/linux,revision", st->sysfs) == -1 ||
	    (fp = fopen(path, "re")) == NULL)
		return;
	if (fread(b, 1, sizeof(b), fp) == sizeof(b))
		snprintf(buf, size, "%x", (unsigned)b[0] << 24 |
		    (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3]);
	fclose(fp);
}

static void
sys_info(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct sys *st = api->state(ctx);
	char path[PATH_MAX], model[256], serial[64], host[256], kernel[256];
	struct cpuinfo ci;
	bool first = true;

	(void)argc;
	(void)argv;
	memset(&ci, 0, sizeof(ci));
	if (read_dt(ctx, st, "model", model, sizeof(model)) == -1 ||
	    read_dt(ctx, st, "serial-number", serial, sizeof(serial)) == -1 ||
	    read_file(ctx, st->procfs, "sys/kernel/hostname", path,
	    sizeof(path), host, sizeof(host)) == -1 ||
	    read_file(ctx, st->procfs, "sys/kernel/osrelease", path,
	    sizeof(path), kernel, sizeof(kernel)) == -1)
		return;
	/* cpuinfo gives the revision, and model and serial when the
	 * device tree has none; a machine without it just says less. */
	if (sysfs_path(path, sizeof(path), "%s/cpuinfo", st->procfs) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return;
	}
	if (scan_keyed(path, cpuinfo_line, &ci) == -1 && errno != ENOENT) {
		sysfs_reply_errno(api, ctx, "read", path);
		return;
	}

	/* Model, serial and revision are left out where unknown (a PC). */
	api->reply_ok(ctx, "%s", "");
	if (model[0] == '\0')
		snprintf(model, sizeof(model), "%s", ci.model);
	if (serial[0] == '\0')
		snprintf(serial, sizeof(serial), "%s", ci.serial);
	if (model[0] != '\0')
		append_kv(ctx, &first, "model", model);
	if (serial[0] != '\0')
		append_kv(ctx, &first, "serial", serial);
	if (ci.revision[0] == '\0')
		dt_revision(st, ci.revision, sizeof(ci.revision));
	if (ci.revision[0] != '\0')
		append_kv(ctx, &first, "revision", ci.revision);
	append_kv(ctx, &first, "hostname", host);
	append_kv(ctx, &first, "kernel", kernel);
}

/*
 * The firmware's throttled word: bits 0-3 are now, bits 16-19 the same
 * conditions "since last read" (see docs/DEVICES.md).  0 when shown,
 * 1 when this kernel has no get_throttled, -1 after replying.
 */
static int
throttled_firmware(picmd_ctx *ctx, const struct sys *st)
{
	static const char *const names[] = {
		"under_voltage", "arm_freq_capped", "throttled",
		"soft_temp_limit",
	};
	char dir[PATH_MAX], path[PATH_MAX], text[64], *end;
	unsigned long v;
	struct dirent *de;
	DIR *dp;
	int found = 0, e;
	size_t len;

	/* The device's name differs by model (soc:firmware on a Pi 4); its
	 * driver's directory links to it under any name. */
	if (sysfs_path(dir, sizeof(dir), "%s/bus/platform/drivers/"
	    "raspberrypi-firmware", st->sysfs) == -1 ||
	    (dp = opendir(dir)) == NULL)
		return 1;
	while (!found && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || sysfs_path(path, sizeof(path),
		    "%s/%s/get_throttled", dir, de->d_name) == -1)
			continue;
		if (read_attr(path, text, sizeof(text)) == -1)
			found = errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		else
			found = 1;
	}
	e = errno;
	closedir(dp);
	if (found == 0)
		return 1;
	if (found == -1) {
		errno = e;
		sysfs_reply_errno(api, ctx, "read", path);
		return -1;
	}
	/* The kernel prints "%x\n" of a u32: 1 to 8 hex digits, no 0x. */
	len = strspn(text, "0123456789abcdefABCDEF");
	v = strtoul(text, &end, 16);
	if (len == 0 || len > 8 || text[len] != '\0' || *end != '\0') {
		sysfs_reply_content(api, ctx, path, text);
		return -1;
	}
	api->reply_ok(ctx, "%s", "");
	for (int i = 0; i < 4; i++)
		api->reply_append(ctx, "%s%s=%lu", i == 0 ? "" : " ", names[i],
		    v >> i & 1);
	for (int i = 0; i < 4; i++)
		api->reply_append(ctx, " %s_occurred=%lu", names[i],
		    v >> (16 + i) & 1);
	api->reply_append(ctx, " raw=0x%lx", v);
	return 0;
}

static void
sys_throttled(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct sys *st = api->state(ctx);
	char dir[PATH_MAX], path[PATH_MAX], text[64];
	struct dirent *de;
	bool found = false;
	long alarm;
	DIR *dp;

	(void)argc;
	(void)argv;
	if (st->firmware_throttled && throttled_firmware(ctx, st) <= 0)
		return;

	/* raspberrypi-hwmon: a hwmon device named rpi_volt whose
	 * in0_lcrit_alarm is the under-voltage flag. */
	if (sysfs_path(dir, sizeof(dir), "%s/class/hwmon", st->sysfs) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "path too long");
		return;
	}
	if ((dp = opendir(dir)) != NULL) {
		while (!found && (de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.' || sysfs_path(path,
			    sizeof(path), "%s/%s/name", dir, de->d_name) == -1)
				continue;
			found = read_attr(path, text, sizeof(text)) != -1 &&
			    strcmp(text, "rpi_volt") == 0 &&
			    sysfs_path(path, sizeof(path),
			    "%s/%s/in0_lcrit_alarm", dir, de->d_name) == 0;
		}
		closedir(dp);
	}
	if (!found) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "under-voltage and "
		    "throttling are not exposed by this kernel/firmware (no "
		    "rpi_volt device in %s)", dir);
		return;
	}
	if (read_attr(path, text, sizeof(text)) == -1) {
		sysfs_reply_errno(api, ctx, "read", path);
		return;
	}
	if (!sysfs_parse_long(text, 0, 1, &alarm)) {
		sysfs_reply_content(api, ctx, path, text);
		return;
	}
	api->reply_ok(ctx, "under_voltage=%ld", alarm);
}

static const struct picmd_command commands[] = {
	{ "sys temp", "sys temp", 0, 0, 0, sys_temp },
	{ "sys uptime", "sys uptime", 0, 0, 0, sys_uptime },
	{ "sys load", "sys load", 0, 0, 0, sys_load },
	{ "sys mem", "sys mem", 0, 0, 0, sys_mem },
	{ "sys info", "sys info", 0, 0, 0, sys_info },
	{ "sys throttled", "sys throttled", 0, 0, 0, sys_throttled },
};

static void
sys_fini(void *state)
{
	struct sys *st = state;

	free(st->sysfs);
	free(st->procfs);
	free(st);
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int
sys_init(const struct picmd_api *host, picmd_init *init)
{
	struct sys *st;

	api = host;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		api->log(PICMD_LOG_ERROR, "sys: out of memory");
		return -1;
	}
	api->set_state(init, st);
	st->sysfs = strdup(api->sysfs_root(init));
	st->procfs = strdup(api->procfs_root(init));
	if (st->sysfs == NULL || st->procfs == NULL) {
		api->log(PICMD_LOG_ERROR, "sys: out of memory");
		return -1;
	}
	for (int i = 0; i < api->config_count(init); i++) {
		const char *key = api->config_key(init, i);

		if (strcmp(key, "firmware_throttled") != 0)
			api->config_error(init, key, "unknown key '%s'", key);
		else if (!parse_bool(api->config_value(init, i),
		    &st->firmware_throttled))
			api->config_error(init, key, "firmware_throttled must "
			    "be yes or no");
	}
	return sysfs_register(api, init, commands, SYSFS_NELEM(commands));
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "sys",
	.version = "1.0",
	.init = sys_init,
	.fini = sys_fini,
};
