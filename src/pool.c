/*
 * Threading rules (these are the whole story; keep them true):
 *
 *  - The loop thread submits jobs and drains completions.  Workers never
 *    touch sockets, connections or libevent objects; they only run
 *    job->run(), which fills in the job's reply.
 *  - A job belongs to the pool from pool_submit() until pool_drain() hands
 *    it back; in between the loop thread may read nothing of it but
 *    `state` (atomically).  The mutex orders the hand-overs, so the loop
 *    sees everything a worker wrote before the job was queued as done.
 *  - A job is cancelled by moving QUEUED -> CANCELLED; a worker starts it
 *    only by moving QUEUED -> RUNNING, so exactly one of the two wins and a
 *    cancelled job (a command whose deadline passed) never runs.
 *  - Submissions are batched: pool_submit() puts the job on a list only the
 *    loop thread touches, and pool_kick(), once per loop iteration, moves
 *    the whole list to the shared queue under one lock and wakes at most
 *    one worker.  A woken worker runs at once, and on a shared core it
 *    would take the CPU from the loop in the middle of its reads: waking
 *    one per job turned every job into two context switches.  A worker
 *    that takes a job and leaves more behind wakes the next sleeping one,
 *    so a burst still spreads over every worker.
 *  - Completions are batched: notify() is called only when the completion
 *    queue goes from empty to non-empty, and pool_drain() takes the whole
 *    queue at once (the memcached hand-off).
 *  - One mutex guards both queues, so a worker hands back its finished
 *    job and takes the next one in the same critical section: one lock
 *    round per job on a worker, one per batch on the loop.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "pool.h"

struct pool {
	pthread_mutex_t	 lock;		/* guards everything below but pend */
	pthread_cond_t	 cond;		/* work arrived, or stopping */
	pthread_cond_t	 idle_cond;	/* busy dropped, while stopping */
	struct job	*head, *tail;	/* queued jobs */
	_Atomic size_t	 queued;	/* read unlocked by pool_submit() */
	unsigned	 idle;		/* workers waiting on cond */
	unsigned	 waking;	/* of those, signalled, not yet up */
	unsigned	 busy;		/* workers running a job */
	size_t		 max_queued;
	bool		 stopping;
	struct job	*done_head, *done_tail;
	void		(*notify)(void *arg);
	void		*notify_arg;

	/* Loop thread only: submitted, not yet kicked. */
	struct job	*pend_head, *pend_tail;
	size_t		 npend;

	pthread_t	*threads;
	int		 nthreads;
	int		 started;
};

/* With the lock held: queue a finished job for the loop; true when the
 * loop must be told (the completion queue was empty). */
static bool
complete_locked(struct pool *p, struct job *job)
{
	bool was_empty = p->done_head == NULL;

	job->next = NULL;
	if (was_empty)
		p->done_head = job;
	else
		p->done_tail->next = job;
	p->done_tail = job;
	p->busy--;
	if (p->stopping)
		pthread_cond_broadcast(&p->idle_cond);
	return was_empty;
}

/*
 * With the lock held: wake a sleeping worker, unless every sleeper has
 * been signalled already.  Busy workers take the next job without being
 * told, and a signal is a futex call: a worker that takes jobs faster than
 * the one it woke gets up must not signal again for each of them.
 */
static void
wake_one(struct pool *p)
{
	if (p->idle > p->waking) {
		p->waking++;
		pthread_cond_signal(&p->cond);
	}
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	struct job *job;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->cond, &p->lock);
			p->idle--;
			if (p->waking > 0)
				p->waking--;
		}
		if (p->head == NULL)
			break;
		job = p->head;
		if ((p->head = job->next) == NULL)
			p->tail = NULL;
		else
			wake_one(p);	/* pass it on */
		atomic_fetch_sub(&p->queued, 1);
		p->busy++;
		/* Under the lock, so a job counted busy has started (or was
		 * cancelled for good): pool_busy() then tells a caller which
		 * jobs can no longer be cancelled. */
		int expected = JOB_QUEUED;
		bool run = atomic_compare_exchange_strong(&job->state,
		    &expected, JOB_RUNNING);
		pthread_mutex_unlock(&p->lock);

		if (run) {
			job->run(job);
			atomic_store(&job->state, JOB_DONE);
		}

		pthread_mutex_lock(&p->lock);
		if (complete_locked(p, job)) {
			/* Not under the lock: notify() takes libevent's. */
			pthread_mutex_unlock(&p->lock);
			p->notify(p->notify_arg);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *
pool_new(int nthreads, size_t max_queued, void (*notify)(void *arg),
    void *arg)
{
	struct pool *p;
	sigset_t all, old;
	int err;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->threads = calloc((size_t)nthreads, sizeof(pthread_t))) == NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->idle_cond, NULL);
	p->max_queued = max_queued;
	p->notify = notify;
	p->notify_arg = arg;
	p->nthreads = nthreads;

	/* Signals belong to the loop thread; workers block them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < nthreads; i++) {
		if ((err = pthread_create(&p->threads[i], NULL, worker_main,
		    p)) != 0) {
			errno = err;
			log_warn("pthread_create");
			break;
		}
		p->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->started != nthreads) {
		pool_stop(p, -1);
		pool_free(p);
		return NULL;
	}
	return p;
}

void
pool_abandon(struct pool *p)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 500 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	for (int i = 0; i < p->started; i++)
		if (pthread_timedjoin_np(p->threads[i], NULL, &until) == 0)
			p->threads[i] = p->threads[--p->started], i--;
	/* The stuck ones may still finish before the process does: detached,
	 * they need no join. */
	for (int i = 0; i < p->started; i++)
		pthread_detach(p->threads[i]);
	p->started = 0;
}

bool
pool_stop(struct pool *p, long wait_ms)
{
	struct timespec until;
	bool stuck = false;

	pool_kick(p);		/* what was submitted still runs */
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);

	if (wait_ms >= 0) {
		/* Do not hang on a handler stuck in a device call. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (p->busy > 0 || p->head != NULL) {
			if (pthread_cond_timedwait(&p->idle_cond, &p->lock,
			    &until) == ETIMEDOUT)
				break;
		}
		stuck = p->busy > 0;
	}
	pthread_mutex_unlock(&p->lock);
	if (stuck)
		return false;
	for (int i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	p->started = 0;
	return true;
}

void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	pthread_cond_destroy(&p->idle_cond);
	free(p->threads);
	free(p);
}

static int
pool_enqueue(struct pool *p, struct job *job)
{
	atomic_store(&job->state, JOB_QUEUED);
	job->next = NULL;
	if (p->pend_tail == NULL)
		p->pend_head = job;
	else
		p->pend_tail->next = job;
	p->pend_tail = job;
	p->npend++;
	return 0;
}

int
pool_submit(struct pool *p, struct job *job)
{
	/* `queued` may be a little stale (higher): that only refuses a job
	 * a moment early when the queue is at its limit.  `stopping` and
	 * `max_queued` change only on this thread. */
	if (atomic_load(&p->queued) + p->npend >= p->max_queued || p->stopping)
		return -1;
	return pool_enqueue(p, job);
}

int
pool_submit_urgent(struct pool *p, struct job *job)
{
	if (p->stopping)
		return -1;
	return pool_enqueue(p, job);
}

void
pool_kick(struct pool *p)
{
	if (p->pend_head == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->tail == NULL)
		p->head = p->pend_head;
	else
		p->tail->next = p->pend_head;
	p->tail = p->pend_tail;
	atomic_fetch_add(&p->queued, p->npend);
	/* One is enough: it passes the wake on while jobs remain. */
	wake_one(p);
	pthread_mutex_unlock(&p->lock);
	p->pend_head = p->pend_tail = NULL;
	p->npend = 0;
}

bool
pool_cancel(struct job *job)
{
	int expected = JOB_QUEUED;

	return atomic_compare_exchange_strong(&job->state, &expected,
	    JOB_CANCELLED);
}

size_t
pool_drain(struct pool *p, void (*done)(struct job *, void *), void *arg)
{
	return pool_drain_after(p, NULL, done, arg);
}

size_t
pool_drain_after(struct pool *p, void (*first)(void *),
    void (*done)(struct job *, void *), void *arg)
{
	struct job *list, *next;
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);

	if (list != NULL && first != NULL)
		first(arg);
	for (; list != NULL; list = next) {
		next = list->next;
		done(list, arg);
		n++;
	}
	return n;
}

void
pool_set_max_queued(struct pool *p, size_t max_queued)
{
	p->max_queued = max_queued;
}

size_t
pool_queued(struct pool *p)
{
	return atomic_load(&p->queued) + p->npend;
}

int
pool_threads(struct pool *p)
{
	return p->nthreads;
}

/* A count the workers change, read from another thread. */
static unsigned
read_locked(struct pool *p, const unsigned *count)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = *count;
	pthread_mutex_unlock(&p->lock);
	return n;
}

unsigned
pool_idle(struct pool *p)
{
	return read_locked(p, &p->idle);
}

unsigned
pool_busy(struct pool *p)
{
	return read_locked(p, &p->busy);
}
