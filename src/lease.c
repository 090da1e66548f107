/*
 * Leases: a connection that says LEASE <ms> promises to be heard from at
 * least every ms milliseconds (any line will do; PING is the usual one).
 * When the daemon reads nothing from it for that long, or the connection
 * closes without LEASE OFF, the lease is lost and the failsafe's on_lost
 * program runs (failsafe.h): outputs go to a safe state on their own when
 * the client that drives them is gone.
 *
 * Reads only note the time (the loop's cached clock, no system call); one
 * timer per lease fires at the earliest moment the lease could expire and
 * looks again, so a busy connection costs nothing per line.  The on_lost
 * program runs on a worker, never on the loop thread, as one job per
 * lost lease: each loss runs it exactly once.  Loop thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conn_priv.h"
#include "failsafe.h"
#include "lease.h"
#include "log.h"
#include "plugin.h"
#include "pool.h"
#include "server.h"

#define LEASE_MIN_MS	100L
#define LEASE_MAX_MS	3600000L

struct lease_job {
	struct job		 job;		/* first: the pool's view */
	const struct plugins	*plugins;	/* loaded until the pool stops */
	uint64_t		 lease;
	struct failsafe		*program;	/* or NULL */
	long			 timeout_ms;
	char			 why[128];
};

static long
ms_since(const struct timespec *then, const struct timespec *now)
{
	return (long)((now->tv_sec - then->tv_sec) * 1000 +
	    (now->tv_nsec - then->tv_nsec) / 1000000);
}

/* On a worker. */
static void
lease_job_run(struct job *job)
{
	struct lease_job *lj = (struct lease_job *)job;

	/* The plugins' own safe states first (gpio's leased outputs), then
	 * the program. */
	plugins_lease_lost(lj->plugins, lj->lease);
	failsafe_run(lj->program, lj->why, lj->timeout_ms);
}

int
lease_job_done(struct job *job, struct server *s)
{
	struct lease_job *lj = (struct lease_job *)job;

	if (job->run != lease_job_run)
		return 0;
	if (lj->program != NULL)
		s->stats.failsafe_runs_total++;
	failsafe_unref(lj->program);
	free(lj);
	return 1;
}

/* A lease is gone: count it, say so, make things safe (the plugins'
 * outputs bound to it, then on_lost) on a worker. */
static void
lease_lost(struct server *s, const char *peer, uint64_t lease,
    const char *why)
{
	struct failsafe *program = s->failsafe[FAILSAFE_ON_LOST];
	struct lease_job *lj;

	s->stats.leases_lost_total++;
	log_warnx("client %s: lease lost (%s)%s", peer, why,
	    program != NULL ? "; running [failsafe] on_lost" : "");
	if (program == NULL && !plugins_watch_leases(s->plugins))
		return;
	if ((lj = calloc(1, sizeof(*lj))) == NULL) {
		/* Never skip a failsafe: run it here, late rather than not. */
		plugins_lease_lost(s->plugins, lease);
		if (program != NULL) {
			failsafe_run(program, why, s->cfg->command_timeout_ms);
			s->stats.failsafe_runs_total++;
		}
		return;
	}
	lj->job.run = lease_job_run;
	lj->plugins = s->plugins;
	lj->lease = lease;
	lj->program = failsafe_ref(program);
	lj->timeout_ms = s->cfg->command_timeout_ms;
	snprintf(lj->why, sizeof(lj->why), "lease of %s lost: %s", peer, why);
	/* Past the queue's limit if need be: a full queue is no reason to
	 * leave a heater on. */
	if (pool_submit_urgent(s->pool, &lj->job) == -1) {
		/* The pool is stopping: the daemon is on its way out and
		 * on_stop follows; run it here all the same. */
		lease_job_run(&lj->job);
		lease_job_done(&lj->job, s);
		return;
	}
	pool_kick(s->pool);
}

static void
lease_stop(struct conn *c)
{
	if (c->lease_ms == 0)
		return;
	event_del(&c->lease_ev);
	c->lease_ms = 0;
	c->srv->nleases--;
}

static void
lease_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	struct timeval tv;
	long quiet, ms = (long)c->lease_ms;
	char why[64];

	(void)fd;
	(void)what;
	s_now_update(s);
	quiet = ms_since(&c->lease_seen, &s->now_ts);
	if (quiet < ms) {
		/* Heard from since the timer was set: look again when the
		 * lease could next run out. */
		tv.tv_sec = (ms - quiet) / 1000;
		tv.tv_usec = (suseconds_t)((ms - quiet) % 1000) * 1000;
		evtimer_add(&c->lease_ev, &tv);
		return;
	}
	snprintf(why, sizeof(why), "nothing read for %ld ms", quiet);
	lease_stop(c);
	lease_lost(s, c->peer, c->lease_id, why);
}

int
conn_lease(struct conn *c, const char *arg, struct strbuf *text)
{
	struct server *s = c->srv;
	struct timeval tv;
	char *end;
	long ms;

	if (strcasecmp(arg, "off") == 0) {
		/* Ended cleanly: nothing to make safe. */
		lease_stop(c);
		return REPLY_OK;
	}
	errno = 0;
	ms = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || ms < LEASE_MIN_MS ||
	    ms > LEASE_MAX_MS) {
		strbuf_addf(text, "lease must be %ld to %ld ms, or OFF",
		    LEASE_MIN_MS, LEASE_MAX_MS);
		return PICMD_ERR_ARGS;
	}
	if (c->lease_ms == 0) {
		s->nleases++;
		c->lease_id = ++s->next_lease_id;
		evtimer_assign(&c->lease_ev, s->base, lease_timer_cb, c);
	}
	c->lease_ms = (uint32_t)ms;
	c->lease_seen = s->now_ts;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(&c->lease_ev, &tv);
	return REPLY_OK;
}

void
conn_lease_closed(struct conn *c)
{
	struct server *s = c->srv;

	if (c->lease_ms == 0)
		return;
	lease_stop(c);
	/* A daemon that stops ends every lease; on_stop makes things safe
	 * then, not on_lost once per client. */
	if (s->draining)
		return;
	lease_lost(s, c->peer, c->lease_id, "connection closed");
}
