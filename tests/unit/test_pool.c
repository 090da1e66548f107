/*
 * Unit tests for src/pool.c, the worker pool.
 *
 * The test plays the loop thread: notify() signals a condition variable
 * and the test drains on each wake-up.  Jobs that must stay running wait
 * on a gate the test opens.  Nothing sleeps to synchronise: every wait is
 * on a condition, bounded by a generous deadline so a broken pool fails
 * the test instead of hanging it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "pool.h"

#define WAIT_S 10	/* far beyond anything a loaded machine needs */

static struct timespec
deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += WAIT_S;
	return ts;
}

static void
cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
}

/* ---- a gate jobs wait at until the test opens it ---- */

struct gate {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 arrived;	/* jobs that reached the gate */
	bool		 open;
	bool		 timed_out;	/* a job gave up waiting */
	struct timespec	 deadline;
};

static void
gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	cond_init_monotonic(&g->cv);
	g->arrived = 0;
	g->open = false;
	g->timed_out = false;
	g->deadline = deadline();
}

static void
gate_destroy(struct gate *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

/* On a worker: arrive, then wait for the gate to open. */
static void
gate_pass(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->arrived++;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		if (pthread_cond_timedwait(&g->cv, &g->mu, &g->deadline) ==
		    ETIMEDOUT) {
			g->timed_out = true;
			break;
		}
	pthread_mutex_unlock(&g->mu);
}

/* On the test thread: wait until n jobs are at the gate. */
/* Until n workers sleep on the queue; false after WAIT_S seconds. */
static bool
wait_idle(struct pool *p, unsigned n)
{
	struct timespec tick = { 0, 1000000 };

	for (long i = 0; i < WAIT_S * 1000L; i++) {
		if (pool_idle(p) == n)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

static bool
gate_wait_arrived(struct gate *g, int n)
{
	bool ok = true;

	pthread_mutex_lock(&g->mu);
	while (g->arrived < n && ok)
		ok = pthread_cond_timedwait(&g->cv, &g->mu, &g->deadline) !=
		    ETIMEDOUT;
	ok = g->arrived >= n;
	pthread_mutex_unlock(&g->mu);
	return ok;
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* ---- jobs ---- */

struct test_job {
	struct job	 job;		/* first, so a job * is a test_job * */
	struct gate	*gate;		/* wait here while running, or NULL */
	_Atomic int	 runs;
	int		 seq;		/* order in which jobs started */
	int		 drained;	/* times pool_drain() handed it back */
};

static _Atomic int run_seq;

static void
job_run(struct job *job)
{
	struct test_job *tj = (struct test_job *)job;

	tj->seq = atomic_fetch_add(&run_seq, 1);
	atomic_fetch_add(&tj->runs, 1);
	if (tj->gate != NULL)
		gate_pass(tj->gate);
}

static void
jobs_init(struct test_job *jobs, int n, struct gate *gate)
{
	for (int i = 0; i < n; i++) {
		jobs[i].job.run = job_run;
		jobs[i].gate = gate;
		atomic_store(&jobs[i].runs, 0);
		jobs[i].seq = -1;
		jobs[i].drained = 0;
	}
}

/* ---- the loop thread's side ---- */

struct loop {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	bool		 notified;
	int		 notify_calls;
	int		 completed;	/* jobs handed back by pool_drain() */
};

static void
loop_init(struct loop *l)
{
	pthread_mutex_init(&l->mu, NULL);
	cond_init_monotonic(&l->cv);
	l->notified = false;
	l->notify_calls = 0;
	l->completed = 0;
}

static void
loop_destroy(struct loop *l)
{
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
}

/* The pool's notify callback, called on a worker thread. */
static void
loop_notify(void *arg)
{
	struct loop *l = arg;

	pthread_mutex_lock(&l->mu);
	l->notified = true;
	l->notify_calls++;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void
loop_done(struct job *job, void *arg)
{
	struct loop *l = arg;

	((struct test_job *)job)->drained++;
	l->completed++;
}

/* Wait for notifications and drain until want jobs came back in all. */
static bool
loop_collect(struct loop *l, struct pool *p, int want)
{
	struct timespec until = deadline();

	while (l->completed < want) {
		pthread_mutex_lock(&l->mu);
		while (!l->notified) {
			if (pthread_cond_timedwait(&l->cv, &l->mu, &until) ==
			    ETIMEDOUT) {
				pthread_mutex_unlock(&l->mu);
				return false;
			}
		}
		l->notified = false;
		pthread_mutex_unlock(&l->mu);
		pool_drain(p, loop_done, l);
	}
	return true;
}

static int
notify_calls(struct loop *l)
{
	int n;

	pthread_mutex_lock(&l->mu);
	n = l->notify_calls;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* ---- tests ---- */

static void
test_every_job_comes_back_once(void **state)
{
	enum { N = 1000 };
	struct test_job *jobs = calloc(N, sizeof(*jobs));
	struct loop l;
	struct pool *p;

	assert_non_null(jobs);
	loop_init(&l);
	jobs_init(jobs, N, NULL);
	assert_non_null(p = pool_new(4, N, loop_notify, &l));
	assert_int_equal(pool_threads(p), 4);

	for (int i = 0; i < N; i++)
		assert_int_equal(pool_submit(p, &jobs[i].job), 0);
	pool_kick(p);
	assert_true(loop_collect(&l, p, N));
	assert_int_equal(l.completed, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(atomic_load(&jobs[i].runs), 1);
		assert_int_equal(jobs[i].drained, 1);
		assert_int_equal(atomic_load(&jobs[i].job.state), JOB_DONE);
	}

	/* Nothing is left over, and an idle pool stops in time. */
	assert_true(pool_stop(p, WAIT_S * 1000L));
	assert_int_equal(pool_drain(p, loop_done, &l), 0);
	assert_int_equal(pool_queued(p), 0);
	assert_int_equal(pool_busy(p), 0);
	pool_free(p);
	loop_destroy(&l);
	free(jobs);
}

/* Four workers run four jobs at once: each waits until all four run.  One
 * kick wakes one worker; the others are woken by the worker before them. */
static void
test_workers_run_in_parallel(void **state)
{
	struct test_job jobs[4];
	struct gate g;
	struct loop l;
	struct pool *p;
	bool all_running;

	loop_init(&l);
	gate_init(&g);
	jobs_init(jobs, 4, &g);
	assert_non_null(p = pool_new(4, 16, loop_notify, &l));
	/* Every worker asleep first, so that none finds a job by itself. */
	assert_true(wait_idle(p, 4));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pool_submit(p, &jobs[i].job), 0);
	pool_kick(p);

	all_running = gate_wait_arrived(&g, 4);
	if (all_running) {
		assert_int_equal(pool_busy(p), 4);
		assert_int_equal(pool_queued(p), 0);
	}
	gate_open(&g);		/* also when failing, so the workers end */
	assert_true(all_running);
	assert_true(loop_collect(&l, p, 4));
	assert_false(g.timed_out);
	for (int i = 0; i < 4; i++)
		assert_int_equal(jobs[i].drained, 1);

	assert_true(pool_stop(p, -1));
	pool_free(p);
	gate_destroy(&g);
	loop_destroy(&l);
}

static void
test_queue_limit(void **state)
{
	struct test_job jobs[5];
	struct gate g;
	struct loop l;
	struct pool *p;

	loop_init(&l);
	gate_init(&g);
	jobs_init(jobs, 5, NULL);
	jobs[0].gate = &g;
	assert_non_null(p = pool_new(1, 2, loop_notify, &l));

	/* The only worker is held by job 0; two more may wait. */
	assert_int_equal(pool_submit(p, &jobs[0].job), 0);
	pool_kick(p);
	assert_true(gate_wait_arrived(&g, 1));
	assert_int_equal(pool_queued(p), 0);
	assert_int_equal(pool_submit(p, &jobs[1].job), 0);
	assert_int_equal(pool_submit(p, &jobs[2].job), 0);
	assert_int_equal(pool_submit(p, &jobs[3].job), -1);
	assert_int_equal(pool_queued(p), 2);
	assert_int_equal(pool_busy(p), 1);

	/* A reload can raise the limit. */
	pool_set_max_queued(p, 3);
	assert_int_equal(pool_submit(p, &jobs[3].job), 0);
	assert_int_equal(pool_submit(p, &jobs[4].job), -1);
	assert_int_equal(pool_queued(p), 3);
	pool_kick(p);
	assert_int_equal(pool_queued(p), 3);	/* the worker is still held */

	gate_open(&g);
	assert_true(loop_collect(&l, p, 4));
	assert_true(pool_stop(p, -1));
	assert_int_equal(pool_drain(p, loop_done, &l), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(atomic_load(&jobs[i].runs), 1);
		assert_int_equal(jobs[i].drained, 1);
	}
	/* The refused job was never run nor handed back. */
	assert_int_equal(atomic_load(&jobs[4].runs), 0);
	assert_int_equal(jobs[4].drained, 0);
	/* One worker takes jobs in the order they were queued. */
	assert_true(jobs[0].seq < jobs[1].seq);
	assert_true(jobs[1].seq < jobs[2].seq);
	assert_true(jobs[2].seq < jobs[3].seq);

	pool_free(p);
	gate_destroy(&g);
	loop_destroy(&l);
}

static void
test_cancel(void **state)
{
	struct test_job jobs[3];
	struct gate g;
	struct loop l;
	struct pool *p;

	loop_init(&l);
	gate_init(&g);
	jobs_init(jobs, 3, NULL);
	jobs[0].gate = &g;
	assert_non_null(p = pool_new(1, 8, loop_notify, &l));

	assert_int_equal(pool_submit(p, &jobs[0].job), 0);
	pool_kick(p);
	assert_true(gate_wait_arrived(&g, 1));
	assert_int_equal(pool_submit(p, &jobs[1].job), 0);
	assert_int_equal(pool_submit(p, &jobs[2].job), 0);

	assert_false(pool_cancel(&jobs[0].job));	/* running */
	assert_true(pool_cancel(&jobs[1].job));		/* queued */
	assert_false(pool_cancel(&jobs[1].job));	/* already */
	assert_int_equal(atomic_load(&jobs[1].job.state), JOB_CANCELLED);
	pool_kick(p);

	gate_open(&g);
	assert_true(loop_collect(&l, p, 3));
	assert_true(pool_stop(p, -1));

	/* The cancelled job still came back, exactly once, without running. */
	assert_int_equal(jobs[1].drained, 1);
	assert_int_equal(atomic_load(&jobs[1].runs), 0);
	assert_int_equal(atomic_load(&jobs[1].job.state), JOB_CANCELLED);
	for (int i = 0; i < 3; i += 2) {
		assert_int_equal(jobs[i].drained, 1);
		assert_int_equal(atomic_load(&jobs[i].runs), 1);
		assert_int_equal(atomic_load(&jobs[i].job.state), JOB_DONE);
		assert_false(pool_cancel(&jobs[i].job));	/* finished */
	}
	pool_free(p);
	gate_destroy(&g);
	loop_destroy(&l);
}

static void
test_stop_runs_queued_jobs(void **state)
{
	struct test_job jobs[5];
	struct gate g;
	struct loop l;
	struct pool *p;

	loop_init(&l);
	gate_init(&g);
	jobs_init(jobs, 5, NULL);
	jobs[0].gate = &g;
	assert_non_null(p = pool_new(1, 8, loop_notify, &l));
	assert_int_equal(pool_submit(p, &jobs[0].job), 0);
	pool_kick(p);
	assert_true(gate_wait_arrived(&g, 1));
	/* Not kicked: stopping still runs what was submitted. */
	for (int i = 1; i < 4; i++)
		assert_int_equal(pool_submit(p, &jobs[i].job), 0);

	/* A handler is stuck: stop gives up at its deadline, unjoined... */
	assert_false(pool_stop(p, 0));
	/* ... and the pool, now stopping, takes no new work. */
	assert_int_equal(pool_submit(p, &jobs[4].job), -1);
	assert_int_equal(pool_queued(p), 3);

	gate_open(&g);
	assert_true(pool_stop(p, -1));
	assert_int_equal(pool_queued(p), 0);

	/* Workers are joined: every completion is already queued. */
	assert_int_equal(pool_drain(p, loop_done, &l), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(atomic_load(&jobs[i].runs), 1);
		assert_int_equal(jobs[i].drained, 1);
	}
	assert_int_equal(atomic_load(&jobs[4].runs), 0);
	assert_int_equal(jobs[4].drained, 0);
	pool_free(p);
	gate_destroy(&g);
	loop_destroy(&l);
}

static void
test_notify_on_first_completion_only(void **state)
{
	enum { N = 50 };
	struct test_job jobs[N];
	struct loop l;
	struct pool *p;

	/* Nobody drains while N jobs complete: one wake-up covers them. */
	loop_init(&l);
	jobs_init(jobs, N, NULL);
	assert_non_null(p = pool_new(3, N, loop_notify, &l));
	for (int i = 0; i < N; i++)
		assert_int_equal(pool_submit(p, &jobs[i].job), 0);
	assert_true(pool_stop(p, -1));	/* joins: all completions queued */
	assert_int_equal(notify_calls(&l), 1);
	assert_int_equal(pool_drain(p, loop_done, &l), N);
	pool_free(p);
	loop_destroy(&l);

	/* After a drain, the next completion wakes the loop again. */
	loop_init(&l);
	jobs_init(jobs, 2, NULL);
	assert_non_null(p = pool_new(2, N, loop_notify, &l));
	assert_int_equal(pool_submit(p, &jobs[0].job), 0);
	pool_kick(p);
	assert_true(loop_collect(&l, p, 1));
	assert_int_equal(notify_calls(&l), 1);
	assert_int_equal(pool_submit(p, &jobs[1].job), 0);
	pool_kick(p);
	assert_true(loop_collect(&l, p, 2));
	assert_int_equal(notify_calls(&l), 2);
	assert_true(pool_stop(p, -1));
	assert_int_equal(pool_drain(p, loop_done, &l), 0);
	pool_free(p);
	loop_destroy(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_job_comes_back_once),
		cmocka_unit_test(test_workers_run_in_parallel),
		cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_stop_runs_queued_jobs),
		cmocka_unit_test(test_notify_on_first_completion_only),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
