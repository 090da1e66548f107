#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plugin.h"
#include "request.h"
#include "topic.h"

/* What a plugin sees while it loads. */
struct picmd_init {
	struct plugin			*plugin;
	const struct config		*cfg;
	const struct config_section	*section;	/* may be NULL */
	struct plugins			*plugins;
	struct dispatch			*dispatch;
	config_report_fn		 report;
	void				*arg;
	int				 problems;
};

static void
init_report(picmd_init *in, int line, const char *fmt, ...) PICMD_PRINTF(3, 4);

static void
init_report(picmd_init *in, int line, const char *fmt, ...)
{
	char msg[512], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: [%s] %s", in->cfg->path,
		    line, in->plugin->name, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", in->plugin->path, msg);
	in->problems++;
	if (in->report != NULL)
		in->report(in->arg, full);
}

static int
api_register_command(picmd_init *in, const struct picmd_command *cmd)
{
	char why[256];

	if (cmd == NULL || cmd->handler == NULL) {
		init_report(in, 0, "register_command: no handler");
		return -1;
	}
	if (dispatch_add(in->dispatch, cmd->name, cmd->usage, cmd->min_args,
	    cmd->max_args, cmd->flags, cmd->handler, NULL, in->plugin, why,
	    sizeof(why)) == -1) {
		init_report(in, 0, "%s", why);
		return -1;
	}
	return 0;
}

static void
api_set_state(picmd_init *in, void *state)
{
	in->plugin->state = state;
}

static int
api_config_count(picmd_init *in)
{
	return in->section != NULL ? in->section->nkv : 0;
}

static const char *
api_config_key(picmd_init *in, int i)
{
	if (in->section == NULL || i < 0 || i >= in->section->nkv)
		return NULL;
	return in->section->kv[i].key;
}

static const char *
api_config_value(picmd_init *in, int i)
{
	if (in->section == NULL || i < 0 || i >= in->section->nkv)
		return NULL;
	return in->section->kv[i].value;
}

static const struct config_kv *
section_kv(picmd_init *in, const char *key)
{
	if (in->section == NULL || key == NULL)
		return NULL;
	for (int i = 0; i < in->section->nkv; i++)
		if (strcmp(in->section->kv[i].key, key) == 0)
			return &in->section->kv[i];
	return NULL;
}

static const char *
api_config_get(picmd_init *in, const char *key)
{
	const struct config_kv *kv = section_kv(in, key);

	return kv != NULL ? kv->value : NULL;
}

static void
api_config_error(picmd_init *in, const char *key, const char *fmt, ...)
{
	const struct config_kv *kv = section_kv(in, key);
	char msg[512];
	va_list ap;
	int line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = kv != NULL ? kv->line : in->section != NULL ?
	    in->section->line : 0;
	if (line == 0) {
		/* No section in the file: name the config, not the .so. */
		char full[1024];

		snprintf(full, sizeof(full), "%s: [%s] %s", in->cfg->path,
		    in->plugin->name, msg);
		in->problems++;
		if (in->report != NULL)
			in->report(in->arg, full);
		return;
	}
	init_report(in, line, "%s", msg);
}

static const char *
api_sysfs_root(picmd_init *in)
{
	return in->plugins->sysfs_root;
}

static const char *
api_procfs_root(picmd_init *in)
{
	return in->plugins->procfs_root;
}

static int
api_command_name(const char *name, char *out, size_t size)
{
	int nwords;

	return dispatch_normalise(name, out, size, &nwords);
}

static picmd_host *
api_host(picmd_init *in)
{
	return &in->plugins->host;
}

static int
api_publish(picmd_host *host, const char *topic, const char *fmt, ...)
{
	struct events *bus = atomic_load(&host->bus);
	char payload[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(payload, sizeof(payload), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(payload))
		n = sizeof(payload) - 1;	/* an event is one short line */
	/* A line break would forge a second line: the payload is one. */
	for (int i = 0; i < n; i++)
		if (payload[i] == '\n' || payload[i] == '\r')
			payload[i] = ' ';
	if (bus == NULL) {
		if (topic_check(topic, false) == NULL)
			return 0;
		errno = EINVAL;
		return -1;
	}
	return events_publish(bus, topic, payload, (size_t)n);
}

static int
api_register_topic(picmd_init *in, const char *prefix,
    int (*normalise)(void *state, const char *word, char *out, size_t size))
{
	struct plugins *ps = in->plugins;
	struct topic_alias *a;

	if (normalise == NULL || prefix == NULL ||
	    topic_check(prefix, false) != NULL) {
		init_report(in, 0, "register_topic: bad prefix '%s'",
		    prefix != NULL ? prefix : "(null)");
		return -1;
	}
	for (int i = 0; i < ps->naliases; i++)
		if (strcmp(ps->aliases[i].prefix, prefix) == 0) {
			init_report(in, 0, "register_topic: '%s' is taken by "
			    "plugin %s", prefix, ps->aliases[i].plugin->name);
			return -1;
		}
	a = realloc(ps->aliases, (size_t)(ps->naliases + 1) * sizeof(*a));
	if (a == NULL)
		return -1;
	ps->aliases = a;
	a = &ps->aliases[ps->naliases];
	if ((a->prefix = strdup(prefix)) == NULL)
		return -1;
	a->normalise = normalise;
	a->plugin = in->plugin;
	ps->naliases++;
	return 0;
}

/* A failed plugin's aliases go with it. */
static void
aliases_drop_plugin(struct plugins *ps, const struct plugin *p)
{
	int j = 0;

	for (int i = 0; i < ps->naliases; i++) {
		if (ps->aliases[i].plugin == p)
			free(ps->aliases[i].prefix);
		else
			ps->aliases[j++] = ps->aliases[i];
	}
	ps->naliases = j;
	j = 0;
	for (int i = 0; i < ps->nlease_watchers; i++)
		if (ps->lease_watchers[i].plugin != p)
			ps->lease_watchers[j++] = ps->lease_watchers[i];
	ps->nlease_watchers = j;
}

void
plugins_set_bus(struct plugins *ps, struct events *bus,
    bool (*subscribed)(void *arg, const char *topic), void *arg)
{
	/* The function first: a plugin thread sees it once it sees bus. */
	ps->host.subscribed = subscribed;
	ps->host.subscribed_arg = arg;
	atomic_store(&ps->host.bus, bus);
}

static int
api_subscribed(picmd_host *host, const char *topic)
{
	if (atomic_load(&host->bus) == NULL)
		return 0;
	return host->subscribed(host->subscribed_arg, topic) ? 1 : 0;
}

void
plugins_set_watches(struct plugins *ps, struct fdwatch_set *set)
{
	atomic_store(&ps->host.watches, set);
}

static picmd_watch *
api_watch_fd(picmd_host *host, int fd, void (*cb)(int fd, void *arg),
    void *arg)
{
	struct fdwatch_set *set = atomic_load(&host->watches);

	if (set == NULL) {
		errno = ENOTSUP;	/* picmdd -t, or still in init */
		return NULL;
	}
	return (picmd_watch *)fdwatch_add(set, fd, cb, arg);
}

static void
api_unwatch_fd(picmd_watch *w)
{
	fdwatch_remove((struct fdwatch *)w);
}

int
plugins_normalise_topic(const struct plugins *ps, const char *pattern,
    char *out, size_t size, char *why, size_t whysize)
{
	const char *dot = strrchr(pattern, '.');
	char word[TOPIC_MAX + 1];

	if (snprintf(out, size, "%s", pattern) >= (int)size)
		return -1;
	if (dot == NULL || strcmp(dot + 1, "*") == 0)
		return 0;
	for (int i = 0; i < ps->naliases; i++) {
		const struct topic_alias *a = &ps->aliases[i];
		size_t plen = strlen(a->prefix);

		if ((size_t)(dot - pattern) != plen ||
		    strncmp(pattern, a->prefix, plen) != 0)
			continue;
		if (a->normalise(a->plugin->state, dot + 1, word,
		    sizeof(word)) == -1) {
			snprintf(why, whysize, "no %s named '%s'", a->prefix,
			    dot + 1);
			return -1;
		}
		if (snprintf(out, size, "%s.%s", a->prefix, word) >= (int)size ||
		    topic_check(out, false) != NULL) {
			snprintf(why, whysize, "plugin %s: bad topic for '%s'",
			    a->plugin->name, pattern);
			return -1;
		}
		return 0;
	}
	return 0;
}

static uint64_t
ctx_lease(picmd_ctx *ctx)
{
	return ctx->lease;
}

static int
api_on_lease_lost(picmd_init *in, void (*cb)(void *state, uint64_t lease))
{
	struct plugins *ps = in->plugins;
	struct lease_watcher *w;

	if (cb == NULL)
		return -1;
	w = realloc(ps->lease_watchers,
	    (size_t)(ps->nlease_watchers + 1) * sizeof(*w));
	if (w == NULL)
		return -1;
	ps->lease_watchers = w;
	w[ps->nlease_watchers].cb = cb;
	w[ps->nlease_watchers].plugin = in->plugin;
	ps->nlease_watchers++;
	return 0;
}

void
plugins_lease_lost(const struct plugins *ps, uint64_t lease)
{
	for (int i = 0; i < ps->nlease_watchers; i++)
		ps->lease_watchers[i].cb(ps->lease_watchers[i].plugin->state,
		    lease);
}

bool
plugins_watch_leases(const struct plugins *ps)
{
	return ps->nlease_watchers > 0;
}

static int
ctx_is_admin(picmd_ctx *ctx)
{
	return ctx->admin ? 1 : 0;
}

static const struct picmd_api host_api = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_api),
	.register_command = api_register_command,
	.set_state = api_set_state,
	.config_count = api_config_count,
	.config_key = api_config_key,
	.config_value = api_config_value,
	.config_get = api_config_get,
	.config_error = api_config_error,
	.sysfs_root = api_sysfs_root,
	.procfs_root = api_procfs_root,
	.state = ctx_state,
	.reply_ok = ctx_reply_ok,
	.reply_append = ctx_reply_append,
	.reply_error = ctx_reply_error,
	.remaining_ms = ctx_remaining_ms,
	.log = log_msg,
	.command_name = api_command_name,
	.host = api_host,
	.publish = api_publish,
	.register_topic = api_register_topic,
	.watch_fd = api_watch_fd,
	.unwatch_fd = api_unwatch_fd,
	.lease = ctx_lease,
	.on_lease_lost = api_on_lease_lost,
	.subscribed = api_subscribed,
	.is_admin = ctx_is_admin,
};

static int check_trusted(const char *path, bool is_dir, char *why,
    size_t whysize);

static void
plugin_free(struct plugin *p)
{
	if (p->desc != NULL && p->desc->fini != NULL && p->state != NULL)
		p->desc->fini(p->state);
	if (p->dl != NULL)
		dlclose(p->dl);
	free(p->name);
	free(p->path);
	free(p);
}

/* Load one plugin; on failure everything it did is undone. */
static int
plugin_load(struct plugins *ps, const char *name, const struct config *cfg,
    struct dispatch *d, config_report_fn report, void *arg)
{
	picmd_init in;
	struct plugin *p;
	const char *err;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return 1;
	memset(&in, 0, sizeof(in));
	in.plugin = p;
	in.cfg = cfg;
	in.plugins = ps;
	in.dispatch = d;
	in.report = report;
	in.arg = arg;
	in.section = config_section_find(cfg, name);
	p->name = strdup(name);
	if (p->name == NULL || asprintf(&p->path, "%s/%s.so", cfg->plugin_dir,
	    name) == -1) {
		p->path = NULL;
		free(p->name);
		free(p);
		return 1;
	}

	{
		char why[1024];

		if (check_trusted(p->path, false, why, sizeof(why)) == -1) {
			/* why names the file already. */
			in.problems++;
			if (report != NULL)
				report(arg, why);
			goto fail;
		}
	}
	if ((p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		init_report(&in, 0, "cannot load plugin: %s",
		    err != NULL ? err : "unknown error");
		goto fail;
	}
	p->desc = dlsym(p->dl, PICMD_PLUGIN_SYMBOL);
	if (p->desc == NULL) {
		init_report(&in, 0, "not a picmd plugin: no '%s' symbol",
		    PICMD_PLUGIN_SYMBOL);
		goto fail;
	}
	if (p->desc->abi_version != PICMD_ABI_VERSION) {
		init_report(&in, 0, "plugin ABI version %u, but this picmdd "
		    "speaks version %u: rebuild the plugin",
		    p->desc->abi_version, PICMD_ABI_VERSION);
		p->desc = NULL;
		goto fail;
	}
	if (p->desc->size < sizeof(struct picmd_plugin) ||
	    p->desc->name == NULL || p->desc->init == NULL) {
		init_report(&in, 0, "malformed plugin descriptor");
		p->desc = NULL;
		goto fail;
	}
	if (strcmp(p->desc->name, name) != 0) {
		init_report(&in, 0, "plugin calls itself '%s'; its file must "
		    "be named %s.so", p->desc->name, p->desc->name);
		p->desc = NULL;
		goto fail;
	}
	if (p->desc->init(&host_api, &in) != 0 || in.problems > 0) {
		if (in.problems == 0)
			init_report(&in, 0, "plugin failed to initialise");
		goto fail;
	}
	p->next = ps->head;
	ps->head = p;
	ps->count++;
	log_debug("loaded plugin %s from %s", p->name, p->path);
	return 0;

fail:
	dispatch_remove_owner(d, p);
	aliases_drop_plugin(ps, p);
	plugin_free(p);
	return in.problems > 0 ? in.problems : 1;
}

/*
 * Code loaded into the daemon runs with its privileges, so (as OpenSSH's
 * StrictModes does for keys) refuse a plugin that someone other than root
 * or the daemon's own user could have replaced.
 */
static int
check_trusted(const char *path, bool is_dir, char *why, size_t whysize)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(why, whysize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whysize, "%s %s is writable by group or others; "
		    "refusing to load plugins from it (chmod go-w %s)",
		    is_dir ? "plugin directory" : "plugin", path, path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whysize, "%s %s is owned by uid %u, neither root "
		    "nor this daemon's user; refusing it",
		    is_dir ? "plugin directory" : "plugin", path,
		    (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of every *.so in dir, sorted so the load order is stable. */
static char **
scan_dir(const char *dir, int *count, config_report_fn report, void *arg)
{
	struct dirent *de;
	char **names = NULL, **tmp;
	int n = 0;
	DIR *dp;

	*count = 0;
	if ((dp = opendir(dir)) == NULL) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: cannot open plugin directory: "
		    "%m", dir);
		report(arg, msg);
		*count = -1;
		return NULL;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len <= 3 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		if ((tmp = reallocarray(names, (size_t)n + 1,
		    sizeof(*names))) == NULL)
			break;
		names = tmp;
		if ((names[n] = strndup(de->d_name, len - 3)) == NULL)
			break;
		n++;
	}
	closedir(dp);
	if (n > 0)
		qsort(names, (size_t)n, sizeof(*names), cmp_str);
	*count = n;
	return names;
}

int
plugins_check_sections(const struct plugins *ps, const struct config *cfg,
    config_report_fn report, void *arg)
{
	int problems = 0;

	for (int i = 0; i < cfg->nsections; i++) {
		const struct plugin *p;
		char msg[1024];
		bool listed = false;

		/* A plugin named in load that failed has been reported
		 * already; its section is not a second problem. */
		for (int j = 0; cfg->load != NULL && j < cfg->nload; j++)
			if (strcmp(cfg->load[j], cfg->sections[i].name) == 0)
				listed = true;
		if (listed && ps->count < cfg->nload)
			continue;

		for (p = ps->head; p != NULL; p = p->next)
			if (strcmp(p->name, cfg->sections[i].name) == 0)
				break;
		if (p != NULL)
			continue;
		snprintf(msg, sizeof(msg), "%s:%d: section [%s] is for a "
		    "plugin named '%s', which is not loaded", cfg->path,
		    cfg->sections[i].line, cfg->sections[i].name,
		    cfg->sections[i].name);
		problems++;
		report(arg, msg);
	}
	return problems;
}

int
plugins_load(const struct config *cfg, struct dispatch *d,
    struct plugins **out, config_report_fn report, void *arg)
{
	struct plugins *ps;
	char **names;
	int n, problems = 0;
	bool scanned = false;

	if ((*out = ps = calloc(1, sizeof(*ps))) == NULL)
		return 1;
	ps->sysfs_root = strdup(cfg->sysfs_root);
	ps->procfs_root = strdup(cfg->procfs_root);
	if (ps->sysfs_root == NULL || ps->procfs_root == NULL)
		return 1;

	{
		char why[1024];

		if (check_trusted(cfg->plugin_dir, true, why, sizeof(why)) == -1) {
			if (report != NULL)
				report(arg, why);
			return 1 + plugins_check_sections(ps, cfg, report, arg);
		}
	}
	if (cfg->load != NULL) {
		names = cfg->load;
		n = cfg->nload;
	} else {
		names = scan_dir(cfg->plugin_dir, &n, report, arg);
		if (n < 0) {
			problems++;
			n = 0;
		}
		scanned = true;
	}
	for (int i = 0; i < n; i++)
		problems += plugin_load(ps, names[i], cfg, d, report, arg);
	if (scanned) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	problems += plugins_check_sections(ps, cfg, report, arg);
	return problems;
}

void
plugins_unload(struct plugins *ps)
{
	struct plugin *p, *next;

	if (ps == NULL)
		return;
	for (p = ps->head; p != NULL; p = next) {
		next = p->next;
		plugin_free(p);
	}
	for (int i = 0; i < ps->naliases; i++)
		free(ps->aliases[i].prefix);
	free(ps->aliases);
	free(ps->lease_watchers);
	free(ps->sysfs_root);
	free(ps->procfs_root);
	free(ps);
}
