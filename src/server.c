/*
 * Server lifetime: startup order, the loop, SIGTERM/SIGINT drain, SIGHUP
 * reload, and STATS.
 *
 * Startup order: built-ins and plugins first (a bad plugin stops us before
 * we bind anything), then listeners, then the pool; "ready" is logged only
 * when all of that worked.
 */
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "callback.h"
#include "compat_pigpio.h"
#include "conn.h"
#include "conn_events.h"
#include "dispatch.h"
#include "events.h"
#include "failsafe.h"
#include "fdwatch.h"
#include "lease.h"
#include "listener.h"
#include "log.h"
#include "plugin.h"
#include "pool.h"
#include "request.h"
#include "server.h"
#include "service.h"

#define STOP_WAIT_MS 2000	/* for workers after the drain deadline */
/* After the drain deadline, to send the replies it gave: long enough for
 * any client that reads, short enough that one that does not cannot
 * hold the daemon. */
#define DRAIN_GRACE_MS 1000
/* Published events not yet fanned out: far more than a loop iteration
 * sees, so only a publisher gone wild loses any. */
#define EVENTS_MAX_PENDING 65536

static void
report_to_log(void *arg, const char *msg)
{
	(void)arg;
	log_msg(PICMD_LOG_ERROR, "%s", msg);
}

static void
wake_notify(void *arg)
{
	/* Called on a worker: event_active() is safe across threads once
	 * evthread_use_pthreads() has run. */
	event_active(arg, EV_READ, 0);
}

/* The pool's finished jobs: a plugin's descriptor watch, or a request. */
static void
server_job_done(struct job *job, void *arg)
{
	if (!fdwatch_job_done(job) && !lease_job_done(job, arg))
		conn_job_done(job, arg);
}

/* Compile cfg's failsafe programs into progs; problems go to the log. */
static int
failsafe_compile_all(struct server *s, const struct config *cfg,
    struct failsafe **progs)
{
	int problems = 0;

	for (int i = 0; i < FAILSAFE_NPROGRAMS; i++)
		problems += failsafe_compile(cfg, (enum failsafe_program)i,
		    s->dispatch, &progs[i], report_to_log, NULL);
	if (problems > 0)
		for (int i = 0; i < FAILSAFE_NPROGRAMS; i++) {
			failsafe_unref(progs[i]);
			progs[i] = NULL;
		}
	return problems;
}

static void
failsafe_now(struct server *s, enum failsafe_program which, const char *why)
{
	if (s->failsafe[which] == NULL)
		return;
	failsafe_run(s->failsafe[which], why, s->cfg->command_timeout_ms);
	s->stats.failsafe_runs_total++;
}

static void
server_deliver_events(void *arg)
{
	struct server *s = arg;

	events_drain(s->bus, server_deliver_event, s);
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	char status[128];

	(void)fd;
	(void)what;
	snprintf(status, sizeof(status), "%d listeners, %d plugins, %zu "
	    "commands, %d workers", s->nlisteners, s->plugins->count,
	    dispatch_count(s->dispatch), s->cfg->workers);
	log_info("ready: %s", status);
	service_ready(status);
}

static void
events_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_deliver_events(arg);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	s_now_update(s);	/* results are late from this time on */
	/* Events a handler published go out before its reply, whichever
	 * of the two wake-ups the loop saw first: every event published by
	 * a job of the batch is on the bus once the batch is taken. */
	pool_drain_after(s->pool, server_deliver_events, server_job_done, s);
	server_conn_gone(s);
}

void
server_conn_gone(struct server *s)
{
	/* Past the drain deadline the commands still running have been
	 * answered: only replies not yet sent hold the loop. */
	if (s->draining && s->nclients == 0 && !callback_busy(s) &&
	    (s->jobs_out == 0 || s->drain_expired))
		event_base_loopbreak(s->base);
}

void
server_kick_later(struct server *s)
{
	if (s->kick_pending)
		return;
	s->kick_pending = true;
	event_active(s->flush_ev, EV_WRITE, 0);
}

/*
 * Runs once per loop iteration, after the read callbacks (it is activated
 * from them, so it queues behind them): one send per connection, then one
 * wake-up for the jobs those reads queued.
 */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	conn_flush_dirty(s);
	if (s->kick_pending) {
		s->kick_pending = false;
		pool_kick(s->pool);
	}
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_sweep(arg);
	request_cache_trim(false);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	service_watchdog();
}

/*
 * End of the drain: every request still queued or running is answered
 * now (ERR TIMEOUT), so each client has its reply before its connection
 * closes.  Results already back are taken first: they are real replies.
 */
static void
server_answer_unfinished(struct server *s)
{
	if (s->drain_expired)
		return;
	s_now_update(s);
	pool_drain_after(s->pool, server_deliver_events, server_job_done, s);
	s->drain_expired = true;
	if (s->jobs_out > 0)
		log_warnx("answering %u unfinished commands: shutting down",
		    s->jobs_out);
	conn_answer_unfinished(s);
}

/* First the drain deadline, then the grace to send what it answered. */
static void
drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct timeval tv = { DRAIN_GRACE_MS / 1000,
	    (DRAIN_GRACE_MS % 1000) * 1000 };

	(void)fd;
	(void)what;
	if (s->drain_expired) {
		log_warnx("%u clients did not take their last replies within "
		    "%d ms; closing them", s->nclients, DRAIN_GRACE_MS);
		event_base_loopbreak(s->base);
		return;
	}
	log_warnx("drain deadline passed with %u clients, %u commands and "
	    "%s callbacks unfinished", s->nclients, s->jobs_out,
	    callback_busy(s) ? "some" : "no");
	server_answer_unfinished(s);
	evtimer_add(s->drain_timer, &tv);
	server_conn_gone(s);
}

static void
server_begin_drain(struct server *s, const char *why)
{
	struct timeval tv = { s->cfg->drain_timeout_s, 0 };

	if (s->draining) {
		/* At once, but still a reply for every request: what the
		 * sockets take now is sent, callbacks are not waited for. */
		log_warnx("%s again: stopping now", why);
		server_answer_unfinished(s);
		conn_flush_dirty(s);
		event_base_loopbreak(s->base);
		return;
	}
	s->draining = true;
	service_stopping();
	log_info("%s: draining %u clients and %u commands (at most %d s)", why,
	    s->nclients, s->jobs_out, s->cfg->drain_timeout_s);
	listeners_close(s);
	conn_shutdown_all(s);
	evtimer_add(s->drain_timer, &tv);
	server_conn_gone(s);
}

static bool
same_listen(const struct config *a, const struct config *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (int i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return false;
	return true;
}

static bool
same_sections(const struct config *a, const struct config *b)
{
	if (a->nsections != b->nsections)
		return false;
	for (int i = 0; i < a->nsections; i++) {
		const struct config_section *sa = &a->sections[i];
		const struct config_section *sb = config_section_find(b,
		    sa->name);

		if (sb == NULL || sb->nkv != sa->nkv)
			return false;
		for (int j = 0; j < sa->nkv; j++)
			if (strcmp(sa->kv[j].key, sb->kv[j].key) != 0 ||
			    strcmp(sa->kv[j].value, sb->kv[j].value) != 0)
				return false;
	}
	return true;
}

static bool
same_load(const struct config *a, const struct config *b)
{
	if ((a->load == NULL) != (b->load == NULL) || a->nload != b->nload ||
	    strcmp(a->plugin_dir, b->plugin_dir) != 0)
		return false;
	for (int i = 0; i < a->nload; i++)
		if (strcmp(a->load[i], b->load[i]) != 0)
			return false;
	return true;
}

/*
 * Apply what can change while running (log level, limits, timeouts) and
 * say which changes wait for a restart.  Nothing is dropped.
 */
static void
server_reload(struct server *s)
{
	struct config *ncfg, *old = s->cfg;
	struct failsafe *progs[FAILSAFE_NPROGRAMS];
	char *words;

	log_info("reloading %s", old->path);
	service_reloading();
	if (config_load(old->path, &ncfg, report_to_log, NULL) == -1) {
		log_warnx("reload failed; keeping the running configuration");
		service_ready("reload failed; running the previous configuration");
		return;
	}
	if (plugins_check_sections(s->plugins, ncfg, report_to_log,
	    NULL) > 0) {
		log_warnx("reload failed; keeping the running configuration");
		service_ready("reload failed; running the previous configuration");
		config_free(ncfg);
		return;
	}
	if (failsafe_compile_all(s, ncfg, progs) > 0) {
		log_warnx("reload failed; keeping the running configuration");
		service_ready("reload failed; running the previous configuration");
		config_free(ncfg);
		return;
	}
	if ((words = realloc(s->words, (size_t)ncfg->max_line + 1)) == NULL) {
		log_warnx("reload: out of memory; keeping the running "
		    "configuration");
		service_ready("reload failed; running the previous configuration");
		config_free(ncfg);
		for (int i = 0; i < FAILSAFE_NPROGRAMS; i++)
			failsafe_unref(progs[i]);
		return;
	}
	s->words = words;
	for (int i = 0; i < FAILSAFE_NPROGRAMS; i++) {
		/* A running on_lost keeps its own reference. */
		failsafe_unref(s->failsafe[i]);
		s->failsafe[i] = progs[i];
	}

	if (!same_listen(old, ncfg))
		log_warnx("reload: [server] listen changes after a restart");
	if (!pigpio_config_same(pigpio_running_config(s->pigpio),
	    ncfg->pigpio != NULL && ncfg->pigpio->nlisten > 0 ?
	    ncfg->pigpio : NULL))
		log_warnx("reload: [pigpio] changes after a restart");
	if (old->workers != ncfg->workers)
		log_warnx("reload: [server] workers changes after a restart");
	if (!same_load(old, ncfg))
		log_warnx("reload: [plugins] changes after a restart");
	if (!same_sections(old, ncfg) ||
	    strcmp(old->sysfs_root, ncfg->sysfs_root) != 0 ||
	    strcmp(old->procfs_root, ncfg->procfs_root) != 0)
		log_warnx("reload: plugin settings change after a restart");

	log_set_level(ncfg->log_level);
	pool_set_max_queued(s->pool, (size_t)ncfg->queue);
	s->cfg = ncfg;
	config_free(old);
	log_info("reloaded %s", ncfg->path);
	service_ready("reloaded");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		server_reload(s);
		break;
	case SIGTERM:
		server_begin_drain(s, "SIGTERM");
		break;
	case SIGINT:
		server_begin_drain(s, "SIGINT");
		break;
	}
}

struct server *
server_new(struct config *cfg)
{
	struct server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = cfg;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->dirty);
	TAILQ_INIT(&s->cb_targets);
	TAILQ_INIT(&s->subscribers);
	pthread_rwlock_init(&s->subs_lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	return s;
}

int
server_start(struct server *s)
{
	struct config *cfg = s->cfg;
	struct timeval tv;
	uint64_t wd_usec;
	int n;

	if (evthread_use_pthreads() == -1) {
		log_warnx("libevent has no pthreads support");
		return -1;
	}
	if ((s->base = event_base_new()) == NULL) {
		log_warnx("cannot create the event loop");
		return -1;
	}
	/* Before the plugins: one may publish from its own thread as soon
	 * as it is loaded. */
	if ((s->events_ev = event_new(s->base, -1, 0, events_cb, s)) == NULL ||
	    (s->bus = events_new(EVENTS_MAX_PENDING, wake_notify,
	    s->events_ev)) == NULL)
		return -1;
	if ((s->words = malloc((size_t)cfg->max_line + 1)) == NULL ||
	    (s->dispatch = dispatch_new()) == NULL ||
	    builtin_register(s->dispatch) == -1)
		return -1;
	if (plugins_load(cfg, s->dispatch, &s->plugins, report_to_log,
	    NULL) > 0) {
		log_warnx("%s: plugins failed to load; not starting", cfg->path);
		return -1;
	}
	plugins_set_bus(s->plugins, s->bus, server_subscribed, s);
	if (failsafe_compile_all(s, cfg, s->failsafe) > 0) {
		log_warnx("%s: bad [failsafe]; not starting", cfg->path);
		return -1;
	}
	/* Before anyone can connect: a daemon restarted after a crash or a
	 * power cut comes up safe. */
	failsafe_now(s, FAILSAFE_ON_START, "starting");
	if (cfg->pigpio != NULL && cfg->pigpio->nlisten > 0 &&
	    (s->pigpio = pigpio_state_new(s)) == NULL)
		return -1;
	if ((n = service_listen_fds()) > 0) {
		log_info("socket activation: serving %d passed sockets instead "
		    "of [server] listen", n);
		if (listeners_adopt(s, n) == -1)
			return -1;
	} else if (listeners_open(s) == -1)
		return -1;

	if (deadlines_init(&s->deadlines, s->base, conn_expire, s) == -1)
		return -1;
	if ((s->wake = event_new(s->base, -1, 0, wake_cb, s)) == NULL)
		return -1;
	/* Activated when the first reply of a loop iteration is queued, it
	 * runs after the events already active in that iteration (reads,
	 * completions), so they share one send() per connection.  (A lower
	 * priority would starve under load: libevent runs only the highest
	 * non-empty priority per iteration.) */
	if ((s->flush_ev = event_new(s->base, -1, 0, flush_cb, s)) == NULL)
		return -1;
	if ((s->pool = pool_new(cfg->workers, (size_t)cfg->queue, wake_notify,
	    s->wake)) == NULL) {
		log_warnx("cannot start %d worker threads", cfg->workers);
		return -1;
	}
	if ((s->watches = fdwatch_set_new(s->base, s->pool)) == NULL)
		return -1;
	plugins_set_watches(s->plugins, s->watches);
	s->sig_term = evsignal_new(s->base, SIGTERM, signal_cb, s);
	s->sig_int = evsignal_new(s->base, SIGINT, signal_cb, s);
	s->sig_hup = evsignal_new(s->base, SIGHUP, signal_cb, s);
	s->drain_timer = evtimer_new(s->base, drain_deadline_cb, s);
	/* One timer for every connection's idle and auth deadline: cheaper
	 * than a timer per connection, and whole seconds are precise
	 * enough for both. */
	s->sweep_timer = event_new(s->base, -1, EV_PERSIST, sweep_cb, s);
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	if (s->sweep_timer == NULL || event_add(s->sweep_timer, &tv) == -1)
		return -1;
	if (s->sig_term == NULL || s->sig_int == NULL || s->sig_hup == NULL ||
	    s->drain_timer == NULL || evsignal_add(s->sig_term, NULL) == -1 ||
	    evsignal_add(s->sig_int, NULL) == -1 ||
	    evsignal_add(s->sig_hup, NULL) == -1)
		return -1;

	if ((wd_usec = service_watchdog_usec()) > 0) {
		/* Ping at half the interval, from the loop thread, so a stuck
		 * loop is what the manager notices. */
		tv.tv_sec = (time_t)(wd_usec / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(wd_usec / 2 % 1000000);
		s->watchdog_timer = event_new(s->base, -1, EV_PERSIST,
		    watchdog_cb, s);
		if (s->watchdog_timer == NULL ||
		    event_add(s->watchdog_timer, &tv) == -1)
			return -1;
	}

	/* Ready is said from the loop's first iteration, not here: a
	 * manager (or a test) that signals the daemon as soon as it reads
	 * READY then finds the loop dispatching, not still on its way. */
	if ((s->ready_ev = event_new(s->base, -1, 0, ready_cb, s)) == NULL)
		return -1;
	event_active(s->ready_ev, EV_TIMEOUT, 0);
	return 0;
}

int
server_run(struct server *s)
{
	if (event_base_dispatch(s->base) == -1) {
		log_warnx("event loop failed");
		return -1;
	}
	/* After the drain: every reply is out, now make things safe. */
	if (s->draining)
		failsafe_now(s, FAILSAFE_ON_STOP, "stopping");
	return 0;
}

void
server_free(struct server *s)
{
	bool stopped = true;

	if (s == NULL)
		return;
	if (s->base != NULL)
		conn_close_all(s);
	if (s->pool != NULL) {
		stopped = pool_stop(s->pool, STOP_WAIT_MS);
		if (!stopped) {
			log_warnx("a command is still running; not waiting "
			    "for it");
			pool_abandon(s->pool);
		}
		else {
			s_now_update(s);
			pool_drain(s->pool, server_job_done, s);
			pool_free(s->pool);
		}
	}
	if (!stopped) {
		/* Plugin code may still be running: keep it mapped. */
		return;
	}
	if (s->base != NULL) {
		callback_free_all(s);
		listeners_free(s);
	}
	pigpio_state_free(s->pigpio);
	/* Before fini: the plugins' descriptors are theirs to close. */
	if (s->plugins != NULL)
		plugins_set_watches(s->plugins, NULL);
	fdwatch_set_free(s->watches);
	/* Plugin threads publish until fini() has stopped them. */
	plugins_unload(s->plugins);
	for (int i = 0; i < FAILSAFE_NPROGRAMS; i++)
		failsafe_unref(s->failsafe[i]);
	events_free(s->bus);
	pthread_rwlock_destroy(&s->subs_lock);
	if (s->events_ev != NULL)
		event_free(s->events_ev);
	if (s->ready_ev != NULL)
		event_free(s->ready_ev);
	dispatch_free(s->dispatch);
	if (s->wake != NULL)
		event_free(s->wake);
	if (s->sig_term != NULL)
		event_free(s->sig_term);
	if (s->sig_int != NULL)
		event_free(s->sig_int);
	if (s->sig_hup != NULL)
		event_free(s->sig_hup);
	if (s->drain_timer != NULL)
		event_free(s->drain_timer);
	if (s->sweep_timer != NULL)
		event_free(s->sweep_timer);
	if (s->flush_ev != NULL)
		event_free(s->flush_ev);
	deadlines_free(&s->deadlines);
	request_cache_trim(true);
	if (s->watchdog_timer != NULL)
		event_free(s->watchdog_timer);
	if (s->base != NULL)
		event_base_free(s->base);
	free(s->words);
	config_free(s->cfg);
	free(s);
}

void
server_stats(struct server *s, struct strbuf *out)
{
	struct timespec now;
	const struct stats *st = &s->stats;

	clock_gettime(CLOCK_MONOTONIC, &now);
	strbuf_addf(out,
	    "uptime_s=%lld clients=%u connections_total=%llu "
	    "rejected_total=%llu commands_total=%llu replies_total=%llu "
	    "errors_total=%llu busy_total=%llu timeouts_total=%llu "
	    "dropped_total=%llu callbacks_sent=%llu callbacks_failed=%llu "
	    "denied_total=%llu auth_failed_total=%llu http_rejected_total=%llu "
	    "idle_closed_total=%llu inflight=%u queue_depth=%zu workers=%d workers_busy=%u "
	    "plugins=%d commands=%zu events_published=%llu "
	    "events_delivered=%llu events_dropped=%llu subscriptions=%u "
	    "leases=%u leases_lost_total=%llu failsafe_runs_total=%llu",
	    (long long)(now.tv_sec - s->started.tv_sec), s->nclients,
	    (unsigned long long)st->connections_total,
	    (unsigned long long)st->rejected_total,
	    (unsigned long long)st->commands_total,
	    (unsigned long long)st->replies_total,
	    (unsigned long long)st->errors_total,
	    (unsigned long long)st->busy_total,
	    (unsigned long long)st->timeouts_total,
	    (unsigned long long)st->dropped_total,
	    (unsigned long long)st->callbacks_sent,
	    (unsigned long long)st->callbacks_failed,
	    (unsigned long long)st->denied_total,
	    (unsigned long long)st->auth_failed_total,
	    (unsigned long long)st->http_rejected_total,
	    (unsigned long long)st->idle_closed_total,
	    s->jobs_out + s->jobs_held,
	    pool_queued(s->pool), pool_threads(s->pool), pool_busy(s->pool),
	    s->plugins->count, dispatch_count(s->dispatch),
	    (unsigned long long)events_published(s->bus),
	    (unsigned long long)st->events_delivered,
	    (unsigned long long)(st->events_dropped + events_dropped(s->bus)),
	    s->nsubscriptions, s->nleases,
	    (unsigned long long)st->leases_lost_total,
	    (unsigned long long)st->failsafe_runs_total);
}
