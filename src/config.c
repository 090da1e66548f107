/*
 * Config parsing.  Core sections are described by one table of keys; every
 * other section is kept as key/value pairs for the plugin of that name.
 *
 * inih reports no line numbers to the handler in the form Debian builds it,
 * so the file is fed through our own reader, which counts lines and notes
 * section headers (also empty ones, so "[nosuchplugin]" can be reported).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "compat_pigpio.h"
#include "config.h"
#include "log.h"

enum key_type { K_INT, K_PATH, K_LISTEN, K_NAMES, K_LOGLEVEL, K_BOOL,
    K_PORTS, K_SECRET, K_SECRET_FILE, K_CIDRS, K_MODE, K_PROGRAM, K_PIGPIO };

/* Secrets shorter than this are refused: they could be guessed. */
#define MIN_TOKEN_LEN 8

struct core_key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	long		 min, max;
};

#define OFF(f) offsetof(struct config, f)

static const struct core_key core_keys[] = {
	{ "server", "listen", K_LISTEN, 0, 0, 0 },
	{ "server", "workers", K_INT, OFF(workers), 1, 1024 },
	{ "server", "queue", K_INT, OFF(queue), 1, 1000000 },
	{ "server", "max_line", K_INT, OFF(max_line), 64, 1048576 },
	{ "server", "command_timeout_ms", K_INT, OFF(command_timeout_ms), 1,
	    3600000 },
	{ "server", "max_clients", K_INT, OFF(max_clients), 1, 1000000 },
	{ "server", "idle_timeout_s", K_INT, OFF(idle_timeout_s), 0, 31536000 },
	{ "server", "max_inflight", K_INT, OFF(max_inflight), 1, 65536 },
	{ "server", "drain_timeout_s", K_INT, OFF(drain_timeout_s), 0, 3600 },
	{ "server", "max_output", K_INT, OFF(max_output), 4096, 1073741824 },
	{ "server", "max_events_queued", K_INT, OFF(max_events_queued), 1,
	    1048576 },
	{ "server", "unix_mode", K_MODE, OFF(unix_mode), 0, 0777 },
	{ "plugins", "dir", K_PATH, OFF(plugin_dir), 0, 0 },
	{ "plugins", "load", K_NAMES, 0, 0, 0 },
	{ "log", "level", K_LOGLEVEL, 0, 0, 0 },
	{ "system", "sysfs_root", K_PATH, OFF(sysfs_root), 0, 0 },
	{ "system", "procfs_root", K_PATH, OFF(procfs_root), 0, 0 },
	{ "callback", "enabled", K_BOOL, OFF(callback_enabled), 0, 0 },
	{ "callback", "ports", K_PORTS, 0, 0, 0 },
	{ "callback", "connect_timeout_ms", K_INT,
	    OFF(callback_connect_timeout_ms), 1, 600000 },
	{ "callback", "retry_ms", K_INT, OFF(callback_retry_ms), 0, 600000 },
	{ "callback", "max_pending", K_INT, OFF(callback_max_pending), 1,
	    100000 },
	{ "security", "token", K_SECRET, OFF(token), 0, 0 },
	{ "security", "token_file", K_SECRET_FILE, OFF(token), 0, 0 },
	{ "security", "admin_token", K_SECRET, OFF(admin_token), 0, 0 },
	{ "security", "admin_token_file", K_SECRET_FILE, OFF(admin_token), 0,
	    0 },
	{ "security", "auth_timeout_s", K_INT, OFF(auth_timeout_s), 1, 3600 },
	{ "security", "unix_trusted", K_BOOL, OFF(unix_trusted), 0, 0 },
	{ "security", "allow", K_CIDRS, 0, 0, 0 },
	{ "security", "max_clients_per_ip", K_INT, OFF(max_clients_per_ip), 0,
	    1000000 },
	/* min: which program; checked against the commands by failsafe.c */
	{ "failsafe", "on_lost", K_PROGRAM, 0, FAILSAFE_ON_LOST, 0 },
	{ "failsafe", "on_start", K_PROGRAM, 0, FAILSAFE_ON_START, 0 },
	{ "failsafe", "on_stop", K_PROGRAM, 0, FAILSAFE_ON_STOP, 0 },
	/* parsed by compat_pigpio_config.c */
	{ "pigpio", "listen", K_PIGPIO, 0, 0, 0 },
	{ "pigpio", "allow", K_PIGPIO, 0, 0, 0 },
	{ "pigpio", "pins", K_PIGPIO, 0, 0, 0 },
	{ "pigpio", "hwver", K_PIGPIO, 0, 0, 0 },
	{ "pigpio", "hardware_pwm", K_PIGPIO, 0, 0, 0 },
};
#define NCORE_KEYS (sizeof(core_keys) / sizeof(core_keys[0]))

static const char *const core_sections[] = { "server", "plugins", "log",
    "system", "callback", "security", "failsafe", "pigpio" };

struct parse_ctx {
	struct config		*cfg;
	FILE			*fp;
	int			 lineno;
	int			 errors;
	bool			 seen[NCORE_KEYS];
	int			 listen_line;	/* last "listen =" line */
	int			 pigpio_line;	/* [pigpio] listen's */
	config_report_fn	 report;
	void			*arg;
};

static void
report(struct parse_ctx *ctx, int line, const char *fmt, ...)
    PICMD_PRINTF(3, 4);

static void
report(struct parse_ctx *ctx, int line, const char *fmt, ...)
{
	char msg[512];
	char full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", ctx->cfg->path, line,
		    msg);
	else
		snprintf(full, sizeof(full), "%s: %s", ctx->cfg->path, msg);
	ctx->errors++;
	if (ctx->report != NULL)
		ctx->report(ctx->arg, full);
}

int
config_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

char *
config_resolve_path(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '/' || dir == NULL)
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) == -1)
		return NULL;
	return out;
}

static bool
is_core_section(const char *name)
{
	for (size_t i = 0; i < sizeof(core_sections) / sizeof(core_sections[0]);
	    i++)
		if (strcmp(name, core_sections[i]) == 0)
			return true;
	return false;
}

static struct config_section *
section_add(struct parse_ctx *ctx, const char *name)
{
	struct config *cfg = ctx->cfg;
	struct config_section *s;

	for (int i = 0; i < cfg->nsections; i++) {
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	}
	s = reallocarray(cfg->sections, (size_t)cfg->nsections + 1, sizeof(*s));
	if (s == NULL)
		return NULL;
	cfg->sections = s;
	s = &cfg->sections[cfg->nsections];
	memset(s, 0, sizeof(*s));
	if ((s->name = strdup(name)) == NULL)
		return NULL;
	s->line = ctx->lineno;
	cfg->nsections++;
	return s;
}

/*
 * Note "[name]" headers as they are read.  inih calls the handler only for
 * keys, so this is the one place an empty section becomes visible.
 */
static void
note_section_header(struct parse_ctx *ctx, const char *line)
{
	char name[128];
	const char *p = line, *end;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[' || (end = strchr(p, ']')) == NULL)
		return;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(name))
		return;
	memcpy(name, p, n);
	name[n] = '\0';
	if (!is_core_section(name) && section_add(ctx, name) == NULL)
		report(ctx, ctx->lineno, "out of memory");
}

static char *
reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	size_t n;

	if (fgets(str, num, ctx->fp) == NULL)
		return NULL;
	n = strlen(str);
	if (n > 0 && str[n - 1] == '\n') {
		ctx->lineno++;
		note_section_header(ctx, str);
		return str;
	}
	if (!feof(ctx->fp)) {
		/* inih would split it; refuse instead of misreading it. */
		int c;

		ctx->lineno++;
		report(ctx, ctx->lineno, "line too long (at most %d bytes)",
		    num - 3);
		while ((c = fgetc(ctx->fp)) != EOF && c != '\n')
			;
		str[0] = '\0';
		return str;
	}
	ctx->lineno++;
	note_section_header(ctx, str);
	return str;
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "1024-65535" or a single port "9000". */
static int
parse_port_range(const char *s, int *lo, int *hi)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno != 0 || end == s || a < 1 || a > 65535)
		return -1;
	if (*end == '\0') {
		*lo = *hi = (int)a;
		return 0;
	}
	if (*end != '-' || parse_long(end + 1, 1, 65535, &b) == -1 || b < a)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

static int
add_cidr(struct parse_ctx *ctx, const char *item)
{
	struct config *cfg = ctx->cfg;
	struct cidr c, *l;

	if (cidr_parse(item, &c) == -1) {
		report(ctx, ctx->lineno, "bad address '%s' in allow: expected "
		    "ADDRESS or ADDRESS/BITS (IPv4 or IPv6)", item);
		return -1;
	}
	if ((l = reallocarray(cfg->allow, (size_t)cfg->nallow + 1,
	    sizeof(*l))) == NULL)
		return -1;
	cfg->allow = l;
	cfg->allow[cfg->nallow++] = c;
	return 0;
}

/*
 * The first line of a secret file.  The file must not be readable or
 * writable by everybody: a world-readable secret is no secret.  It must
 * be a regular file: opening a FIFO, or reading a terminal or a pipe
 * (token_file = /dev/stdin), would block the start-up or a reload for
 * ever, so the open does not wait and anything else is refused.
 */
static char *
read_secret_file(struct parse_ctx *ctx, const char *key, const char *value)
{
	char *path, *line = NULL;
	size_t cap = 0;
	struct stat st;
	ssize_t n;
	FILE *fp;
	int fd;

	if ((path = config_resolve_path(ctx->cfg->dir, value)) == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1 || fstat(fd, &st) == -1 || (fp = fdopen(fd, "r")) == NULL) {
		report(ctx, ctx->lineno, "cannot read %s '%s': %s", key, path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		free(path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		report(ctx, ctx->lineno, "%s '%s' is not a regular file", key,
		    path);
		fclose(fp);
		free(path);
		return NULL;
	}
	if ((st.st_mode & 0007) != 0) {
		report(ctx, ctx->lineno, "%s '%s' is accessible by everybody "
		    "(mode %03o): run chmod o-rwx %s", key, path,
		    (unsigned)(st.st_mode & 0777), path);
		fclose(fp);
		free(path);
		return NULL;
	}
	n = getline(&line, &cap, fp);
	fclose(fp);
	free(path);
	if (n <= 0) {
		free(line);
		return strdup("");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static void
set_secret(struct parse_ctx *ctx, const struct core_key *k, char *secret)
{
	char **slot = (char **)(void *)((char *)ctx->cfg + k->offset);

	if (secret == NULL)
		return;
	if (*slot != NULL) {
		report(ctx, ctx->lineno, "%s: give the secret once, either "
		    "inline or as a file", k->name);
		explicit_bzero(secret, strlen(secret));
		free(secret);
		return;
	}
	if (strlen(secret) < MIN_TOKEN_LEN) {
		report(ctx, ctx->lineno, "%s is too short: use at least %d "
		    "characters", k->name, MIN_TOKEN_LEN);
		explicit_bzero(secret, strlen(secret));
		free(secret);
		return;
	}
	*slot = secret;
}

/* Split a list on spaces and commas, calling fn for each item. */
static int
split_list(const char *value, int (*fn)(struct parse_ctx *, const char *),
    struct parse_ctx *ctx)
{
	char *copy, *p, *item;
	int rc = 0;

	if ((copy = strdup(value)) == NULL)
		return -1;
	p = copy;
	while ((item = strsep(&p, " ,\t")) != NULL) {
		if (*item == '\0')
			continue;
		if (fn(ctx, item) == -1)
			rc = -1;
	}
	free(copy);
	return rc;
}

static int
add_listen(struct parse_ctx *ctx, const char *item)
{
	struct config *cfg = ctx->cfg;
	struct endpoint ep, *l;
	const char *why;

	if (endpoint_parse(item, &ep, &why) == -1) {
		report(ctx, ctx->lineno, "bad listen address '%s': %s", item,
		    why);
		return -1;
	}
	for (int i = 0; i < cfg->nlisten; i++) {
		if (strcmp(cfg->listen[i].text, ep.text) == 0) {
			report(ctx, ctx->lineno, "listen address '%s' given twice",
			    item);
			return -1;
		}
	}
	l = reallocarray(cfg->listen, (size_t)cfg->nlisten + 1, sizeof(*l));
	if (l == NULL)
		return -1;
	cfg->listen = l;
	cfg->listen[cfg->nlisten++] = ep;
	return 0;
}

static int
add_load(struct parse_ctx *ctx, const char *item)
{
	struct config *cfg = ctx->cfg;
	char **l;

	for (const char *p = item; *p != '\0'; p++) {
		if (*p == '/' || *p == '.') {
			report(ctx, ctx->lineno, "bad plugin name '%s': give the "
			    "name without directory or .so", item);
			return -1;
		}
	}
	l = reallocarray(cfg->load, (size_t)cfg->nload + 2, sizeof(*l));
	if (l == NULL)
		return -1;
	cfg->load = l;
	if ((l[cfg->nload] = strdup(item)) == NULL)
		return -1;
	l[++cfg->nload] = NULL;
	return 0;
}

static void
core_key_set(struct parse_ctx *ctx, const struct core_key *k, const char *value)
{
	struct config *cfg = ctx->cfg;
	char **slot;
	long v;

	switch (k->type) {
	case K_INT:
		if (parse_long(value, k->min, k->max, &v) == -1) {
			report(ctx, ctx->lineno, "bad value '%s' for %s in [%s]: "
			    "expected a whole number from %ld to %ld", value,
			    k->name, k->section, k->min, k->max);
			return;
		}
		*(int *)(void *)((char *)cfg + k->offset) = (int)v;
		break;
	case K_PATH:
		slot = (char **)(void *)((char *)cfg + k->offset);
		if (*value == '\0') {
			report(ctx, ctx->lineno, "empty path for %s in [%s]",
			    k->name, k->section);
			return;
		}
		free(*slot);
		if ((*slot = config_resolve_path(cfg->dir, value)) == NULL)
			report(ctx, ctx->lineno, "out of memory");
		break;
	case K_LISTEN:
		ctx->listen_line = ctx->lineno;
		split_list(value, add_listen, ctx);
		break;
	case K_NAMES:
		if (cfg->load == NULL) {
			/* Present but empty means: load nothing. */
			if ((cfg->load = calloc(1, sizeof(char *))) == NULL)
				return;
		}
		split_list(value, add_load, ctx);
		break;
	case K_PROGRAM:
		free(cfg->failsafe[k->min].text);
		if ((cfg->failsafe[k->min].text = strdup(value)) == NULL)
			report(ctx, ctx->lineno, "out of memory");
		cfg->failsafe[k->min].line = ctx->lineno;
		break;
	case K_BOOL:
		if (strcasecmp(value, "true") == 0 ||
		    strcasecmp(value, "yes") == 0 || strcmp(value, "1") == 0)
			*(bool *)(void *)((char *)cfg + k->offset) = true;
		else if (strcasecmp(value, "false") == 0 ||
		    strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0)
			*(bool *)(void *)((char *)cfg + k->offset) = false;
		else
			report(ctx, ctx->lineno, "bad value '%s' for %s in [%s]: "
			    "expected true or false", value, k->name,
			    k->section);
		break;
	case K_PORTS:
		if (parse_port_range(value, &cfg->callback_port_min,
		    &cfg->callback_port_max) == -1)
			report(ctx, ctx->lineno, "bad port range '%s' for %s in "
			    "[%s]: expected LOW-HIGH within 1-65535", value,
			    k->name, k->section);
		break;
	case K_SECRET:
		set_secret(ctx, k, strdup(value));
		break;
	case K_SECRET_FILE:
		set_secret(ctx, k, read_secret_file(ctx, k->name, value));
		break;
	case K_CIDRS:
		split_list(value, add_cidr, ctx);
		break;
	case K_MODE: {
		char *end;
		long mode;

		errno = 0;
		mode = strtol(value, &end, 8);
		if (errno != 0 || end == value || *end != '\0' || mode < 0 ||
		    mode > 0777)
			report(ctx, ctx->lineno, "bad mode '%s' for %s in [%s]: "
			    "expected octal such as 0660", value, k->name,
			    k->section);
		else
			*(int *)(void *)((char *)cfg + k->offset) = (int)mode;
		break;
	}
	case K_PIGPIO: {
		char msg[256];

		if (strcmp(k->name, "listen") == 0)
			ctx->pigpio_line = ctx->lineno;
		if (pigpio_config_set(&cfg->pigpio, k->name, value, msg,
		    sizeof(msg)) == -1)
			report(ctx, ctx->lineno, "%s", msg);
		break;
	}
	case K_LOGLEVEL:
		if (log_level_parse(value, &cfg->log_level) == -1)
			report(ctx, ctx->lineno, "bad log level '%s': expected "
			    "error, warn, info or debug", value);
		break;
	}
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	struct config_section *s;
	struct config_kv *kv;
	char trimmed[128];
	size_t n;

	/* inih keeps the blanks of "[ diag ]"; drop them, as
	 * note_section_header() does, so both agree on the name. */
	while (*section == ' ' || *section == '\t')
		section++;
	n = strlen(section);
	while (n > 0 && (section[n - 1] == ' ' || section[n - 1] == '\t'))
		n--;
	if (n >= sizeof(trimmed))
		n = sizeof(trimmed) - 1;
	memcpy(trimmed, section, n);
	trimmed[n] = '\0';
	section = trimmed;

	if (*section == '\0') {
		report(ctx, ctx->lineno, "key '%s' outside a section", name);
		return 1;
	}
	if (is_core_section(section)) {
		for (size_t i = 0; i < NCORE_KEYS; i++) {
			const struct core_key *k = &core_keys[i];

			if (strcmp(k->section, section) != 0 ||
			    strcmp(k->name, name) != 0)
				continue;
			if (ctx->seen[i] && k->type != K_LISTEN) {
				report(ctx, ctx->lineno, "duplicate key '%s' in "
				    "[%s]", name, section);
				return 1;
			}
			ctx->seen[i] = true;
			core_key_set(ctx, k, value);
			return 1;
		}
		report(ctx, ctx->lineno, "unknown key '%s' in [%s]", name,
		    section);
		return 1;
	}

	if ((s = section_add(ctx, section)) == NULL) {
		report(ctx, ctx->lineno, "out of memory");
		return 1;
	}
	for (int i = 0; i < s->nkv; i++) {
		if (strcmp(s->kv[i].key, name) == 0) {
			report(ctx, ctx->lineno, "duplicate key '%s' in [%s]",
			    name, section);
			return 1;
		}
	}
	kv = reallocarray(s->kv, (size_t)s->nkv + 1, sizeof(*kv));
	if (kv == NULL) {
		report(ctx, ctx->lineno, "out of memory");
		return 1;
	}
	s->kv = kv;
	kv = &s->kv[s->nkv];
	kv->key = strdup(name);
	kv->value = strdup(value);
	kv->line = ctx->lineno;
	s->nkv++;
	if (kv->key == NULL || kv->value == NULL)
		report(ctx, ctx->lineno, "out of memory");
	return 1;
}

static int
config_defaults(struct config *cfg, const char *path)
{
	char *tmp;

	cfg->workers = config_default_workers();
	cfg->queue = 1024;
	cfg->max_line = 4096;
	cfg->command_timeout_ms = 10000;
	cfg->max_clients = 1024;
	cfg->idle_timeout_s = 0;
	cfg->max_inflight = 64;
	cfg->drain_timeout_s = 5;
	cfg->log_level = PICMD_LOG_INFO;
	cfg->callback_enabled = true;
	cfg->callback_port_min = 1024;
	cfg->callback_port_max = 65535;
	cfg->callback_connect_timeout_ms = 2000;
	cfg->callback_retry_ms = 500;
	cfg->callback_max_pending = 64;
	cfg->max_output = 1024 * 1024;
	cfg->max_events_queued = 1024;
	cfg->unix_mode = 0660;
	cfg->auth_timeout_s = 10;
	cfg->unix_trusted = true;
	if ((cfg->path = strdup(path)) == NULL ||
	    (tmp = strdup(path)) == NULL)
		return -1;
	cfg->dir = strdup(dirname(tmp));
	free(tmp);
	cfg->plugin_dir = strdup(PICMD_PLUGIN_DIR);
	cfg->sysfs_root = strdup("/sys");
	cfg->procfs_root = strdup("/proc");
	if (cfg->dir == NULL || cfg->plugin_dir == NULL ||
	    cfg->sysfs_root == NULL || cfg->procfs_root == NULL)
		return -1;
	return 0;
}

int
config_load(const char *path, struct config **out, config_report_fn rep,
    void *arg)
{
	struct parse_ctx ctx;
	struct config *cfg;
	int rc;

	*out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.report = rep;
	ctx.arg = arg;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return -1;
	ctx.cfg = cfg;
	if (config_defaults(cfg, path) == -1) {
		config_free(cfg);
		return -1;
	}
	if ((ctx.fp = fopen(path, "r")) == NULL) {
		report(&ctx, 0, "cannot open: %s", strerror(errno));
		config_free(cfg);
		return -1;
	}
	rc = ini_parse_stream(reader, &ctx, handler, &ctx);
	fclose(ctx.fp);
	if (rc > 0)
		report(&ctx, rc, "syntax error: expected [section], "
		    "key = value or a comment");
	else if (rc < 0)
		report(&ctx, 0, "cannot parse (error %d)", rc);

	if (cfg->nlisten == 0 && ctx.errors == 0 && !ctx.seen[0])
		add_listen(&ctx, PICMD_DEFAULT_LISTEN);
	else if (cfg->nlisten == 0 && ctx.errors == 0)
		report(&ctx, ctx.listen_line, "[server] listen names no "
		    "address");

	/* Protected mode: hardware control must not be open to a network
	 * without a password. */
	if (ctx.errors == 0 && cfg->token == NULL) {
		for (int i = 0; i < cfg->nlisten; i++) {
			if (endpoint_is_loopback(&cfg->listen[i]))
				continue;
			report(&ctx, ctx.listen_line, "protected mode: %s is not "
			    "a loopback address and [security] has no token; "
			    "set token_file (or token) in [security], or listen "
			    "only on 127.0.0.1, [::1] or a unix: socket",
			    cfg->listen[i].text);
		}
	}

	if (ctx.errors == 0) {
		char msg[512];

		if (pigpio_config_check(cfg->pigpio, msg, sizeof(msg)) == -1)
			report(&ctx, ctx.pigpio_line, "%s", msg);
	}

	if (ctx.errors > 0) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < cfg->nsections; i++) {
		struct config_section *s = &cfg->sections[i];

		for (int j = 0; j < s->nkv; j++) {
			free(s->kv[j].key);
			free(s->kv[j].value);
		}
		free(s->kv);
		free(s->name);
	}
	free(cfg->sections);
	if (cfg->load != NULL)
		for (int i = 0; i < cfg->nload; i++)
			free(cfg->load[i]);
	free(cfg->load);
	free(cfg->listen);
	free(cfg->allow);
	pigpio_config_free(cfg->pigpio);
	if (cfg->token != NULL) {
		explicit_bzero(cfg->token, strlen(cfg->token));
		free(cfg->token);
	}
	if (cfg->admin_token != NULL) {
		explicit_bzero(cfg->admin_token, strlen(cfg->admin_token));
		free(cfg->admin_token);
	}
	for (int i = 0; i < FAILSAFE_NPROGRAMS; i++)
		free(cfg->failsafe[i].text);
	free(cfg->plugin_dir);
	free(cfg->sysfs_root);
	free(cfg->procfs_root);
	free(cfg->dir);
	free(cfg->path);
	free(cfg);
}

const struct config_section *
config_section_find(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	return NULL;
}
