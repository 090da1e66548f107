#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dispatch.h"
#include "harness.h"
#include "plugin.h"
#include "proto.h"
#include "request.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the build's commands/ directory"
#endif
#ifndef TEST_FIXTURES
#error "TEST_FIXTURES must name tests/fixtures"
#endif

struct harness {
	struct config	*cfg;
	struct dispatch	*dispatch;
	struct plugins	*plugins;
	char		*dir;
	bool		 user;		/* harness_set_admin(h, 0) */
};

static struct strbuf last_errors;
static int last_errors_ready;

static void
collect(void *arg, const char *msg)
{
	(void)arg;
	strbuf_adds(&last_errors, msg);
	strbuf_addc(&last_errors, '\n');
}

const char *
harness_last_errors(void)
{
	if (!last_errors_ready) {
		strbuf_init(&last_errors);
		last_errors_ready = 1;
	}
	return last_errors.data;
}

struct harness *
harness_load(const char *name, const char *section, const char *system)
{
	struct harness *h;
	char *path;
	FILE *fp;
	int problems;

	harness_last_errors();
	strbuf_reset(&last_errors);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->dir = fixture_tmpdir();
	if (asprintf(&path, "%s/picmd.ini", h->dir) == -1)
		abort();
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fprintf(fp, "[plugins]\ndir = %s\nload = %s\n", TEST_PLUGIN_DIR, name);
	if (system != NULL)
		fprintf(fp, "[system]\n%s\n", system);
	if (section != NULL)
		fprintf(fp, "[%s]\n%s\n", name, section);
	fclose(fp);

	if (config_load(path, &h->cfg, collect, NULL) == -1) {
		free(path);
		harness_free(h);
		return NULL;
	}
	free(path);
	h->dispatch = dispatch_new();
	problems = plugins_load(h->cfg, h->dispatch, &h->plugins, collect, NULL);
	if (problems > 0) {
		harness_free(h);
		return NULL;
	}
	return h;
}

struct harness *
harness_load_fixture(const char *name, const char *section, const char *root)
{
	struct harness *h;
	char *sys;

	if (asprintf(&sys, "sysfs_root = %s/sysfs\nprocfs_root = %s/procfs",
	    root, root) == -1)
		abort();
	h = harness_load(name, section, sys);
	free(sys);
	return h;
}

char *
harness_run(struct harness *h, const char *line)
{
	struct proto_request pr;
	const struct command *cmd;
	struct request *r;
	struct strbuf sb;
	char *words, *out, msg[256];
	struct timespec now;
	int nargs;

	strbuf_init(&sb);
	if ((words = malloc(strlen(line) + 1)) == NULL)
		abort();
	switch (proto_parse(line, strlen(line), words, &pr)) {
	case PROTO_BLANK:
		free(words);
		return strdup("");
	case PROTO_ERROR:
		proto_format_reply(&sb, pr.tag, REPLY_PROTO, pr.error,
		    strlen(pr.error));
		goto done;
	case PROTO_REQUEST:
		break;
	}
	if ((cmd = dispatch_lookup(h->dispatch, pr.argc, pr.argv)) == NULL) {
		proto_format_reply(&sb, pr.tag, REPLY_UNKNOWN, "unknown", 7);
		goto done;
	}
	nargs = pr.argc - cmd->nwords;
	if (!dispatch_args_ok(cmd, nargs)) {
		snprintf(msg, sizeof(msg), "usage: %s", cmd->usage);
		proto_format_reply(&sb, pr.tag, PICMD_ERR_ARGS, msg, strlen(msg));
		goto done;
	}
	/* The connection's check (conn.c), without its advice on tokens. */
	if ((cmd->flags & PICMD_CMD_ADMIN) && h->user) {
		snprintf(msg, sizeof(msg), "admin command");
		proto_format_reply(&sb, pr.tag, PICMD_ERR_DENIED, msg,
		    strlen(msg));
		goto done;
	}
	if ((r = request_new(pr.tag, nargs, pr.argv + cmd->nwords)) == NULL)
		abort();
	r->cmd = cmd;
	r->ctx.state = cmd->owner->state;
	r->ctx.admin = !h->user;
	clock_gettime(CLOCK_MONOTONIC, &now);
	timespec_after_ms(&r->ctx.deadline, &now, 10000);
	r->job.run(&r->job);
	strbuf_add(&sb, r->out.data, r->out.len);
	request_free(r);
	request_cache_trim(true);	/* a test thread keeps nothing */
done:
	free(words);
	if (sb.len > 0 && sb.data[sb.len - 1] == '\n')
		sb.data[--sb.len] = '\0';
	out = strdup(sb.data);
	strbuf_free(&sb);
	return out;
}

void
harness_set_admin(struct harness *h, int admin)
{
	h->user = !admin;
}

void
harness_free(struct harness *h)
{
	if (h == NULL)
		return;
	plugins_unload(h->plugins);
	dispatch_free(h->dispatch);
	config_free(h->cfg);
	fixture_rm(h->dir);
	free(h);
}

static int
mkdirs(const char *path)
{
	char *copy = strdup(path), *p;

	if (copy == NULL)
		return -1;
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return 0;
}

int
fixture_write(const char *dir, const char *relpath, const char *content)
{
	char *path;
	FILE *fp;
	int rc = 0;

	if (asprintf(&path, "%s/%s", dir, relpath) == -1)
		return -1;
	if (mkdirs(path) == -1 || (fp = fopen(path, "w")) == NULL) {
		free(path);
		return -1;
	}
	if (fputs(content, fp) == EOF)
		rc = -1;
	if (fclose(fp) == EOF)
		rc = -1;
	free(path);
	return rc;
}

char *
fixture_read(const char *dir, const char *relpath)
{
	char *path, *buf = NULL;
	size_t len = 0;
	FILE *fp;

	if (asprintf(&path, "%s/%s", dir, relpath) == -1)
		return NULL;
	fp = fopen(path, "r");
	free(path);
	if (fp == NULL)
		return NULL;
	if (getdelim(&buf, &len, '\0', fp) == -1) {
		free(buf);
		buf = strdup("");
	}
	fclose(fp);
	return buf;
}

/* $TMPDIR as mktemp(1) reads it, /tmp without it. */
static const char *
tmp_base(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && t[0] == '/' ? t : "/tmp";
}

char *
fixture_tmpdir(void)
{
	char *dir;

	if (asprintf(&dir, "%s/picmd-test-XXXXXX", tmp_base()) == -1 ||
	    mkdtemp(dir) == NULL)
		abort();
	return dir;
}

void
fixture_rm(char *dir)
{
	char *cmd;

	if (dir == NULL)
		return;
	/* Test fixtures only: a directory this harness created. */
	if (strncmp(dir, tmp_base(), strlen(tmp_base())) == 0 &&
	    strncmp(dir + strlen(tmp_base()), "/picmd-test-", 12) == 0 &&
	    strchr(dir, '\'') == NULL &&
	    asprintf(&cmd, "rm -rf '%s'", dir) != -1) {
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		free(cmd);
	}
	free(dir);
}

char *
fixture_copy(const char *name, ...)
{
	char *dir = fixture_tmpdir();
	struct strbuf cmd;
	va_list ap;
	int rc;

	/* cp -a: the trees hold symlinks, as sysfs does, and must keep them. */
	strbuf_init(&cmd);
	strbuf_adds(&cmd, "cp -a");
	va_start(ap, name);
	for (const char *n = name; n != NULL; n = va_arg(ap, const char *))
		strbuf_addf(&cmd, " '%s/%s'", TEST_FIXTURES, n);
	va_end(ap);
	strbuf_addf(&cmd, " '%s/'", dir);
	if (cmd.failed)
		abort();
	rc = system(strbuf_str(&cmd));
	strbuf_free(&cmd);
	if (rc != 0) {
		fixture_rm(dir);
		return NULL;
	}
	return dir;
}

char *
fixture_subst(const char *fmt, const char *dir)
{
	struct strbuf sb;
	char *out;

	strbuf_init(&sb);
	for (const char *p = fmt; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'T') {
			strbuf_adds(&sb, dir);
			p++;
		} else
			strbuf_addc(&sb, *p);
	}
	if (sb.failed || (out = strdup(strbuf_str(&sb))) == NULL)
		abort();
	strbuf_free(&sb);
	return out;
}

void
fixture_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) != -1);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

struct fx *
fx_load(const char *plugin, const char *section)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_non_null(fx->tmp = fixture_copy("sysfs", "procfs", NULL));
	fx->h = harness_load_fixture(plugin, section, fx->tmp);
	if (fx->h == NULL)
		fail_msg("load failed: %s", harness_last_errors());
	return fx;
}

int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	harness_free(fx->h);
	fixture_rm(fx->tmp);
	free(fx);
	return 0;
}

void
fx_expect(struct fx *fx, const char *line, const char *want)
{
	char *got = harness_run(fx->h, line);

	assert_string_equal(got, want);
	free(got);
}

void
fx_expect_t(struct fx *fx, const char *line, const char *want_fmt)
{
	char *want = fixture_subst(want_fmt, fx->tmp);

	fx_expect(fx, line, want);
	free(want);
}

void
fx_expect_file(struct fx *fx, const char *rel, const char *want)
{
	char *got = fixture_read(fx->tmp, rel);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}
