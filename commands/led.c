/*
 * led: the kernel's LED class, <sysfs>/class/leds/NAME/{brightness,
 * max_brightness,trigger} (a Raspberry Pi has ACT and PWR).
 *
 *   led list                         NAME:BRIGHTNESS:MAX:TRIGGER ...
 *   led set <name> on|off|<0..max>   detaches the trigger, sets brightness
 *   led trigger <name> [<trigger>]   shows or sets the active trigger
 *   led triggers <name>              the triggers the kernel offers
 *
 * docs/DEVICES.md describes the replies and the files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <picmd/plugin.h>

/* A kernel attribute is one page; `trigger` is the exception (it grows
 * with every registered trigger), so reads grow up to this bound. */
#define ATTR_MAX	(256 * 1024)

static const struct picmd_api *api;

/* The plugin's state: "<sysfs>/class/leds", copied at init. */
struct led {
	char	*dir;
};

/* snprintf into a path buffer; -1 when it does not fit. */
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

/*
 * Read a sysfs attribute into a malloc'd string without its trailing
 * newline.  NULL with errno set on failure.  Read until EOF rather than
 * once: a real attribute arrives in one read, but that is not promised.
 */
static char *
read_attr(const char *path)
{
	size_t cap = 4096, len = 0;
	char *buf, *tmp;
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		if (len + 1 == cap) {
			if (cap >= ATTR_MAX) {
				errno = EFBIG;
				goto fail;
			}
			if ((tmp = realloc(buf, cap * 2)) == NULL)
				goto fail;
			buf = tmp;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return buf;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}

/* Write text to an attribute in one write(), as `echo text > path` does. */
static int
write_attr(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		return -1;
	do
		n = write(fd, text, len);
	while (n == -1 && errno == EINTR);
	if (n >= 0 && (size_t)n != len) {
		n = -1;
		errno = EIO;
	}
	e = errno;
	if (close(fd) == -1 && n >= 0)
		return -1;
	errno = e;
	return n < 0 ? -1 : 0;
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

static void
err_read(picmd_ctx *ctx, const char *path)
{
	api->reply_error(ctx, PICMD_ERR_DEVICE, "read %s: %s", path,
	    strerror(errno));
}

static void
err_write(picmd_ctx *ctx, const char *path)
{
	api->reply_error(ctx, PICMD_ERR_DEVICE, "write %s: %s", path,
	    strerror(errno));
}

static void
err_content(picmd_ctx *ctx, const char *path, const char *text)
{
	api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: unexpected content "
	    "'%.40s'", path, text);
}

/*
 * The directory of LED `name` into buf.  Names come from the client, so
 * one that could leave the class directory ('/', ".", "..", anything
 * hidden) is refused before it is used in a path.  0, or -1 after
 * replying.
 */
static int
led_path(picmd_ctx *ctx, const struct led *st, const char *name, char *buf,
    size_t size)
{
	struct stat sb;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad LED name '%s'",
		    name);
		return -1;
	}
	if (path_fmt(buf, size, "%s/%s", st->dir, name) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return -1;
	}
	if (stat(buf, &sb) == -1) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "no LED '%s' "
			    "in %s", name, st->dir);
		else
			api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s", buf,
			    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: not an LED "
		    "directory", buf);
		return -1;
	}
	return 0;
}

/* Read LED attribute `attr` as an integer in [0, INT_MAX]. */
static int
read_level(picmd_ctx *ctx, const char *dir, const char *attr, long *out)
{
	char path[PATH_MAX], *text;
	bool ok;

	if (path_fmt(path, sizeof(path), "%s/%s", dir, attr) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return -1;
	}
	if ((text = read_attr(path)) == NULL) {
		err_read(ctx, path);
		return -1;
	}
	if (!(ok = parse_long(text, 0, INT_MAX, out)))
		err_content(ctx, path, text);
	free(text);
	return ok ? 0 : -1;
}

/*
 * The kernel lists every trigger on one line with the active one in
 * brackets: "none timer [mmc0] heartbeat".  Return the active one (a
 * pointer into list, brackets cut off), or NULL when none is marked.
 */
static char *
trigger_active(char *list)
{
	char *open, *close;

	if ((open = strchr(list, '[')) == NULL ||
	    (close = strchr(open, ']')) == NULL || close == open + 1)
		return NULL;
	*close = '\0';
	return open + 1;
}

/* Whether `want` is one of the triggers in the kernel's list. */
static bool
trigger_listed(const char *list, const char *want)
{
	size_t len = strlen(want);
	const char *p = list;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, " ");
		n = strcspn(p, " ");
		/* The active trigger is the one in brackets. */
		if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
			if (n - 2 == len && strncmp(p + 1, want, len) == 0)
				return true;
		} else if (n == len && n > 0 && strncmp(p, want, len) == 0)
			return true;
		p += n;
	}
	return false;
}

/* Read dir/trigger; NULL after replying. */
static char *
read_triggers(picmd_ctx *ctx, const char *dir, char *path, size_t size)
{
	char *text;

	if (path_fmt(path, size, "%s/trigger", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return NULL;
	}
	if ((text = read_attr(path)) == NULL)
		err_read(ctx, path);
	return text;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One list item, NAME:BRIGHTNESS:MAX:TRIGGER; -1 after replying. */
static int
list_one(picmd_ctx *ctx, const struct led *st, const char *name, bool first)
{
	char dir[PATH_MAX], path[PATH_MAX], *list, *active;
	long level, max;

	if (path_fmt(dir, sizeof(dir), "%s/%s", st->dir, name) == -1) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s/%s: name too long",
		    st->dir, name);
		return -1;
	}
	if (read_level(ctx, dir, "brightness", &level) == -1 ||
	    read_level(ctx, dir, "max_brightness", &max) == -1)
		return -1;
	/* A kernel without LED triggers has no trigger file: show none. */
	if (path_fmt(path, sizeof(path), "%s/trigger", dir) == 0 &&
	    access(path, F_OK) == -1 && errno == ENOENT) {
		api->reply_append(ctx, "%s%s:%ld:%ld:none", first ? "" : " ",
		    name, level, max);
		return 0;
	}
	if ((list = read_triggers(ctx, dir, path, sizeof(path))) == NULL)
		return -1;
	if ((active = trigger_active(list)) == NULL) {
		err_content(ctx, path, list);
		free(list);
		return -1;
	}
	api->reply_append(ctx, "%s%s:%ld:%ld:%s", first ? "" : " ", name,
	    level, max, active);
	free(list);
	return 0;
}

static void
led_list(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct led *st = api->state(ctx);
	struct dirent *de;
	char **names = NULL, **tmp;
	size_t n = 0;
	DIR *dp;

	(void)argc;
	(void)argv;
	if ((dp = opendir(st->dir)) == NULL) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s", st->dir,
		    strerror(errno));
		return;
	}
	/* Entries are symlinks into /sys/devices, so d_type is no help. */
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((tmp = reallocarray(names, n + 1, sizeof(*names))) ==
		    NULL || (tmp[n] = strdup(de->d_name)) == NULL) {
			if (tmp != NULL)
				names = tmp;
			api->reply_error(ctx, PICMD_ERR_INTERNAL,
			    "out of memory");
			goto done;
		}
		names = tmp;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_name);
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++)
		if (list_one(ctx, st, names[i], i == 0) == -1)
			break;
done:
	closedir(dp);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
led_set(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct led *st = api->state(ctx);
	char dir[PATH_MAX], path[PATH_MAX], text[32], *list, *active;
	long max, level;

	(void)argc;
	if (led_path(ctx, st, argv[0], dir, sizeof(dir)) == -1 ||
	    read_level(ctx, dir, "max_brightness", &max) == -1)
		return;
	if (strcasecmp(argv[1], "on") == 0)
		level = max;
	else if (strcasecmp(argv[1], "off") == 0)
		level = 0;
	else if (!parse_long(argv[1], 0, max, &level)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "brightness must be on, "
		    "off or 0 to %ld", max);
		return;
	}

	/*
	 * A trigger would take the LED back (mmc0 at the next SD access,
	 * timer at the next tick), so detach it first, as the Pi's own
	 * instructions do with "echo none > trigger".  The kernel itself
	 * detaches on brightness 0.  No trigger file: nothing to detach.
	 */
	if (path_fmt(path, sizeof(path), "%s/trigger", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return;
	}
	if ((list = read_attr(path)) == NULL && errno != ENOENT) {
		err_read(ctx, path);
		return;
	}
	if (list != NULL) {
		active = trigger_active(list);
		if (active == NULL) {
			err_content(ctx, path, list);
			free(list);
			return;
		}
		if (strcmp(active, "none") != 0 &&
		    write_attr(path, "none\n") == -1) {
			err_write(ctx, path);
			free(list);
			return;
		}
		free(list);
	}

	snprintf(text, sizeof(text), "%ld\n", level);
	if (path_fmt(path, sizeof(path), "%s/brightness", dir) == -1 ||
	    write_attr(path, text) == -1) {
		err_write(ctx, path);
		return;
	}
	api->reply_ok(ctx, "%s", "");
}

static void
led_trigger(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct led *st = api->state(ctx);
	char dir[PATH_MAX], path[PATH_MAX], *list, *active, *text;

	if (led_path(ctx, st, argv[0], dir, sizeof(dir)) == -1 ||
	    (list = read_triggers(ctx, dir, path, sizeof(path))) == NULL)
		return;
	if (argc == 1) {
		if ((active = trigger_active(list)) == NULL)
			err_content(ctx, path, list);
		else
			api->reply_ok(ctx, "%s", active);
		free(list);
		return;
	}

	/* Only what the kernel offers; a typo then names the problem
	 * instead of coming back as EINVAL from the write. */
	if (!trigger_listed(list, argv[1])) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED %s has no trigger "
		    "'%s' (led triggers %s lists them)", argv[0], argv[1],
		    argv[0]);
		free(list);
		return;
	}
	free(list);
	if (asprintf(&text, "%s\n", argv[1]) == -1) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	if (write_attr(path, text) == -1)
		err_write(ctx, path);
	else
		api->reply_ok(ctx, "%s", "");
	free(text);
}

static void
led_triggers(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const struct led *st = api->state(ctx);
	char dir[PATH_MAX], path[PATH_MAX], *list, *p, *save;
	bool first = true;

	(void)argc;
	if (led_path(ctx, st, argv[0], dir, sizeof(dir)) == -1 ||
	    (list = read_triggers(ctx, dir, path, sizeof(path))) == NULL)
		return;
	/* The list as the kernel has it, without the brackets. */
	api->reply_ok(ctx, "%s", "");
	for (p = strtok_r(list, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		size_t n = strlen(p);

		if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
			p[n - 1] = '\0';
			p++;
		}
		api->reply_append(ctx, "%s%s", first ? "" : " ", p);
		first = false;
	}
	free(list);
}

static const struct picmd_command commands[] = {
	{ "led list", "led list", 0, 0, 0, led_list },
	{ "led set", "led set <name> on|off|<0..max_brightness>", 2, 2, 0,
	    led_set },
	{ "led trigger", "led trigger <name> [<trigger>]", 1, 2, 0,
	    led_trigger },
	{ "led triggers", "led triggers <name>", 1, 1, 0, led_triggers },
};

static void
led_fini(void *state)
{
	struct led *st = state;

	free(st->dir);
	free(st);
}

static int
led_init(const struct picmd_api *host, picmd_init *init)
{
	struct led *st;

	api = host;
	for (int i = 0; i < api->config_count(init); i++)
		api->config_error(init, api->config_key(init, i),
		    "unknown key '%s'", api->config_key(init, i));
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    asprintf(&st->dir, "%s/class/leds", api->sysfs_root(init)) == -1) {
		free(st);
		api->log(PICMD_LOG_ERROR, "led: out of memory");
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
	.name = "led",
	.version = "1.0",
	.init = led_init,
	.fini = led_fini,
};
