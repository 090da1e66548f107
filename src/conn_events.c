/*
 * Events on connections: a connection's subscriptions, the fan-out of
 * each published event to the connections subscribed to it, and the
 * "!" lines written between replies.
 *
 * Loop thread only.  An event reaches a connection's bounded queue
 * (evqueue.h) first and its output buffer only while that buffer is
 * short: replies are never stuck behind a backlog of events, and a
 * subscriber that does not read loses its oldest events (reported as
 * "! overflow <n>") instead of growing the daemon's memory or being
 * cut off like a client that does not read its replies.
 */
#include <stdio.h>
#include <string.h>

#include "callback.h"
#include "compat_pigpio.h"
#include "conn_events.h"
#include "conn_priv.h"
#include "log.h"
#include "plugin.h"
#include "server.h"

/* Events move to the output buffer while it holds less than this. */
#define EVENTS_OUT_LOW	16384

void
conn_events_init(struct conn *c)
{
	evq_init(&c->evq);
}

void
conn_events_free(struct conn *c)
{
	struct server *s = c->srv;

	pthread_rwlock_wrlock(&s->subs_lock);
	if (c->subs.n > 0) {
		TAILQ_REMOVE(&s->subscribers, c, sub_link);
		s->nsubscriptions -= c->subs.n;
	}
	subs_clear(&c->subs);
	pthread_rwlock_unlock(&s->subs_lock);
	evq_clear(&c->evq);
}

/* pattern as the plugins publish it into topic; -1 with why when it is
 * no topic or a name no plugin knows. */
static int
topic_of(struct conn *c, const char *pattern, char *topic,
    struct strbuf *why)
{
	char msg[160];
	const char *bad;

	if ((bad = topic_check(pattern, true)) != NULL) {
		strbuf_addf(why, "%s: '%s'", bad, pattern);
		return -1;
	}
	if (plugins_normalise_topic(c->srv->plugins, pattern, topic,
	    TOPIC_MAX + 1, msg, sizeof(msg)) == -1) {
		strbuf_adds(why, msg);
		return -1;
	}
	return 0;
}

int
conn_subscribe(struct conn *c, const char *pattern, struct strbuf *why)
{
	struct server *s = c->srv;
	char topic[TOPIC_MAX + 1];
	enum subs_result r;

	if (topic_of(c, pattern, topic, why) == -1)
		return -1;
	pthread_rwlock_wrlock(&s->subs_lock);
	r = subs_add(&c->subs, topic);
	if (r == SUBS_ADDED) {
		if (c->subs.n == 1)
			TAILQ_INSERT_TAIL(&s->subscribers, c, sub_link);
		s->nsubscriptions++;
	}
	pthread_rwlock_unlock(&s->subs_lock);
	switch (r) {
	case SUBS_ADDED:
	case SUBS_PRESENT:
		return 0;
	case SUBS_FULL:
		strbuf_addf(why, "at most %d subscriptions per connection",
		    SUBS_MAX);
		return -1;
	case SUBS_NOMEM:
	default:
		strbuf_adds(why, "out of memory");
		return -1;
	}
}

int
conn_unsubscribe(struct conn *c, const char *pattern, struct strbuf *why)
{
	struct server *s = c->srv;
	char topic[TOPIC_MAX + 1];

	if (topic_of(c, pattern, topic, why) == -1)
		return -1;
	/* Not subscribed is no error: the state asked for is reached. */
	pthread_rwlock_wrlock(&s->subs_lock);
	if (subs_remove(&c->subs, topic)) {
		s->nsubscriptions--;
		if (c->subs.n == 0)
			TAILQ_REMOVE(&s->subscribers, c, sub_link);
	}
	pthread_rwlock_unlock(&s->subs_lock);
	return 0;
}

void
conn_subscriptions(struct conn *c, struct strbuf *text)
{
	for (unsigned i = 0; i < c->subs.n; i++) {
		if (i > 0)
			strbuf_addc(text, ' ');
		strbuf_adds(text, c->subs.pat[i]);
	}
}

/* One "!" line into the output buffer. */
static int
conn_put_event(struct conn *c, const char *text, size_t len, uint64_t seq)
{
	char tail[32];
	int n = snprintf(tail, sizeof(tail), " seq=%llu\n",
	    (unsigned long long)seq);

	return conn_put_line(c, "! ", text, len, tail, (size_t)n);
}

void
conn_pump_events(struct conn *c)
{
	struct server *s = c->srv;
	struct evq_item it;
	uint64_t lost;
	bool wrote = false;

	while (!c->dead && c->evq.count > 0 &&
	    conn_output_used(c) < EVENTS_OUT_LOW) {
		/* pigpio's reports have no overflow: its client sees the
		 * gap in their sequence numbers. */
		if ((lost = evq_take_overflow(&c->evq)) > 0 && c->pg == NULL) {
			char line[48];
			int n = snprintf(line, sizeof(line), "overflow %llu",
			    (unsigned long long)lost);

			if (conn_put_line(c, "! ", line, (size_t)n, "\n", 1)
			    == -1)
				return;
		}
		evq_pop(&c->evq, &it);
		if ((c->pg != NULL ? pigpio_put_event(c, it.ev, it.seq) :
		    conn_put_event(c, it.ev->text, it.ev->len, it.seq)) == -1) {
			pevent_unref(it.ev);
			return;
		}
		pevent_unref(it.ev);
		s->stats.events_delivered++;
		wrote = true;
	}
	if (wrote)
		conn_output_ready(c);
}

bool
server_subscribed(void *arg, const char *topic)
{
	struct server *s = arg;
	struct conn *c;
	bool yes = false;

	pthread_rwlock_rdlock(&s->subs_lock);
	TAILQ_FOREACH(c, &s->subscribers, sub_link)
		if (subs_match(&c->subs, topic)) {
			yes = true;
			break;
		}
	pthread_rwlock_unlock(&s->subs_lock);
	return yes;
}

/*
 * Callback mode: the event goes where the connection's results go, a
 * line on the callback connection to the client's own address and port,
 * with this connection's sequence number.  The callback's own bound
 * ([callback] max_pending) stands in for the event queue: past it the
 * event is dropped and counted, and reported before the next one.
 */
static void
conn_event_to_callback(struct conn *c, struct pevent *e)
{
	struct server *s = c->srv;
	struct cb_target *t;
	struct strbuf line;
	uint64_t seq = ++c->evq.next_seq, lost;

	if (callback_target(s, &c->peer_addr.sa, c->peer_len, c->cb_port,
	    (unsigned)s->cfg->callback_max_pending, &t) != 0) {
		c->evq.overflow++;
		s->stats.events_dropped++;
		return;
	}
	strbuf_init(&line);
	if ((lost = evq_take_overflow(&c->evq)) > 0)
		strbuf_addf(&line, "! overflow %llu\n",
		    (unsigned long long)lost);
	strbuf_addf(&line, "! %s seq=%llu\n", e->text,
	    (unsigned long long)seq);
	if (line.failed) {
		callback_release(t);
		c->evq.overflow++;
		s->stats.events_dropped++;
	} else {
		callback_deliver(t, line.data, line.len);
		s->stats.events_delivered++;
	}
	strbuf_free(&line);
}

void
server_deliver_event(struct pevent *e, void *arg)
{
	struct server *s = arg;
	struct conn *c, *next;

	/* pump may close a connection (out of memory): hold the list's
	 * next one by taking it first. */
	for (c = TAILQ_FIRST(&s->subscribers); c != NULL; c = next) {
		next = TAILQ_NEXT(c, sub_link);
		if (c->dead || !subs_match(&c->subs, e->topic))
			continue;
		if (c->cb_port != 0) {
			conn_event_to_callback(c, e);
			continue;
		}
		if (evq_push(&c->evq, e, (size_t)s->cfg->max_events_queued)
		    != 0)
			s->stats.events_dropped++;
		conn_pump_events(c);
	}
}
