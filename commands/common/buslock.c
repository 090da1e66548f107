/*
 * Per-bus mutexes made on first use; buslock.h says why.  A short list:
 * a Pi has a handful of buses, and only buses that opened get a lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "buslock.h"

struct buslock {
	struct buslock	*next;
	unsigned long	 key;
	pthread_mutex_t	 mu;
};

struct buslock_set {
	pthread_mutex_t	 mu;		/* guards the list, not the locks */
	struct buslock	*head;
};

struct buslock_set *
buslock_set_new(void)
{
	struct buslock_set *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	if (pthread_mutex_init(&set->mu, NULL) != 0) {
		free(set);
		return NULL;
	}
	return set;
}

void
buslock_set_free(struct buslock_set *set)
{
	struct buslock *l, *next;

	if (set == NULL)
		return;
	for (l = set->head; l != NULL; l = next) {
		next = l->next;
		pthread_mutex_destroy(&l->mu);
		free(l);
	}
	pthread_mutex_destroy(&set->mu);
	free(set);
}

/* key's lock, made when missing; NULL when out of memory. */
static struct buslock *
find(struct buslock_set *set, unsigned long key)
{
	struct buslock *l;

	pthread_mutex_lock(&set->mu);
	for (l = set->head; l != NULL; l = l->next)
		if (l->key == key)
			break;
	if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		if (pthread_mutex_init(&l->mu, NULL) != 0) {
			free(l);
			l = NULL;
		} else {
			l->key = key;
			l->next = set->head;
			set->head = l;
		}
	}
	pthread_mutex_unlock(&set->mu);
	return l;
}

/*
 * pthread_mutex_timedlock rather than clocklock, as gpio does:
 * ThreadSanitizer understands only the former (its deadline is on
 * CLOCK_REALTIME).
 */
struct buslock *
buslock_lock(struct buslock_set *set, unsigned long key, long wait_ms)
{
	struct buslock *l;
	struct timespec ts;
	int rc;

	if ((l = find(set, key)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (wait_ms < 0)
		wait_ms = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if ((rc = pthread_mutex_timedlock(&l->mu, &ts)) != 0) {
		errno = rc;
		return NULL;
	}
	return l;
}

void
buslock_unlock(struct buslock *lock)
{
	pthread_mutex_unlock(&lock->mu);
}
