/*
 * Command deadlines: every request on a worker is on one list, ordered by
 * deadline, with one timer for the earliest.
 *
 * All requests of a configuration share one timeout, so a new deadline is
 * almost always the latest and goes on the tail: arming and disarming are
 * a list insert and remove, with no per-request timer, heap or lock.  A
 * reload that shortens the timeout is the rare insert that walks back.
 * Loop thread only.
 */
#ifndef PICMD_DEADLINE_H
#define PICMD_DEADLINE_H

#include <stdbool.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

struct request;
TAILQ_HEAD(deadline_list, request);

struct deadlines {
	struct deadline_list	 list;		/* earliest first */
	struct event		*timer;		/* for the head, or later */
	bool			 timer_set;
	struct timespec		 timer_at;	/* when the timer fires */
	void			(*expire)(struct request *r, void *arg);
	void			*arg;
};

int	deadlines_init(struct deadlines *d, struct event_base *base,
	    void (*expire)(struct request *r, void *arg), void *arg);
void	deadlines_free(struct deadlines *d);

/* Watch r->ctx.deadline; now is the loop's cached clock. */
void	deadline_arm(struct deadlines *d, struct request *r,
	    const struct timespec *now);
void	deadline_disarm(struct deadlines *d, struct request *r);
/* End every armed request now, whatever its deadline, through expire
 * instead of d's own callback (the drain deadline at shutdown). */
void	deadlines_expire_all(struct deadlines *d,
	    void (*expire)(struct request *r, void *arg), void *arg);
bool	deadline_passed(const struct timespec *deadline,
	    const struct timespec *now);

#endif
