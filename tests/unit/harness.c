#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "dispatch.h"
#include "events.h"
#include "evqueue.h"
#include "fdwatch.h"
#include "harness.h"
#include "plugin.h"
#include "pool.h"
#include "proto.h"
#include "request.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the build's commands/ directory"
#endif
#ifndef TEST_FIXTURES
#error "TEST_FIXTURES must name tests/fixtures"
#endif

struct harness_events;

struct harness {
	struct config	*cfg;
	struct dispatch	*dispatch;
	struct plugins	*plugins;
	char		*dir;
	bool		 user;		/* harness_set_admin(h, 0) */
	struct harness_events *ev;	/* harness_events(), or NULL */
};

static void harness_events_stop(struct harness *h);

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
	/* The first lookup builds the table's index.  The daemon looks up
	 * on its loop thread only; tests run commands from several threads
	 * at once, so it is built here, before any of them starts. */
	(void)dispatch_lookup(h->dispatch, 1, (char *[]){ "PING", NULL });
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
	/* Before fini, as the daemon does: the plugins' descriptors are
	 * theirs to close. */
	harness_events_stop(h);
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
harness_expect(struct harness *h, const char *line, const char *want)
{
	char *got = harness_run(h, line);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "request: %.200s\n", line);
	assert_string_equal(got, want);
	free(got);
}

void
harness_expect_prefix(struct harness *h, const char *line, const char *want)
{
	char *got = harness_run(h, line);

	if (strncmp(got, want, strlen(want)) != 0) {
		fprintf(stderr, "request: %.200s\nreply:   %s\nwanted:  %s...\n",
		    line, got, want);
		fail();
	}
	free(got);
}

struct harness *
harness_load_ok(const char *name, const char *section)
{
	struct harness *h = harness_load(name, section, NULL);

	if (h == NULL)
		fprintf(stderr, "%s", harness_last_errors());
	assert_non_null(h);
	return h;
}

void
fx_expect(struct fx *fx, const char *line, const char *want)
{
	harness_expect(fx->h, line, want);
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

/* ---- the daemon's event machinery (harness_events) ---- */

struct harness_events {
	struct event_base	*base;
	struct event		*bus_ev;	/* events published: collect */
	struct event		*pool_ev;	/* watch callbacks done */
	struct events		*bus;
	struct pool		*pool;
	struct fdwatch_set	*watches;
	pthread_t		 loop;
	bool			 looping;	/* loop started */
	pthread_mutex_t		 mu;		/* the events collected */
	pthread_cond_t		 cond;
	char			**got;
	size_t			 ngot;
	size_t			 next;		/* the first not taken */
};

/* A worker or publisher (any thread): wake the loop. */
static void
hev_wake(void *arg)
{
	event_active(arg, EV_READ, 0);
}

static void
hev_collect(struct pevent *e, void *arg)
{
	struct harness_events *ev = arg;
	char **got, *text;

	if ((text = strdup(e->text)) == NULL)
		abort();
	pthread_mutex_lock(&ev->mu);
	if ((got = realloc(ev->got, (ev->ngot + 1) * sizeof(*got))) == NULL)
		abort();
	ev->got = got;
	ev->got[ev->ngot++] = text;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->mu);
}

static void
hev_bus_cb(evutil_socket_t fd, short what, void *arg)
{
	struct harness_events *ev = arg;

	(void)fd;
	(void)what;
	events_drain(ev->bus, hev_collect, ev);
}

/* Only watch callbacks go through this pool. */
static void
hev_job_done(struct job *job, void *arg)
{
	(void)arg;
	if (!fdwatch_job_done(job))
		abort();
}

static void
hev_pool_cb(evutil_socket_t fd, short what, void *arg)
{
	struct harness_events *ev = arg;

	(void)fd;
	(void)what;
	pool_drain(ev->pool, hev_job_done, NULL);
}

static void *
hev_loop(void *arg)
{
	struct harness_events *ev = arg;

	event_base_loop(ev->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Every topic has a subscriber: the test. */
static bool
hev_subscribed(void *arg, const char *topic)
{
	(void)arg;
	(void)topic;
	return true;
}

int
harness_events(struct harness *h)
{
	struct harness_events *ev;

	if (h->ev != NULL)
		return 0;
	if (evthread_use_pthreads() == -1 ||
	    (ev = calloc(1, sizeof(*ev))) == NULL)
		return -1;
	pthread_mutex_init(&ev->mu, NULL);
	pthread_cond_init(&ev->cond, NULL);
	h->ev = ev;
	if ((ev->base = event_base_new()) == NULL ||
	    (ev->bus_ev = event_new(ev->base, -1, 0, hev_bus_cb, ev)) == NULL ||
	    (ev->pool_ev = event_new(ev->base, -1, 0, hev_pool_cb, ev)) ==
	    NULL ||
	    (ev->bus = events_new(1024, hev_wake, ev->bus_ev)) == NULL ||
	    (ev->pool = pool_new(1, 64, hev_wake, ev->pool_ev)) == NULL ||
	    (ev->watches = fdwatch_set_new(ev->base, ev->pool)) == NULL ||
	    pthread_create(&ev->loop, NULL, hev_loop, ev) != 0) {
		harness_events_stop(h);
		return -1;
	}
	ev->looping = true;
	plugins_set_bus(h->plugins, ev->bus, hev_subscribed, NULL);
	plugins_set_watches(h->plugins, ev->watches);
	return 0;
}

char *
harness_event(struct harness *h, long ms)
{
	struct harness_events *ev = h->ev;
	struct timespec until;
	char *text = NULL;

	if (ev == NULL)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ev->mu);
	while (ev->next == ev->ngot &&
	    pthread_cond_timedwait(&ev->cond, &ev->mu, &until) == 0)
		;
	if (ev->next < ev->ngot) {
		text = ev->got[ev->next];
		ev->got[ev->next++] = NULL;
	}
	pthread_mutex_unlock(&ev->mu);
	return text;
}

/* The order of server_free(): the loop, then the workers (their last
 * jobs handed back), then the watches, and the bus after fini. */
static void
harness_events_stop(struct harness *h)
{
	struct harness_events *ev = h->ev;

	if (ev == NULL)
		return;
	if (ev->looping) {
		event_base_loopbreak(ev->base);
		pthread_join(ev->loop, NULL);
	}
	if (ev->pool != NULL) {
		pool_stop(ev->pool, 5000);
		pool_drain(ev->pool, hev_job_done, NULL);
		pool_free(ev->pool);
	}
	plugins_set_watches(h->plugins, NULL);
	fdwatch_set_free(ev->watches);
	/* Published from now on (fini) goes nowhere. */
	plugins_set_bus(h->plugins, NULL, hev_subscribed, NULL);
	events_free(ev->bus);
	if (ev->bus_ev != NULL)
		event_free(ev->bus_ev);
	if (ev->pool_ev != NULL)
		event_free(ev->pool_ev);
	if (ev->base != NULL)
		event_base_free(ev->base);
	for (size_t i = 0; i < ev->ngot; i++)
		free(ev->got[i]);
	free(ev->got);
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->mu);
	free(ev);
	h->ev = NULL;
}

bool
ioctl_is_passed_on(const char *path, unsigned long request)
{
	unsigned char arg[64];
	int fd, rc, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	rc = ioctl(fd, request, arg);
	err = errno;
	close(fd);
	return rc == -1 && err == ENOTTY;
}
