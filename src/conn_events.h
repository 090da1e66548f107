/*
 * Events on connections (conn_events.c): SUBSCRIBE and friends, and the
 * fan-out of published events to subscribed connections.  Loop thread.
 */
#ifndef PICMD_CONN_EVENTS_H
#define PICMD_CONN_EVENTS_H

#include <stdbool.h>

#include "evqueue.h"
#include "strbuf.h"

struct conn;

void	conn_events_init(struct conn *c);
void	conn_events_free(struct conn *c);

/* 0, or -1 with the reason in why (for ERR ARGS). */
int	conn_subscribe(struct conn *c, const char *pattern, struct strbuf *why);
int	conn_unsubscribe(struct conn *c, const char *pattern,
	    struct strbuf *why);
/* The connection's patterns, in the order subscribed, space-separated. */
void	conn_subscriptions(struct conn *c, struct strbuf *text);

/* Move queued events into the output while it has room (after a flush). */
void	conn_pump_events(struct conn *c);
/* Any thread: whether a connection subscribes to topic (arg: server). */
bool	server_subscribed(void *arg, const char *topic);
/* events_drain()'s deliver: arg is the server. */
void	server_deliver_event(struct pevent *e, void *arg);

#endif
