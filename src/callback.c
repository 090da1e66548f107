#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "callback.h"
#include "endpoint.h"
#include "log.h"
#include "server.h"

#define CB_CONNECT_ATTEMPTS 2	/* the first try and one retry */

enum cb_state {
	CB_IDLE,		/* no connection */
	CB_CONNECTING,
	CB_RETRY_WAIT,		/* a connect failed; retry timer armed */
	CB_CONNECTED,
};

struct cb_target {
	TAILQ_ENTRY(cb_target)	 link;
	struct server		*srv;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 name[ENDPOINT_TEXT_MAX];
	enum cb_state		 state;
	int			 attempts;
	unsigned		 refs;		/* results still to come */
	struct evbuffer		*pending;	/* results not yet sent */
	unsigned		 pending_lines;
	unsigned		 unflushed_lines; /* handed to the socket */
	struct bufferevent	*bev;
	struct event		*retry;
};

static void cb_connect(struct cb_target *t);

static void
cb_free(struct cb_target *t)
{
	struct server *s = t->srv;

	TAILQ_REMOVE(&s->cb_targets, t, link);
	if (t->bev != NULL)
		bufferevent_free(t->bev);
	if (t->retry != NULL)
		event_free(t->retry);
	evbuffer_free(t->pending);
	free(t);
	server_conn_gone(s);
}

/* Free the target once nothing is owed, queued or being written. */
static void
cb_maybe_free(struct cb_target *t)
{
	if (t->refs > 0 || t->pending_lines > 0 || t->unflushed_lines > 0 ||
	    t->state == CB_CONNECTING || t->state == CB_RETRY_WAIT)
		return;
	cb_free(t);
}

static void
cb_drop_connection(struct cb_target *t)
{
	if (t->bev != NULL) {
		bufferevent_free(t->bev);
		t->bev = NULL;
	}
	t->state = CB_IDLE;
}

/* Count queued results as lost. */
static void
cb_fail(struct cb_target *t, const char *why)
{
	unsigned lost = t->pending_lines + t->unflushed_lines;

	if (lost > 0)
		log_warnx("callback to %s failed (%s): %u result%s dropped",
		    t->name, why, lost, lost == 1 ? "" : "s");
	t->srv->stats.callbacks_failed += lost;
	evbuffer_drain(t->pending, evbuffer_get_length(t->pending));
	t->pending_lines = 0;
	t->unflushed_lines = 0;
	t->attempts = 0;
	cb_drop_connection(t);
	cb_maybe_free(t);
}

static void
cb_flush(struct cb_target *t)
{
	if (t->pending_lines == 0)
		return;
	t->unflushed_lines += t->pending_lines;
	t->pending_lines = 0;
	if (bufferevent_write_buffer(t->bev, t->pending) == -1)
		cb_fail(t, "out of memory");
}

static void
cb_write_cb(struct bufferevent *bev, void *arg)
{
	struct cb_target *t = arg;

	(void)bev;
	/* Everything handed over has reached the kernel. */
	t->srv->stats.callbacks_sent += t->unflushed_lines;
	t->unflushed_lines = 0;
	if (t->refs == 0 && t->pending_lines == 0) {
		cb_drop_connection(t);
		cb_maybe_free(t);
	}
}

static void
cb_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cb_connect(arg);
}

static void
cb_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cb_target *t = arg;
	struct server *s = t->srv;
	struct timeval tv;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		t->state = CB_CONNECTED;
		t->attempts = 0;
		cb_flush(t);
		return;
	}
	if (t->state == CB_CONNECTING) {
		cb_drop_connection(t);
		if (t->attempts < CB_CONNECT_ATTEMPTS) {
			t->state = CB_RETRY_WAIT;
			tv.tv_sec = s->cfg->callback_retry_ms / 1000;
			tv.tv_usec = (s->cfg->callback_retry_ms % 1000) * 1000;
			evtimer_add(t->retry, &tv);
			log_debug("callback to %s: %s; retrying", t->name,
			    what & BEV_EVENT_TIMEOUT ? "timed out" :
			    "connect failed");
			return;
		}
		cb_fail(t, what & BEV_EVENT_TIMEOUT ? "connect timed out" :
		    "connect failed");
		return;
	}
	/* Bytes may have reached the peer: never resend them. */
	cb_fail(t, what & BEV_EVENT_TIMEOUT ? "write timed out" :
	    "connection lost");
}

static void
cb_connect(struct cb_target *t)
{
	struct server *s = t->srv;
	struct timeval tv = { s->cfg->callback_connect_timeout_ms / 1000,
	    (s->cfg->callback_connect_timeout_ms % 1000) * 1000 };

	t->attempts++;
	t->state = CB_CONNECTING;
	t->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (t->bev == NULL) {
		t->state = CB_IDLE;
		cb_fail(t, "out of memory");
		return;
	}
	bufferevent_setcb(t->bev, NULL, cb_write_cb, cb_event_cb, t);
	/* libevent times a connect with the write timeout. */
	bufferevent_set_timeouts(t->bev, NULL, &tv);
	if (bufferevent_socket_connect(t->bev, (struct sockaddr *)&t->addr,
	    (int)t->addrlen) == -1) {
		/* Refused at once: handled like any failed connect. */
		cb_event_cb(t->bev, BEV_EVENT_ERROR, t);
	}
}

int
callback_target(struct server *s, const struct sockaddr *peer, socklen_t len,
    in_port_t port, unsigned max, struct cb_target **out)
{
	struct sockaddr_storage ss;
	struct cb_target *t;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, peer, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		return CALLBACK_NOMEM;

	TAILQ_FOREACH(t, &s->cb_targets, link) {
		if (t->addrlen == len && memcmp(&t->addr, &ss, len) == 0) {
			/* Bounded, so one client cannot queue unbounded
			 * results nobody will collect. */
			if (t->refs + t->pending_lines >= max)
				return CALLBACK_TOO_MANY;
			t->refs++;
			*out = t;
			return 0;
		}
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CALLBACK_NOMEM;
	t->srv = s;
	t->addr = ss;
	t->addrlen = len;
	endpoint_format((struct sockaddr *)&ss, len, t->name, sizeof(t->name));
	t->pending = evbuffer_new();
	t->retry = evtimer_new(s->base, cb_retry_cb, t);
	if (t->pending == NULL || t->retry == NULL) {
		if (t->pending != NULL)
			evbuffer_free(t->pending);
		if (t->retry != NULL)
			event_free(t->retry);
		free(t);
		return CALLBACK_NOMEM;
	}
	t->refs = 1;
	TAILQ_INSERT_TAIL(&s->cb_targets, t, link);
	*out = t;
	return 0;
}

void
callback_deliver(struct cb_target *t, const char *line, size_t len)
{
	t->refs--;
	if (evbuffer_add(t->pending, line, len) == -1) {
		t->srv->stats.callbacks_failed++;
		cb_maybe_free(t);
		return;
	}
	t->pending_lines++;
	switch (t->state) {
	case CB_IDLE:
		cb_connect(t);
		break;
	case CB_CONNECTED:
		cb_flush(t);
		break;
	case CB_CONNECTING:
	case CB_RETRY_WAIT:
		break;	/* sent once connected */
	}
}

void
callback_release(struct cb_target *t)
{
	t->refs--;
	cb_maybe_free(t);
}

bool
callback_busy(struct server *s)
{
	return !TAILQ_EMPTY(&s->cb_targets);
}

void
callback_free_all(struct server *s)
{
	struct cb_target *t;

	while ((t = TAILQ_FIRST(&s->cb_targets)) != NULL) {
		s->stats.callbacks_failed += t->pending_lines +
		    t->unflushed_lines;
		cb_free(t);
	}
}
