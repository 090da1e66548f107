/*
 * One mutex per bus (or per device), made the first time the bus is
 * used: the bus plugins cannot know at init which buses will exist (an
 * adapter can appear later, i2c-stub or an overlay loaded at run time),
 * and a transaction of several steps (a register pointer written, then
 * read; an SPI mode set, then the transfer) must not interleave with
 * another client's on the same bus.
 *
 * A lock is never freed before buslock_set_free(), so a handle stays
 * valid; callers make one only for a bus that opened, so a client naming
 * random buses cannot grow the set.  Thread-safe.
 */
#ifndef PICMD_COMMON_BUSLOCK_H
#define PICMD_COMMON_BUSLOCK_H

#pragma GCC visibility push(hidden)

struct buslock_set;
struct buslock;

/* NULL when out of memory. */
struct buslock_set *buslock_set_new(void);
/* After every lock was unlocked (the plugin's fini). */
void	buslock_set_free(struct buslock_set *set);

/*
 * Lock key's mutex, waiting at most wait_ms (a handler passes what is
 * left of its command's time, so a worker never waits for a result that
 * will be thrown away).  The locked handle, or NULL with errno: ETIMEDOUT
 * when someone else held it all that time, ENOMEM.
 */
struct buslock *buslock_lock(struct buslock_set *set, unsigned long key,
	    long wait_ms);
void	buslock_unlock(struct buslock *lock);

#pragma GCC visibility pop

#endif
