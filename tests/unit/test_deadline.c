/*
 * Unit tests for src/deadline.c: requests expire in deadline order, an
 * earlier deadline armed after a later one moves the timer, a disarmed
 * request never expires, the list empties, and the drain deadline ends
 * every request at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "deadline.h"
#include "request.h"

#define MAX_EXPIRED 8

struct record {
	struct request	*order[MAX_EXPIRED];
	int		 n;
	struct event_base *base;
	struct request	*stop_after;	/* leave the loop when it expires */
};

static void
record_expire(struct request *r, void *arg)
{
	struct record *rec = arg;

	if (rec->n < MAX_EXPIRED)
		rec->order[rec->n++] = r;
	if (r == rec->stop_after)
		event_base_loopbreak(rec->base);
}

static void
at(struct request *r, const struct timespec *now, long ms)
{
	memset(r, 0, sizeof(*r));
	timespec_after_ms(&r->ctx.deadline, now, ms);
}

/* Run the loop until rec->stop_after expires, for at most limit_s. */
static void
run(struct record *rec, int limit_s)
{
	struct timeval limit = { limit_s, 0 };

	event_base_loopexit(rec->base, &limit);
	event_base_dispatch(rec->base);
}

static void
test_expire_in_deadline_order(void **state)
{
	struct record rec = { .n = 0 };
	struct deadlines d;
	struct request a, b, c, e, gone;
	struct timespec now;

	assert_non_null(rec.base = event_base_new());
	assert_int_equal(deadlines_init(&d, rec.base, record_expire, &rec), 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	at(&a, &now, 60);
	at(&b, &now, 20);	/* before a: walks back */
	at(&c, &now, 60);	/* the same as a: after it */
	at(&gone, &now, 30);
	at(&e, &now, 90);
	deadline_arm(&d, &a, &now);
	deadline_arm(&d, &b, &now);
	deadline_arm(&d, &c, &now);
	deadline_arm(&d, &gone, &now);
	deadline_arm(&d, &e, &now);
	assert_true(gone.deadline_armed);
	deadline_disarm(&d, &gone);
	assert_false(gone.deadline_armed);
	deadline_disarm(&d, &gone);	/* twice is harmless */

	rec.stop_after = &e;
	run(&rec, 10);
	assert_int_equal(rec.n, 4);
	assert_ptr_equal(rec.order[0], &b);
	assert_ptr_equal(rec.order[1], &a);
	assert_ptr_equal(rec.order[2], &c);
	assert_ptr_equal(rec.order[3], &e);
	assert_true(TAILQ_EMPTY(&d.list));
	for (int i = 0; i < rec.n; i++)
		assert_false(rec.order[i]->deadline_armed);

	deadlines_free(&d);
	event_base_free(rec.base);
}

/* A later deadline first sets the timer far ahead; an earlier one armed
 * next must move it, or it would wait for the later one. */
static void
test_earlier_deadline_moves_the_timer(void **state)
{
	struct record rec = { .n = 0 };
	struct deadlines d;
	struct request late, soon;
	struct timespec now, done;

	assert_non_null(rec.base = event_base_new());
	assert_int_equal(deadlines_init(&d, rec.base, record_expire, &rec), 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	at(&late, &now, 60000);
	at(&soon, &now, 10);
	deadline_arm(&d, &late, &now);
	deadline_arm(&d, &soon, &now);

	rec.stop_after = &soon;
	run(&rec, 30);
	clock_gettime(CLOCK_MONOTONIC, &done);
	assert_int_equal(rec.n, 1);
	assert_ptr_equal(rec.order[0], &soon);
	assert_true(deadline_passed(&soon.ctx.deadline, &done));
	assert_false(deadline_passed(&late.ctx.deadline, &done));
	assert_true(late.deadline_armed);

	deadlines_free(&d);	/* disarms what is left */
	assert_false(late.deadline_armed);
	event_base_free(rec.base);
}

/* For the drain deadline: expiring one request may close its client,
 * which disarms that client's other requests (here: `also`). */
struct expire_all {
	struct record	 rec;
	struct deadlines *d;
	struct request	*first, *also;
};

static void
expire_all_cb(struct request *r, void *arg)
{
	struct expire_all *ea = arg;

	record_expire(r, &ea->rec);
	if (r == ea->first)
		deadline_disarm(ea->d, ea->also);
}

/* Every armed request ends at once, in deadline order, through the
 * callback given rather than the list's own, long before its deadline. */
static void
test_expire_all_now(void **state)
{
	struct record own = { .n = 0 };
	struct expire_all ea = { .rec = { .n = 0 } };
	struct deadlines d;
	struct request a, b, c, also;
	struct timespec now;

	assert_non_null(own.base = event_base_new());
	assert_int_equal(deadlines_init(&d, own.base, record_expire, &own), 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	at(&a, &now, 60000);
	at(&b, &now, 30000);
	at(&also, &now, 40000);
	at(&c, &now, 50000);
	deadline_arm(&d, &a, &now);
	deadline_arm(&d, &b, &now);
	deadline_arm(&d, &also, &now);
	deadline_arm(&d, &c, &now);
	ea.d = &d;
	ea.first = &b;
	ea.also = &also;

	deadlines_expire_all(&d, expire_all_cb, &ea);
	assert_int_equal(ea.rec.n, 3);
	assert_ptr_equal(ea.rec.order[0], &b);
	assert_ptr_equal(ea.rec.order[1], &c);
	assert_ptr_equal(ea.rec.order[2], &a);
	assert_int_equal(own.n, 0);
	assert_true(TAILQ_EMPTY(&d.list));
	assert_false(a.deadline_armed || b.deadline_armed ||
	    c.deadline_armed || also.deadline_armed);
	deadlines_expire_all(&d, expire_all_cb, &ea);	/* nothing left */
	assert_int_equal(ea.rec.n, 3);

	/* The timer, still set for b, finds nothing due. */
	event_base_loop(own.base, EVLOOP_NONBLOCK);
	assert_int_equal(own.n, 0);
	deadlines_free(&d);
	event_base_free(own.base);
}

static void
test_deadline_passed(void **state)
{
	struct timespec dl = { 10, 500 }, now;

	now = (struct timespec){ 10, 499 };
	assert_false(deadline_passed(&dl, &now));
	now = (struct timespec){ 10, 500 };
	assert_true(deadline_passed(&dl, &now));	/* at it is late */
	now = (struct timespec){ 9, 999999999 };
	assert_false(deadline_passed(&dl, &now));
	now = (struct timespec){ 11, 0 };
	assert_true(deadline_passed(&dl, &now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expire_in_deadline_order),
		cmocka_unit_test(test_earlier_deadline_moves_the_timer),
		cmocka_unit_test(test_expire_all_now),
		cmocka_unit_test(test_deadline_passed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
