/*
 * The event bus: events published on any thread (plugin handlers, plugin
 * threads, the loop itself) go through one queue to the loop thread,
 * which fans them out to the subscribed connections.
 *
 * Publishing takes a lock for a pointer swap and wakes the loop only
 * when the queue goes from empty to non-empty (as the pool's completions
 * do), so a burst of edges costs one wake-up.  The queue is bounded: a
 * publisher faster than the loop loses events (counted) rather than
 * memory.
 */
#ifndef PICMD_EVENTS_H
#define PICMD_EVENTS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "evqueue.h"

struct events;

/* wake(arg) runs on the publishing thread and must wake the loop, which
 * then calls events_drain(). */
struct events *events_new(size_t max_pending, void (*wake)(void *arg),
	    void *arg);
void	events_free(struct events *b);	/* drops what is still queued */

/*
 * Publish "topic payload" (any thread).  0 when queued; -1 with errno
 * EINVAL for a bad topic, ENOBUFS when the bus is full, ENOMEM.
 */
int	events_publish(struct events *b, const char *topic,
	    const char *payload, size_t payload_len);

/* Loop thread: hand each queued event to deliver(), oldest first, then
 * drop the bus's reference; returns how many. */
size_t	events_drain(struct events *b,
	    void (*deliver)(struct pevent *e, void *arg), void *arg);

/* Counters for STATS (any thread). */
uint64_t events_published(const struct events *b);
uint64_t events_dropped(const struct events *b);	/* on the bus */

#endif
