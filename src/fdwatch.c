/*
 * Descriptors watched for plugins (fdwatch.h).
 *
 * A watch's read event is not persistent: it fires once, the loop hands
 * the callback to the pool as a job, and the event is added again when
 * the job comes back.  The watch's memory is shared by the loop (the
 * event and the job) and the thread that removes it, so it carries a
 * reference count: one for being registered, one while a job is out.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "fdwatch.h"
#include "log.h"

struct fdwatch {
	struct job		 job;		/* first: the pool's view */
	struct event		 ev;
	struct fdwatch_set	*set;
	int			 fd;
	void			(*cb)(int fd, void *arg);
	void			*arg;
	pthread_mutex_t		 lock;		/* busy, closing, adding ev */
	bool			 busy;		/* a job is out */
	bool			 closing;	/* removed: never again */
	atomic_uint		 refs;
	LIST_ENTRY(fdwatch)	 link;		/* in set, while registered */
};

struct fdwatch_set {
	struct event_base	*base;
	struct pool		*pool;
	pthread_mutex_t		 lock;		/* the list */
	LIST_HEAD(, fdwatch)	 all;
};

static void fdwatch_ready(evutil_socket_t fd, short what, void *arg);

static void
fdwatch_unref(struct fdwatch *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1) {
		pthread_mutex_destroy(&w->lock);
		free(w);
	}
}

/* On a worker. */
static void
fdwatch_run(struct job *job)
{
	struct fdwatch *w = (struct fdwatch *)job;

	w->cb(w->fd, w->arg);
}

struct fdwatch_set *
fdwatch_set_new(struct event_base *base, struct pool *pool)
{
	struct fdwatch_set *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return NULL;
	set->base = base;
	set->pool = pool;
	pthread_mutex_init(&set->lock, NULL);
	LIST_INIT(&set->all);
	return set;
}

struct fdwatch *
fdwatch_add(struct fdwatch_set *set, int fd, void (*cb)(int fd, void *arg),
    void *arg)
{
	struct fdwatch *w;

	if (set == NULL || fd < 0 || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->job.run = fdwatch_run;
	w->set = set;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	atomic_init(&w->refs, 1);
	/* event_assign/event_add are safe from any thread once libevent
	 * has its locks (evthread_use_pthreads). */
	event_assign(&w->ev, set->base, fd, EV_READ, fdwatch_ready, w);
	pthread_mutex_lock(&set->lock);
	LIST_INSERT_HEAD(&set->all, w, link);
	pthread_mutex_unlock(&set->lock);
	if (event_add(&w->ev, NULL) == -1) {
		pthread_mutex_lock(&set->lock);
		LIST_REMOVE(w, link);
		pthread_mutex_unlock(&set->lock);
		fdwatch_unref(w);
		errno = EIO;
		return NULL;
	}
	return w;
}

void
fdwatch_remove(struct fdwatch *w)
{
	struct fdwatch_set *set;

	if (w == NULL)
		return;
	set = w->set;
	/* closing first: a job coming back now does not add the event
	 * again; then event_del, which waits for a running fdwatch_ready. */
	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_mutex_unlock(&w->lock);
	event_del(&w->ev);
	pthread_mutex_lock(&set->lock);
	LIST_REMOVE(w, link);
	pthread_mutex_unlock(&set->lock);
	fdwatch_unref(w);
}

/* Loop thread: retry a job the pool had no room for (the retry holds
 * a reference). */
static void
fdwatch_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fdwatch_ready(-1, EV_TIMEOUT, arg);
	fdwatch_unref(arg);
}

/* Loop thread: the descriptor is readable; hand the callback over. */
static void
fdwatch_ready(evutil_socket_t fd, short what, void *arg)
{
	struct fdwatch *w = arg;
	struct timeval later = { 0, 10000 };

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->lock);
	if (w->closing || w->busy) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	w->busy = true;
	atomic_fetch_add(&w->refs, 1);
	pthread_mutex_unlock(&w->lock);
	atomic_store(&w->job.state, JOB_QUEUED);
	if (pool_submit(w->set->pool, &w->job) == 0) {
		pool_kick(w->set->pool);
		return;
	}
	/* Queue full (the clients keep every worker busy) or stopping:
	 * try again shortly rather than spin on a readable descriptor. */
	pthread_mutex_lock(&w->lock);
	w->busy = false;
	if (!w->closing &&
	    event_base_once(w->set->base, -1, EV_TIMEOUT, fdwatch_retry, w,
	    &later) == 0)
		atomic_fetch_add(&w->refs, 1);
	pthread_mutex_unlock(&w->lock);
	fdwatch_unref(w);
}

int
fdwatch_job_done(struct job *job)
{
	struct fdwatch *w = (struct fdwatch *)job;

	if (job->run != fdwatch_run)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->busy = false;
	if (!w->closing)
		event_add(&w->ev, NULL);
	pthread_mutex_unlock(&w->lock);
	fdwatch_unref(w);
	return 1;
}

void
fdwatch_set_free(struct fdwatch_set *set)
{
	struct fdwatch *w;

	if (set == NULL)
		return;
	while ((w = LIST_FIRST(&set->all)) != NULL) {
		log_debug("a plugin's descriptor %d was still watched", w->fd);
		fdwatch_remove(w);
	}
	pthread_mutex_destroy(&set->lock);
	free(set);
}
