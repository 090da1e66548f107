/*
 * Shared events and per-connection bounded queues (evqueue.h).
 */
#include <stdlib.h>
#include <string.h>

#include "evqueue.h"

struct pevent *
pevent_new(const char *topic, const char *payload, size_t payload_len)
{
	size_t tlen = strlen(topic);
	size_t len = tlen + (payload_len ? 1 + payload_len : 0);
	struct pevent *e = malloc(sizeof(*e) + len + 1 + tlen + 1);

	if (e == NULL)
		return NULL;
	e->next = NULL;
	atomic_init(&e->refs, 1);
	e->len = len;
	/* The topic once more on its own, for matching without a copy. */
	memcpy(e->text + len + 1, topic, tlen + 1);
	e->topic = e->text + len + 1;
	memcpy(e->text, topic, tlen);
	if (payload_len) {
		e->text[tlen] = ' ';
		memcpy(e->text + tlen + 1, payload, payload_len);
	}
	e->text[len] = '\0';
	return e;
}

struct pevent *
pevent_ref(struct pevent *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return e;
}

void
pevent_unref(struct pevent *e)
{
	if (e != NULL &&
	    atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
		free(e);
}

void
evq_init(struct evqueue *q)
{
	memset(q, 0, sizeof(*q));
}

/* Room for one more, growing by doubling up to max slots. */
static int
evq_grow(struct evqueue *q, size_t max)
{
	size_t cap = q->cap ? q->cap * 2 : 8;
	struct evq_item *ring;

	if (cap > max)
		cap = max;
	if ((ring = malloc(cap * sizeof(*ring))) == NULL)
		return -1;
	/* Unwrap into the new ring, oldest first. */
	for (size_t i = 0; i < q->count; i++)
		ring[i] = q->ring[(q->head + i) % q->cap];
	free(q->ring);
	q->ring = ring;
	q->head = 0;
	q->cap = cap;
	return 0;
}

int
evq_push(struct evqueue *q, struct pevent *e, size_t max)
{
	int dropped = 0;
	struct evq_item it;

	if (max == 0)
		max = 1;
	q->next_seq++;
	if (q->count >= max) {
		evq_pop(q, &it);
		pevent_unref(it.ev);
		q->overflow++;
		dropped = 1;
	}
	if (q->count == q->cap && evq_grow(q, max) == -1) {
		q->overflow++;
		return -1;
	}
	q->ring[(q->head + q->count) % q->cap] =
	    (struct evq_item){ pevent_ref(e), q->next_seq };
	q->count++;
	return dropped;
}

bool
evq_pop(struct evqueue *q, struct evq_item *out)
{
	if (q->count == 0)
		return false;
	*out = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	return true;
}

uint64_t
evq_take_overflow(struct evqueue *q)
{
	uint64_t n = q->overflow;

	q->overflow = 0;
	return n;
}

void
evq_clear(struct evqueue *q)
{
	struct evq_item it;

	while (evq_pop(q, &it))
		pevent_unref(it.ev);
	free(q->ring);
	q->ring = NULL;
	q->head = q->count = q->cap = 0;
}
