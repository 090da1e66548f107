#include <stdint.h>

#include "deadline.h"
#include "log.h"
#include "request.h"

bool
deadline_passed(const struct timespec *deadline, const struct timespec *now)
{
	return now->tv_sec > deadline->tv_sec || (now->tv_sec ==
	    deadline->tv_sec && now->tv_nsec >= deadline->tv_nsec);
}

static bool
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec < b->tv_nsec);
}

/* Set the timer for `at`, rounding up so it never fires early by our
 * clock; libevent's own clock may still differ a little, and an early
 * run only finds nothing due and sets the timer again. */
static void
set_timer(struct deadlines *d, const struct timespec *at,
    const struct timespec *now)
{
	struct timeval tv = { 0, 0 };
	int64_t ns;

	ns = (int64_t)(at->tv_sec - now->tv_sec) * 1000000000 +
	    (at->tv_nsec - now->tv_nsec);
	if (ns > 0) {
		int64_t us = (ns + 999) / 1000;

		tv.tv_sec = (time_t)(us / 1000000);
		tv.tv_usec = (suseconds_t)(us % 1000000);
	}
	if (event_add(d->timer, &tv) == -1) {
		/* Cannot happen with a valid timer; without it, requests
		 * would only end when their results come back. */
		log_warnx("cannot set the command timer");
		d->timer_set = false;
		return;
	}
	d->timer_set = true;
	d->timer_at = *at;
}

static void
deadline_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deadlines *d = arg;
	struct request *r;
	struct timespec now;

	(void)fd;
	(void)what;
	d->timer_set = false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Take the head afresh each time: expiring one request can close
	 * its client, which disarms that client's other requests. */
	while ((r = TAILQ_FIRST(&d->list)) != NULL &&
	    deadline_passed(&r->ctx.deadline, &now)) {
		deadline_disarm(d, r);
		d->expire(r, d->arg);
	}
	if (r != NULL && !d->timer_set)
		set_timer(d, &r->ctx.deadline, &now);
}

int
deadlines_init(struct deadlines *d, struct event_base *base,
    void (*expire)(struct request *r, void *arg), void *arg)
{
	TAILQ_INIT(&d->list);
	d->timer_set = false;
	d->expire = expire;
	d->arg = arg;
	d->timer = evtimer_new(base, deadline_timer_cb, d);
	return d->timer == NULL ? -1 : 0;
}

void
deadlines_free(struct deadlines *d)
{
	struct request *r;

	while ((r = TAILQ_FIRST(&d->list)) != NULL)
		deadline_disarm(d, r);
	if (d->timer != NULL)
		event_free(d->timer);
	d->timer = NULL;
}

void
deadline_arm(struct deadlines *d, struct request *r,
    const struct timespec *now)
{
	struct request *prev = TAILQ_LAST(&d->list, deadline_list);

	while (prev != NULL && before(&r->ctx.deadline, &prev->ctx.deadline))
		prev = TAILQ_PREV(prev, deadline_list, deadline_link);
	if (prev != NULL)
		TAILQ_INSERT_AFTER(&d->list, prev, r, deadline_link);
	else
		TAILQ_INSERT_HEAD(&d->list, r, deadline_link);
	r->deadline_armed = true;
	/* Disarming leaves the timer as it is, so it may be set for a
	 * request already gone: that is early, never late.  Only a new
	 * head earlier than the timer moves it. */
	if (TAILQ_FIRST(&d->list) == r &&
	    (!d->timer_set || before(&r->ctx.deadline, &d->timer_at)))
		set_timer(d, &r->ctx.deadline, now);
}

void
deadline_disarm(struct deadlines *d, struct request *r)
{
	if (!r->deadline_armed)
		return;
	TAILQ_REMOVE(&d->list, r, deadline_link);
	r->deadline_armed = false;
}

void
deadlines_expire_all(struct deadlines *d,
    void (*expire)(struct request *r, void *arg), void *arg)
{
	struct request *r;

	/* The head afresh each time, as in the timer: expiring one request
	 * may close its client and disarm that client's others. */
	while ((r = TAILQ_FIRST(&d->list)) != NULL) {
		deadline_disarm(d, r);
		expire(r, arg);
	}
}
