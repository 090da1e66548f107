/*
 * Threading rules (these are the whole story; keep them true):
 *
 *  - The loop thread submits jobs and drains completions.  Workers never
 *    touch sockets, connections or libevent objects; they only run
 *    job->run(), which fills in the job's reply.
 *  - A job belongs to the pool from pool_submit() until pool_drain() hands
 *    it back; in between the loop thread may read nothing of it but
 *    `state` (atomically).  The mutexes order the hand-overs, so the loop
 *    sees everything a worker wrote before the job was queued as done.
 *  - A job is cancelled by moving QUEUED -> CANCELLED; a worker starts it
 *    only by moving QUEUED -> RUNNING, so exactly one of the two wins and a
 *    cancelled job (a command whose deadline passed) never runs.
 *  - Completions are batched: notify() is called only when the completion
 *    queue goes from empty to non-empty, and pool_drain() takes the whole
 *    queue at once (the memcached hand-off).
 *  - Submissions are batched too: pool_submit() only queues, and the loop
 *    calls pool_kick() once it has read everything the kernel had for it.
 *    A woken worker runs at once, and on a shared core it would take the
 *    CPU from the loop in the middle of its reads; waking one per job
 *    turned every job into two context switches.  A worker that takes a
 *    job and leaves more behind wakes the next sleeping one, so a burst
 *    still spreads over every worker without the loop waking each.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "pool.h"

struct pool {
	pthread_mutex_t	 lock;		/* guards the job queue */
	pthread_cond_t	 cond;
	struct job	*head, *tail;
	size_t		 queued;
	unsigned	 idle;		/* workers waiting on cond */
	size_t		 max_queued;
	bool		 stopping;

	pthread_mutex_t	 done_lock;	/* guards the completion queue */
	pthread_cond_t	 idle_cond;	/* signalled as running drops */
	struct job	*done_head, *done_tail;
	void		(*notify)(void *arg);
	void		*notify_arg;

	_Atomic unsigned busy;
	pthread_t	*threads;
	int		 nthreads;
	int		 started;
};

static void
complete(struct pool *p, struct job *job)
{
	bool was_empty;

	job->next = NULL;
	pthread_mutex_lock(&p->done_lock);
	was_empty = p->done_head == NULL;
	if (was_empty)
		p->done_head = job;
	else
		p->done_tail->next = job;
	p->done_tail = job;
	pthread_mutex_unlock(&p->done_lock);
	if (was_empty)
		p->notify(p->notify_arg);
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	struct job *job;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->cond, &p->lock);
			p->idle--;
		}
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		job = p->head;
		if ((p->head = job->next) == NULL)
			p->tail = NULL;
		else if (p->idle > 0)
			pthread_cond_signal(&p->cond);	/* pass it on */
		p->queued--;
		atomic_fetch_add(&p->busy, 1);
		pthread_mutex_unlock(&p->lock);

		int expected = JOB_QUEUED;
		if (atomic_compare_exchange_strong(&job->state, &expected,
		    JOB_RUNNING)) {
			job->run(job);
			atomic_store(&job->state, JOB_DONE);
		}
		complete(p, job);

		pthread_mutex_lock(&p->done_lock);
		atomic_fetch_sub(&p->busy, 1);
		pthread_cond_broadcast(&p->idle_cond);
		pthread_mutex_unlock(&p->done_lock);
	}
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
	pthread_mutex_init(&p->done_lock, NULL);
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

bool
pool_stop(struct pool *p, long wait_ms)
{
	struct timespec until;

	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);

	if (wait_ms >= 0) {
		/* Do not hang on a handler stuck in a device call. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&p->done_lock);
		while (atomic_load(&p->busy) > 0 || pool_queued(p) > 0) {
			if (pthread_cond_timedwait(&p->idle_cond, &p->done_lock,
			    &until) == ETIMEDOUT)
				break;
		}
		bool stuck = atomic_load(&p->busy) > 0;
		pthread_mutex_unlock(&p->done_lock);
		if (stuck)
			return false;
	}
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
	pthread_mutex_destroy(&p->done_lock);
	pthread_cond_destroy(&p->idle_cond);
	free(p->threads);
	free(p);
}

int
pool_submit(struct pool *p, struct job *job)
{
	pthread_mutex_lock(&p->lock);
	if (p->queued >= p->max_queued || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	atomic_store(&job->state, JOB_QUEUED);
	job->next = NULL;
	if (p->tail == NULL)
		p->head = job;
	else
		p->tail->next = job;
	p->tail = job;
	p->queued++;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void
pool_kick(struct pool *p)
{
	/* Busy workers take the next job without being told; a signal
	 * (a futex call) is needed only for one that sleeps, and one is
	 * enough: it passes the wake on while jobs remain. */
	pthread_mutex_lock(&p->lock);
	if (p->head != NULL && p->idle > 0)
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
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
	struct job *list, *next;
	size_t n = 0;

	pthread_mutex_lock(&p->done_lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->done_lock);

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
	pthread_mutex_lock(&p->lock);
	p->max_queued = max_queued;
	pthread_mutex_unlock(&p->lock);
}

size_t
pool_queued(struct pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->queued;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
pool_threads(struct pool *p)
{
	return p->nthreads;
}

unsigned
pool_idle(struct pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->idle;
	pthread_mutex_unlock(&p->lock);
	return n;
}

unsigned
pool_busy(struct pool *p)
{
	return atomic_load(&p->busy);
}

