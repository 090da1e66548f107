/*
 * Published events and the bounded queue of events waiting for one
 * connection.
 *
 * An event is made once by the publisher (any thread) and shared by
 * every subscriber it is queued for (a reference count), so fanning one
 * edge out to a hundred connections copies a pointer, not a line.  A
 * connection's queue holds at most its limit; a new event past it drops
 * the oldest, which the connection reports once ("! overflow <n>") before
 * the next event it sends.  Each queued event gets the connection's next
 * sequence number, dropped ones included, so a client sees the gap.
 * Queues are loop thread only; the reference count is atomic because a
 * publisher's thread drops its own reference too.
 */
#ifndef PICMD_EVQUEUE_H
#define PICMD_EVQUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pevent {
	struct pevent	*next;		/* the bus's queue to the loop */
	atomic_uint	 refs;
	const char	*topic;		/* NUL-terminated, after text */
	size_t		 len;		/* of text, "topic payload" */
	char		 text[];	/* NUL-terminated */
};

/* "topic payload" (payload may be empty); NULL when out of memory. */
struct pevent *pevent_new(const char *topic, const char *payload,
	    size_t payload_len);
struct pevent *pevent_ref(struct pevent *e);
void	pevent_unref(struct pevent *e);

struct evq_item {
	struct pevent	*ev;
	uint64_t	 seq;
};

struct evqueue {
	struct evq_item	*ring;
	size_t		 head;		/* oldest */
	size_t		 count;
	size_t		 cap;		/* allocated slots */
	uint64_t	 next_seq;	/* numbers given so far */
	uint64_t	 overflow;	/* dropped since the last report */
};

void	evq_init(struct evqueue *q);
/*
 * Queue a reference to e with the next sequence number; with max events
 * already queued, the oldest is dropped first.  Returns the number
 * dropped (0 or 1), or -1 when out of memory (e not queued, still
 * counted as dropped).
 */
int	evq_push(struct evqueue *q, struct pevent *e, size_t max);
/* The oldest event, or false when empty; the caller owns its reference. */
bool	evq_pop(struct evqueue *q, struct evq_item *out);
/* Dropped events not yet reported, and forget them. */
uint64_t evq_take_overflow(struct evqueue *q);
void	evq_clear(struct evqueue *q);	/* drops everything, frees memory */

#endif
