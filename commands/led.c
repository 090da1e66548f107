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
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <picmd/plugin.h>

#include "sysfs.h"

/* A kernel attribute is one page; `trigger` is the exception (it grows
 * with every registered trigger), so reads grow up to this bound. */
#define ATTR_MAX	(256 * 1024)

static const struct picmd_api *api;

/* The plugin's state: "<sysfs>/class/leds", copied at init. */
struct led {
	char	*dir;
};

/* An attribute as a malloc'd string; NULL with errno set. */
static char *
read_attr(const char *path)
{
	return sysfs_read_alloc(path, ATTR_MAX, SYSFS_TRIM_SPACES);
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
	if (sysfs_path(buf, size, "%s/%s", st->dir, name) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return -1;
	}
	if (stat(buf, &sb) == -1) {
		if (errno == ENOENT)
			api->reply_error(ctx, PICMD_ERR_DEVICE, "no LED '%s' "
			    "in %s", name, st->dir);
		else
			sysfs_reply_errno(api, ctx, NULL, buf);
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

	if (sysfs_path(path, sizeof(path), "%s/%s", dir, attr) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return -1;
	}
	if ((text = read_attr(path)) == NULL) {
		sysfs_reply_errno(api, ctx, "read", path);
		return -1;
	}
	if (!(ok = sysfs_parse_long(text, 0, INT_MAX, out)))
		sysfs_reply_content(api, ctx, path, text);
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

	if (sysfs_path(path, size, "%s/trigger", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return NULL;
	}
	if ((text = read_attr(path)) == NULL)
		sysfs_reply_errno(api, ctx, "read", path);
	return text;
}

/* One list item, NAME:BRIGHTNESS:MAX:TRIGGER; -1 after replying. */
static int
list_one(picmd_ctx *ctx, const struct led *st, const char *name, bool first)
{
	char dir[PATH_MAX], path[PATH_MAX], *list, *active;
	long level, max;

	if (sysfs_path(dir, sizeof(dir), "%s/%s", st->dir, name) == -1) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s/%s: name too long",
		    st->dir, name);
		return -1;
	}
	if (read_level(ctx, dir, "brightness", &level) == -1 ||
	    read_level(ctx, dir, "max_brightness", &max) == -1)
		return -1;
	/* A kernel without LED triggers has no trigger file: show none. */
	if (sysfs_path(path, sizeof(path), "%s/trigger", dir) == 0 &&
	    access(path, F_OK) == -1 && errno == ENOENT) {
		api->reply_append(ctx, "%s%s:%ld:%ld:none", first ? "" : " ",
		    name, level, max);
		return 0;
	}
	if ((list = read_triggers(ctx, dir, path, sizeof(path))) == NULL)
		return -1;
	if ((active = trigger_active(list)) == NULL) {
		sysfs_reply_content(api, ctx, path, list);
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
	char **names = NULL;
	size_t n = 0;

	(void)argc;
	(void)argv;
	switch (sysfs_list_names(st->dir, NULL, &names, &n)) {
	case SYSFS_LIST_NODIR:
		sysfs_reply_errno(api, ctx, NULL, st->dir);
		return;
	case SYSFS_LIST_NOMEM:
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++)
		if (list_one(ctx, st, names[i], i == 0) == -1)
			break;
	sysfs_free_names(names, n);
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
	else if (!sysfs_parse_long(argv[1], 0, max, &level)) {
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
	if (sysfs_path(path, sizeof(path), "%s/trigger", dir) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "LED name too long");
		return;
	}
	if ((list = read_attr(path)) == NULL && errno != ENOENT) {
		sysfs_reply_errno(api, ctx, "read", path);
		return;
	}
	if (list != NULL) {
		active = trigger_active(list);
		if (active == NULL) {
			sysfs_reply_content(api, ctx, path, list);
			free(list);
			return;
		}
		if (strcmp(active, "none") != 0 &&
		    sysfs_write(path, "none\n") == -1) {
			sysfs_reply_errno(api, ctx, "write", path);
			free(list);
			return;
		}
		free(list);
	}

	snprintf(text, sizeof(text), "%ld\n", level);
	if (sysfs_path(path, sizeof(path), "%s/brightness", dir) == -1 ||
	    sysfs_write(path, text) == -1) {
		sysfs_reply_errno(api, ctx, "write", path);
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
			sysfs_reply_content(api, ctx, path, list);
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
	if (sysfs_write(path, text) == -1)
		sysfs_reply_errno(api, ctx, "write", path);
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
	sysfs_reject_keys(api, init);
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    asprintf(&st->dir, "%s/class/leds", api->sysfs_root(init)) == -1) {
		free(st);
		api->log(PICMD_LOG_ERROR, "led: out of memory");
		return -1;
	}
	api->set_state(init, st);
	return sysfs_register(api, init, commands, SYSFS_NELEM(commands));
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "led",
	.version = "1.0",
	.init = led_init,
	.fini = led_fini,
};
