/*
 * Event topics and the subscriptions of one connection.
 *
 * A topic is dot-separated words of letters, digits, '_' and '-'
 * ("gpio.17", "timer.tick"); a subscription pattern is a topic, or a
 * prefix ending in '*' ("gpio.*", "*").  Pure functions and a small set
 * per connection: no locking, loop thread only.
 */
#ifndef PICMD_TOPIC_H
#define PICMD_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_MAX	64	/* bytes of a topic or pattern, NUL excluded */
#define SUBS_MAX	64	/* subscriptions of one connection */

/* NULL when valid, else why not (for "ERR ARGS <why>"). */
const char *topic_check(const char *s, bool pattern);
bool	topic_match(const char *pattern, const char *topic);

struct subs {
	char		**pat;
	unsigned	  n;
	unsigned	  cap;
};

enum subs_result {
	SUBS_ADDED = 0,
	SUBS_PRESENT,	/* already subscribed: nothing changes */
	SUBS_FULL,	/* SUBS_MAX reached */
	SUBS_NOMEM,
};

enum subs_result subs_add(struct subs *s, const char *pattern);
/* false when pattern was not subscribed. */
bool	subs_remove(struct subs *s, const char *pattern);
bool	subs_match(const struct subs *s, const char *topic);
void	subs_clear(struct subs *s);

#endif
