/*
 * Unit tests for the event path's pieces: topics and subscription sets
 * (src/topic.c), the bounded per-connection queue (src/evqueue.c) and
 * the bus between publishing threads and the loop (src/events.c).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "evqueue.h"
#include "topic.h"

static void
test_topic_check(void **state)
{
	(void)state;
	assert_null(topic_check("gpio.17", false));
	assert_null(topic_check("timer", false));
	assert_null(topic_check("a-b.c_d.9", false));
	assert_null(topic_check("gpio.*", true));
	assert_null(topic_check("*", true));
	assert_non_null(topic_check("", true));
	assert_non_null(topic_check("gpio.*", false));
	assert_non_null(topic_check("gp*", true));
	assert_non_null(topic_check("*.17", true));
	assert_non_null(topic_check("gpio..17", true));
	assert_non_null(topic_check(".gpio", true));
	assert_non_null(topic_check("gpio.", true));
	assert_non_null(topic_check("gpio 17", true));
	assert_non_null(topic_check("gpio/17", true));
	char longest[TOPIC_MAX + 2];
	memset(longest, 'a', TOPIC_MAX);
	longest[TOPIC_MAX] = '\0';
	assert_null(topic_check(longest, false));
	longest[TOPIC_MAX] = 'a';
	longest[TOPIC_MAX + 1] = '\0';
	assert_non_null(topic_check(longest, false));
}

static void
test_topic_match(void **state)
{
	(void)state;
	assert_true(topic_match("gpio.17", "gpio.17"));
	assert_false(topic_match("gpio.17", "gpio.170"));
	assert_false(topic_match("gpio.1", "gpio.17"));
	assert_true(topic_match("gpio.*", "gpio.17"));
	assert_true(topic_match("gpio.*", "gpio.x.y"));
	assert_false(topic_match("gpio.*", "gpio"));
	assert_false(topic_match("gpio.*", "gpiox.1"));
	assert_true(topic_match("*", "anything.at.all"));
}

static void
test_subs_add_remove_match(void **state)
{
	struct subs s = { 0 };
	char name[32];

	(void)state;
	assert_int_equal(subs_add(&s, "gpio.17"), SUBS_ADDED);
	assert_int_equal(subs_add(&s, "gpio.17"), SUBS_PRESENT);
	assert_int_equal(subs_add(&s, "timer.*"), SUBS_ADDED);
	assert_true(subs_match(&s, "gpio.17"));
	assert_true(subs_match(&s, "timer.tick"));
	assert_false(subs_match(&s, "gpio.18"));
	assert_false(subs_remove(&s, "gpio.18"));
	assert_true(subs_remove(&s, "gpio.17"));
	assert_false(subs_match(&s, "gpio.17"));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.pat[0], "timer.*");
	for (unsigned i = 1; i < SUBS_MAX; i++) {
		snprintf(name, sizeof(name), "t.%u", i);
		assert_int_equal(subs_add(&s, name), SUBS_ADDED);
	}
	assert_int_equal(subs_add(&s, "one.more"), SUBS_FULL);
	/* The order of subscription is kept through a removal. */
	assert_true(subs_remove(&s, "t.1"));
	assert_string_equal(s.pat[0], "timer.*");
	assert_string_equal(s.pat[1], "t.2");
	subs_clear(&s);
	assert_int_equal(s.n, 0);
	assert_false(subs_match(&s, "timer.tick"));
}

static void
test_pevent_text(void **state)
{
	struct pevent *e = pevent_new("gpio.17", "rising 1", 8);

	(void)state;
	assert_string_equal(e->text, "gpio.17 rising 1");
	assert_string_equal(e->topic, "gpio.17");
	assert_int_equal(e->len, 16);
	pevent_unref(e);
	e = pevent_new("tick", "", 0);
	assert_string_equal(e->text, "tick");
	assert_string_equal(e->topic, "tick");
	pevent_unref(e);
}

static void
test_evq_order_and_seq(void **state)
{
	struct evqueue q;
	struct evq_item it;
	struct pevent *e[5];
	char payload[8];

	(void)state;
	evq_init(&q);
	for (int i = 0; i < 5; i++) {
		snprintf(payload, sizeof(payload), "%d", i);
		e[i] = pevent_new("t", payload, strlen(payload));
		assert_int_equal(evq_push(&q, e[i], 16), 0);
	}
	for (int i = 0; i < 5; i++) {
		assert_true(evq_pop(&q, &it));
		assert_ptr_equal(it.ev, e[i]);
		assert_int_equal(it.seq, (uint64_t)i + 1);
		pevent_unref(it.ev);
	}
	assert_false(evq_pop(&q, &it));
	assert_int_equal(evq_take_overflow(&q), 0);
	for (int i = 0; i < 5; i++)
		pevent_unref(e[i]);
	evq_clear(&q);
}

static void
test_evq_drops_the_oldest_past_its_limit(void **state)
{
	struct evqueue q;
	struct evq_item it;
	struct pevent *e = pevent_new("t", "x", 1);
	int dropped = 0;

	(void)state;
	evq_init(&q);
	for (int i = 0; i < 1000; i++)
		dropped += evq_push(&q, e, 10);
	assert_int_equal(dropped, 990);
	assert_int_equal(q.count, 10);
	assert_true(q.cap <= 10);
	assert_int_equal(evq_take_overflow(&q), 990);
	assert_int_equal(evq_take_overflow(&q), 0);
	/* The newest ten remain, numbered 991..1000: the gap shows. */
	for (uint64_t want = 991; want <= 1000; want++) {
		assert_true(evq_pop(&q, &it));
		assert_int_equal(it.seq, want);
		pevent_unref(it.ev);
	}
	/* Every reference the queue took was given back. */
	assert_int_equal(atomic_load(&e->refs), 1);
	evq_push(&q, e, 10);
	evq_clear(&q);
	assert_int_equal(atomic_load(&e->refs), 1);
	pevent_unref(e);
}

/* ---- the bus ---- */

static int wakes;

static void
count_wake(void *arg)
{
	(void)arg;
	wakes++;
}

struct seen {
	char	 text[64][32];
	int	 n;
};

static void
remember(struct pevent *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		snprintf(s->text[s->n], sizeof(s->text[0]), "%s", e->text);
	s->n++;
}

static void
test_bus_wakes_once_per_batch(void **state)
{
	struct events *b = events_new(100, count_wake, NULL);
	struct seen s = { .n = 0 };

	(void)state;
	wakes = 0;
	assert_int_equal(events_publish(b, "gpio.17", "rising 1", 8), 0);
	assert_int_equal(events_publish(b, "gpio.17", "falling 0", 9), 0);
	assert_int_equal(events_publish(b, "timer", NULL, 0), 0);
	assert_int_equal(wakes, 1);
	assert_int_equal(events_drain(b, remember, &s), 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[0], "gpio.17 rising 1");
	assert_string_equal(s.text[1], "gpio.17 falling 0");
	assert_string_equal(s.text[2], "timer");
	assert_int_equal(events_publish(b, "timer", NULL, 0), 0);
	assert_int_equal(wakes, 2);
	assert_int_equal(events_published(b), 4);
	events_free(b);	/* with one still queued: freed, no leak */
}

static void
test_bus_refuses_bad_topics_and_bounds_its_queue(void **state)
{
	struct events *b = events_new(3, count_wake, NULL);
	struct seen s = { .n = 0 };

	(void)state;
	errno = 0;
	assert_int_equal(events_publish(b, "gpio.*", "x", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(events_publish(b, "", "x", 1), -1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(events_publish(b, "t", "x", 1), 0);
	errno = 0;
	assert_int_equal(events_publish(b, "t", "x", 1), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(events_dropped(b), 1);
	assert_int_equal(events_drain(b, remember, &s), 3);
	assert_int_equal(events_publish(b, "t", "x", 1), 0);
	events_drain(b, remember, &s);
	events_free(b);
}

#define THREADS 4
#define PER_THREAD 5000

static void *
publisher(void *arg)
{
	struct events *b = arg;
	char payload[16];

	for (int i = 0; i < PER_THREAD; i++) {
		int n = snprintf(payload, sizeof(payload), "%d", i);

		while (events_publish(b, "load", payload, (size_t)n) == -1)
			sched_yield();	/* full: the drain makes room */
	}
	return NULL;
}

struct order_check {
	long	 total;
};

static void
count_event(struct pevent *e, void *arg)
{
	struct order_check *c = arg;

	(void)e;
	c->total++;
}

static void
noop_wake(void *arg)
{
	(void)arg;
}

/* Publishers on several threads, the loop's drain on this one: nothing
 * lost, nothing twice (run under TSan and valgrind like the rest). */
static void
test_bus_from_many_threads(void **state)
{
	struct events *b = events_new(256, noop_wake, NULL);
	struct order_check c = { 0 };
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, publisher, b), 0);
	while (c.total < (long)THREADS * PER_THREAD)
		events_drain(b, count_event, &c);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(events_drain(b, count_event, &c), 0);
	assert_int_equal(c.total, (long)THREADS * PER_THREAD);
	assert_int_equal(events_published(b), (uint64_t)THREADS * PER_THREAD);
	events_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_check),
		cmocka_unit_test(test_topic_match),
		cmocka_unit_test(test_subs_add_remove_match),
		cmocka_unit_test(test_pevent_text),
		cmocka_unit_test(test_evq_order_and_seq),
		cmocka_unit_test(test_evq_drops_the_oldest_past_its_limit),
		cmocka_unit_test(test_bus_wakes_once_per_batch),
		cmocka_unit_test(test_bus_refuses_bad_topics_and_bounds_its_queue),
		cmocka_unit_test(test_bus_from_many_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
