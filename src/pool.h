/*
 * The worker pool: a bounded queue of jobs, a fixed set of worker threads,
 * and a completion queue that hands finished jobs back to the loop thread.
 *
 * Every submitted job comes back exactly once through pool_drain(), whether
 * it ran or was cancelled before it started, so its owner (the loop thread)
 * always knows when a job's memory is no longer shared.
 */
#ifndef PICMD_POOL_H
#define PICMD_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum job_state {
	JOB_QUEUED = 0,
	JOB_RUNNING,
	JOB_CANCELLED,	/* cancelled while queued: never runs */
	JOB_DONE,
};

struct job {
	struct job	*next;		/* queue link, owned by the pool */
	_Atomic int	 state;		/* enum job_state */
	void		(*run)(struct job *job);	/* on a worker */
};

struct pool;

/*
 * notify is called from a worker thread when the completion queue goes
 * from empty to non-empty; it must wake the loop thread, which then calls
 * pool_drain().  One wake-up covers any number of completions.
 */
struct pool *pool_new(int nthreads, size_t max_queued,
	    void (*notify)(void *arg), void *arg);
/* Let queued jobs run, then join the workers.  Returns false (and does not
 * join) when a handler is still running after the caller's deadline. */
bool	pool_stop(struct pool *p, long wait_ms);
/* After pool_stop() gave up on a stuck handler, with the process about to
 * exit: join the workers that leave (they saw stopping), detach the stuck
 * ones, so that no thread that finishes goes unjoined.  The pool stays
 * allocated for them. */
void	pool_abandon(struct pool *p);
void	pool_free(struct pool *p);

/* Queue a job; -1 when max_queued jobs are already waiting. */
/*
 * The loop thread's side: pool_submit() takes a job (-1 when the queue is
 * full or the pool is stopping), but nothing submitted runs before the
 * next pool_kick(), which hands the batch to the workers at once.  These
 * two, pool_set_max_queued() and pool_queued() belong to one thread.
 */
int	pool_submit(struct pool *p, struct job *job);
void	pool_kick(struct pool *p);
/* pool_submit() past max_queued (a failsafe must not wait for room);
 * -1 only when the pool is stopping. */
int	pool_submit_urgent(struct pool *p, struct job *job);
/* Cancel a job that has not started; true when it will never run. */
bool	pool_cancel(struct job *job);
/* Hand every completed job to done(); returns how many. */
size_t	pool_drain(struct pool *p, void (*done)(struct job *job, void *arg),
	    void *arg);
/* The same, calling first(arg) once the batch is taken and before any
 * of it is handed out: what the jobs did before finishing (publish an
 * event) can be dealt with before their results. */
size_t	pool_drain_after(struct pool *p, void (*first)(void *arg),
	    void (*done)(struct job *job, void *arg), void *arg);

void	pool_set_max_queued(struct pool *p, size_t max_queued);
size_t	pool_queued(struct pool *p);
int	pool_threads(struct pool *p);
/* Workers running a job: each has started it, none can be cancelled. */
unsigned pool_busy(struct pool *p);
unsigned pool_idle(struct pool *p);	/* workers asleep, waiting for work */

#endif
