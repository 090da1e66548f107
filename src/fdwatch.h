/*
 * File descriptors plugins hand the daemon to watch (api->watch_fd): when
 * one becomes readable, the plugin's callback runs on a worker thread,
 * never on the loop thread, and the descriptor is not watched again until
 * the callback has returned.  That is how the gpio plugin waits for the
 * edges of many lines with no thread of its own.
 *
 * watch and unwatch may be called from any thread (a handler on a
 * worker, usually).  After unwatch returns, the loop no longer looks at
 * the descriptor; a callback already queued or running may still run
 * once, so the plugin checks its own state there (the gpio plugin does,
 * under the line's mutex).  Watches left when the server stops are
 * removed by fdwatch_stop_all() before the plugins' fini.
 */
#ifndef PICMD_FDWATCH_H
#define PICMD_FDWATCH_H

#include "pool.h"

struct event_base;
struct fdwatch;
struct fdwatch_set;

struct fdwatch_set *fdwatch_set_new(struct event_base *base,
	    struct pool *pool);
/* Remove every watch still there (loop thread, workers stopped). */
void	fdwatch_set_free(struct fdwatch_set *set);

struct fdwatch *fdwatch_add(struct fdwatch_set *set, int fd,
	    void (*cb)(int fd, void *arg), void *arg);
void	fdwatch_remove(struct fdwatch *w);

/* The pool hands a watch's job back here (loop thread): true when job
 * was one of ours. */
int	fdwatch_job_done(struct job *job);

#endif
