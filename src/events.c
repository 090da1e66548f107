/*
 * The event bus (events.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "events.h"
#include "topic.h"

struct events {
	pthread_mutex_t	 lock;
	struct pevent	*head;		/* oldest */
	struct pevent	*tail;
	size_t		 pending;
	size_t		 max_pending;
	void		(*wake)(void *arg);
	void		*wake_arg;
	atomic_uint_fast64_t published;
	atomic_uint_fast64_t dropped;
};

struct events *
events_new(size_t max_pending, void (*wake)(void *arg), void *arg)
{
	struct events *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->max_pending = max_pending ? max_pending : 1;
	b->wake = wake;
	b->wake_arg = arg;
	atomic_init(&b->published, 0);
	atomic_init(&b->dropped, 0);
	return b;
}

void
events_free(struct events *b)
{
	struct pevent *e, *next;

	if (b == NULL)
		return;
	for (e = b->head; e != NULL; e = next) {
		next = e->next;
		pevent_unref(e);
	}
	pthread_mutex_destroy(&b->lock);
	free(b);
}

int
events_publish(struct events *b, const char *topic, const char *payload,
    size_t payload_len)
{
	struct pevent *e;
	bool was_empty, full;

	if (topic_check(topic, false) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((e = pevent_new(topic, payload, payload_len)) == NULL) {
		atomic_fetch_add(&b->dropped, 1);
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&b->lock);
	full = b->pending >= b->max_pending;
	was_empty = b->head == NULL;
	if (!full) {
		if (b->tail != NULL)
			b->tail->next = e;
		else
			b->head = e;
		b->tail = e;
		b->pending++;
	}
	pthread_mutex_unlock(&b->lock);
	if (full) {
		pevent_unref(e);
		atomic_fetch_add(&b->dropped, 1);
		errno = ENOBUFS;
		return -1;
	}
	atomic_fetch_add(&b->published, 1);
	if (was_empty && b->wake != NULL)
		b->wake(b->wake_arg);
	return 0;
}

size_t
events_drain(struct events *b, void (*deliver)(struct pevent *e, void *arg),
    void *arg)
{
	struct pevent *e, *next;
	size_t n = 0;

	/* Take the whole list under the lock, deliver without it: a
	 * publisher never waits for a fan-out. */
	pthread_mutex_lock(&b->lock);
	e = b->head;
	b->head = b->tail = NULL;
	b->pending = 0;
	pthread_mutex_unlock(&b->lock);
	for (; e != NULL; e = next) {
		next = e->next;
		e->next = NULL;
		deliver(e, arg);
		pevent_unref(e);
		n++;
	}
	return n;
}

uint64_t
events_published(const struct events *b)
{
	return atomic_load(&((struct events *)b)->published);
}

uint64_t
events_dropped(const struct events *b)
{
	return atomic_load(&((struct events *)b)->dropped);
}
