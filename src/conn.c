/*
 * Connections.
 *
 * Reply order: untagged requests are answered in request order, so each
 * untagged request that cannot be answered at once takes a place in
 * `order`; a reply is written when everything before it has been.  Tagged
 * requests skip the line: their reply is written as soon as it exists.
 *
 * Backpressure: at most max_inflight requests per connection wait for a
 * reply; beyond that we stop reading the socket (the kernel's buffers then
 * push back on the client) instead of answering an error.
 *
 * Lifetime: callbacks may lead to conn_close() deep inside a loop that
 * still uses the connection, so conn_close() only marks it dead while a
 * callback holds it, and the outermost callback frees it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "callback.h"
#include "cidr.h"
#include "conn.h"
#include "dispatch.h"
#include "endpoint.h"
#include "log.h"
#include "plugin.h"
#include "pool.h"
#include "request.h"
#include "server.h"

/* Before AUTH a line is a password at most: keep the door narrow. */
#define PREAUTH_MAX_LINE 256
#define MAX_AUTH_FAILURES 3

TAILQ_HEAD(request_list, request);

struct conn {
	TAILQ_ENTRY(conn)	 link;
	struct server		*srv;
	struct bufferevent	*bev;
	uint64_t		 id;
	struct request_list	 order;		/* untagged, in request order */
	struct request_list	 tagged;	/* tagged, on a worker */
	unsigned		 pending;	/* accepted, reply not written */
	int			 holds;		/* callbacks using the conn */
	bool			 dead;		/* close when holds drops to 0 */
	bool			 paused;	/* reading off: too many pending */
	bool			 eof;		/* peer finished sending */
	bool			 no_read;	/* server draining */
	bool			 input_done;	/* QUIT or TOOLONG seen */
	bool			 quit;		/* BYE owed once pending is 0 */
	bool			 closing;	/* flushing, then close */
	in_port_t		 cb_port;	/* callback mode when non-zero */
	socklen_t		 peer_len;
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 peer_addr;	/* TCP peers, for callbacks */
	bool			 authed;
	bool			 admin;		/* may run PICMD_CMD_ADMIN */
	uint8_t			 auth_failures;
	time_t			 opened;	/* monotonic seconds */
	time_t			 last_active;	/* last complete request */
	const char		*cur_tag;	/* tag of the line being run */
	char			*quit_tag;
	char			 peer[64];
};

static void conn_free(struct conn *c);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_progress(struct conn *c);

static void
conn_hold(struct conn *c)
{
	c->holds++;
}

static void
conn_release(struct conn *c)
{
	if (--c->holds == 0 && c->dead)
		conn_free(c);
}

struct server *
conn_server(struct conn *c)
{
	return c->srv;
}

void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->holds == 0)
		conn_free(c);
}

/* Detach every request; those still on a worker are freed when they
 * come back (conn_job_done), the rest now. */
static void
drop_requests(struct conn *c, struct request_list *list)
{
	struct request *r;

	while ((r = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, r, link);
		if (r->timer_armed)
			event_del(&r->timer);
		r->timer_armed = false;
		r->conn = NULL;
		c->srv->stats.dropped_total++;
		if (!r->in_pool)
			request_free(r);
	}
}

static void
conn_free(struct conn *c)
{
	struct server *s = c->srv;

	drop_requests(c, &c->order);
	drop_requests(c, &c->tagged);
	if (c->quit)
		s->stats.dropped_total++;
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&s->conns, c, link);
	s->nclients--;
	log_debug("client %s closed", c->peer);
	free(c->quit_tag);
	free(c);
	server_conn_gone(s);
}

static void
conn_write(struct conn *c, const char *line, size_t len, int code)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct server *s = c->srv;

	if (c->dead)
		return;
	s->stats.replies_total++;
	if (code != REPLY_OK)
		s->stats.errors_total++;
	if (bufferevent_write(c->bev, line, len) == -1) {
		log_warnx("client %s: cannot queue reply; closing", c->peer);
		conn_close(c);
		return;
	}
	if (evbuffer_get_length(out) > (size_t)s->cfg->max_output) {
		log_warnx("client %s does not read its replies (%zu bytes "
		    "unsent); closing", c->peer, evbuffer_get_length(out));
		conn_close(c);
	}
}

/*
 * Answer a request that needs no worker.  Untagged replies keep their
 * place behind earlier untagged requests still being worked on.
 */
static void
conn_answer(struct conn *c, const char *tag, int code, const char *text)
{
	size_t len = text != NULL ? strlen(text) : 0;
	struct strbuf line;
	struct request *r;

	if (tag != NULL || TAILQ_EMPTY(&c->order)) {
		strbuf_init(&line);
		proto_format_reply(&line, tag, code, text, len);
		if (line.failed) {
			strbuf_free(&line);
			proto_format_reply(&line, tag, PICMD_ERR_INTERNAL,
			    "out of memory", 13);
			code = PICMD_ERR_INTERNAL;
		}
		conn_write(c, line.data, line.len, code);
		strbuf_free(&line);
		return;
	}
	if ((r = request_new(NULL, 0, NULL)) == NULL) {
		log_warnx("client %s: out of memory; closing", c->peer);
		conn_close(c);
		return;
	}
	request_set_reply(r, code, text, len);
	r->answered = true;
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->order, r, link);
	c->pending++;
}

/* Write every answered reply at the head of the order. */
static void
conn_flush_order(struct conn *c)
{
	struct request *r;

	while ((r = TAILQ_FIRST(&c->order)) != NULL && r->answered) {
		TAILQ_REMOVE(&c->order, r, link);
		c->pending--;
		r->conn = NULL;
		conn_write(c, r->out.data, r->out.len, r->code);
		if (!r->in_pool)
			request_free(r);
	}
}

static void
conn_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_close(c);
}

/* Stop reading, and close once the output has gone out. */
static void
conn_begin_close(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->closing || c->dead)
		return;
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(out) == 0) {
		conn_close(c);
		return;
	}
	/* The write callback runs once the output has drained; an error
	 * while flushing still closes, through conn_event_cb. */
	bufferevent_setcb(c->bev, NULL, conn_flushed_cb, conn_event_cb, c);
}

static void
request_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg, *stand_in;
	struct conn *c = r->conn;
	struct server *s = r->srv;
	char msg[96];

	(void)fd;
	(void)what;
	r->timer_armed = false;
	/* A queued job must never run late (a late "gpio write"); a running
	 * one finishes on its worker and its result is discarded. */
	pool_cancel(&r->job);
	s->stats.timeouts_total++;
	snprintf(msg, sizeof(msg), "command did not finish within %d ms",
	    s->cfg->command_timeout_ms);

	if (r->cb != NULL) {
		struct strbuf line;

		strbuf_init(&line);
		proto_format_reply(&line, r->tag, PICMD_ERR_TIMEOUT, msg,
		    strlen(msg));
		callback_deliver(r->cb, line.data, line.len);
		strbuf_free(&line);
		r->cb = NULL;
		return;
	}

	conn_hold(c);
	if (r->tag != NULL) {
		TAILQ_REMOVE(&c->tagged, r, link);
		c->pending--;
		r->conn = NULL;
		conn_answer(c, r->tag, PICMD_ERR_TIMEOUT, msg);
	} else {
		/* The worker may still be writing r's reply, so the timeout
		 * reply takes r's place in the order in a request of its own. */
		if ((stand_in = request_new(NULL, 0, NULL)) == NULL) {
			log_warnx("client %s: out of memory; closing", c->peer);
			conn_close(c);
			conn_release(c);
			return;
		}
		request_set_reply(stand_in, PICMD_ERR_TIMEOUT, msg,
		    strlen(msg));
		stand_in->answered = true;
		stand_in->conn = c;
		TAILQ_INSERT_BEFORE(r, stand_in, link);
		TAILQ_REMOVE(&c->order, r, link);
		r->conn = NULL;
		conn_flush_order(c);
	}
	conn_progress(c);
	conn_release(c);
}

/*
 * Callback mode: the request belongs to the callback target, not to this
 * connection, so the client may hang up once it has read "OK QUEUED".
 */
static void
conn_submit_callback(struct conn *c, const struct command *cmd,
    const char *tag, int argc, char *const *argv)
{
	struct server *s = c->srv;
	struct request *r;
	char idbuf[24], msg[96];
	const char *id = tag;

	if (id == NULL) {
		snprintf(idbuf, sizeof(idbuf), "%llu",
		    (unsigned long long)++s->next_callback_id);
		id = idbuf;
	}
	if ((r = request_new(id, argc, argv)) == NULL) {
		conn_answer(c, tag, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	r->srv = s;
	r->cmd = cmd;
	r->ctx.state = cmd->owner->state;
	timespec_after_ms(&r->ctx.deadline, s->cfg->command_timeout_ms);
	switch (callback_target(s, &c->peer_addr.sa, c->peer_len, c->cb_port,
	    (unsigned)s->cfg->callback_max_pending, &r->cb)) {
	case 0:
		break;
	case CALLBACK_TOO_MANY:
		request_free(r);
		snprintf(msg, sizeof(msg), "%d callback results already pending "
		    "for this client", s->cfg->callback_max_pending);
		conn_answer(c, tag, PICMD_ERR_BUSY, msg);
		return;
	default:
		request_free(r);
		conn_answer(c, tag, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	if (pool_submit(s->pool, &r->job) == -1) {
		callback_release(r->cb);
		request_free(r);
		s->stats.busy_total++;
		conn_answer(c, tag, PICMD_ERR_BUSY, "queue full, try again");
		return;
	}
	r->in_pool = true;
	s->jobs_out++;
	evtimer_assign(&r->timer, s->base, request_timeout_cb, r);
	event_add(&r->timer, s->command_timeout);
	r->timer_armed = true;
	snprintf(msg, sizeof(msg), "QUEUED %s", id);
	conn_answer(c, tag, REPLY_OK, msg);
}

int
conn_set_callback(struct conn *c, const char *arg, struct strbuf *text)
{
	const struct config *cfg = c->srv->cfg;
	unsigned long port;
	char *end;

	if (strcasecmp(arg, "off") == 0) {
		c->cb_port = 0;
		return REPLY_OK;
	}
	if (!cfg->callback_enabled) {
		strbuf_adds(text, "callbacks are disabled ([callback] enabled)");
		return PICMD_ERR_DENIED;
	}
	if (c->peer_len == 0) {
		strbuf_adds(text, "callbacks need a TCP connection");
		return PICMD_ERR_DENIED;
	}
	errno = 0;
	port = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    port < 1 || port > 65535) {
		strbuf_adds(text, "usage: CALLBACK <port>|OFF");
		return PICMD_ERR_ARGS;
	}
	if ((int)port < cfg->callback_port_min ||
	    (int)port > cfg->callback_port_max) {
		strbuf_addf(text, "port %lu is outside the allowed range "
		    "%d-%d", port, cfg->callback_port_min,
		    cfg->callback_port_max);
		return PICMD_ERR_DENIED;
	}
	c->cb_port = (in_port_t)port;
	return REPLY_OK;
}

/* Hand a plugin command to the pool. */
static void
conn_submit(struct conn *c, const struct command *cmd, const char *tag,
    int argc, char *const *argv)
{
	struct server *s = c->srv;
	struct request *r;

	if ((r = request_new(tag, argc, argv)) == NULL) {
		conn_answer(c, tag, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	r->srv = s;
	r->cmd = cmd;
	r->ctx.state = cmd->owner->state;
	timespec_after_ms(&r->ctx.deadline, s->cfg->command_timeout_ms);
	if (pool_submit(s->pool, &r->job) == -1) {
		request_free(r);
		s->stats.busy_total++;
		conn_answer(c, tag, PICMD_ERR_BUSY, "queue full, try again");
		return;
	}
	r->in_pool = true;
	s->jobs_out++;
	r->conn = c;
	if (r->tag != NULL)
		TAILQ_INSERT_TAIL(&c->tagged, r, link);
	else
		TAILQ_INSERT_TAIL(&c->order, r, link);
	c->pending++;
	evtimer_assign(&r->timer, s->base, request_timeout_cb, r);
	event_add(&r->timer, s->command_timeout);
	r->timer_armed = true;
}

static time_t
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * A browser can be made to send an HTTP request to any address and port; a
 * line protocol that executed its lines would then let any web page drive
 * the Pi's pins.  So a line that looks like HTTP closes the connection
 * before anything runs: a request line ("POST /x HTTP/1.1") or a header
 * ("Host: ..."), whose first word ends in ':' and so is no command name.
 */
static bool
looks_like_http(const char *line, size_t len)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "HEAD",
	    "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE" };
	size_t w = 0, i;

	while (w < len && line[w] != ' ' && line[w] != '\t')
		w++;
	if (w > 1 && line[w - 1] == ':' && line[0] != '#')
		return true;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i]) == w && memcmp(line, methods[i], w) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0]) || w == len)
		return false;
	if (line[w + 1] == '/' || line[w + 1] == '*' ||
	    memmem(line + w, len - w, "://", 3) != NULL)
		return true;
	return len >= 8 && memmem(line, len, " HTTP/", 6) != NULL;
}

static void
conn_handle_line(struct conn *c, const char *line, size_t len)
{
	struct server *s = c->srv;
	struct proto_request *pr = &s->preq;
	const struct command *cmd;
	enum proto_status st;
	char msg[256];
	int nargs;

	if (looks_like_http(line, len)) {
		log_warnx("client %s sent an HTTP request; closing", c->peer);
		s->stats.http_rejected_total++;
		conn_close(c);
		return;
	}
	st = proto_parse(line, len, s->words, pr);
	if (st == PROTO_BLANK)
		return;
	s->stats.commands_total++;
	c->last_active = mono_seconds();
	if (st == PROTO_ERROR) {
		conn_answer(c, pr->tag, REPLY_PROTO, pr->error);
		return;
	}
	cmd = dispatch_lookup(s->dispatch, pr->argc, pr->argv);
	if (!c->authed && (cmd == NULL || !(cmd->flags & CMD_PREAUTH))) {
		conn_answer(c, pr->tag, PICMD_ERR_DENIED,
		    "authentication required");
		return;
	}
	if (cmd == NULL) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (HELP lists "
		    "commands)", pr->argv[0]);
		conn_answer(c, pr->tag, REPLY_UNKNOWN, msg);
		return;
	}
	nargs = pr->argc - cmd->nwords;
	if (!dispatch_args_ok(cmd, nargs)) {
		snprintf(msg, sizeof(msg), "usage: %s", cmd->usage);
		conn_answer(c, pr->tag, PICMD_ERR_ARGS, msg);
		return;
	}
	if ((cmd->flags & PICMD_CMD_ADMIN) && !c->admin) {
		conn_answer(c, pr->tag, PICMD_ERR_DENIED, s->cfg->admin_token ?
		    "admin command: AUTH with the admin token first" :
		    "admin command: set [security] admin_token, or use the "
		    "Unix socket");
		return;
	}
	if (cmd->builtin != NULL) {
		struct strbuf text;
		int code;

		strbuf_init(&text);
		c->cur_tag = pr->tag;
		code = cmd->builtin(c, nargs, pr->argv + cmd->nwords, &text);
		c->cur_tag = NULL;
		if (text.failed) {
			code = PICMD_ERR_INTERNAL;
			strbuf_free(&text);
			strbuf_adds(&text, "out of memory");
		}
		if (code >= 0)
			conn_answer(c, pr->tag, code, text.data);
		strbuf_free(&text);
		return;
	}
	if (c->cb_port != 0)
		conn_submit_callback(c, cmd, pr->tag, nargs,
		    pr->argv + cmd->nwords);
	else
		conn_submit(c, cmd, pr->tag, nargs, pr->argv + cmd->nwords);
}

static void
conn_toolong(struct conn *c, size_t max)
{
	struct server *s = c->srv;
	char msg[96];

	s->stats.commands_total++;
	snprintf(msg, sizeof(msg), "line longer than %zu bytes%s", max,
	    c->authed ? "" : " before AUTH");
	conn_answer(c, NULL, REPLY_TOOLONG, msg);
	c->input_done = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
}

static void
conn_process_input(struct conn *c)
{
	struct server *s = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t max = (size_t)s->cfg->max_line;

	while (!c->dead && !c->input_done && !c->closing) {
		if (!c->authed && max > PREAUTH_MAX_LINE)
			max = PREAUTH_MAX_LINE;
		size_t avail, scan, len, consume;
		unsigned char *p, *nl;

		if (c->pending >= (unsigned)s->cfg->max_inflight) {
			if (!c->paused) {
				c->paused = true;
				bufferevent_disable(c->bev, EV_READ);
			}
			return;
		}
		if ((avail = evbuffer_get_length(in)) == 0)
			break;
		scan = avail < max + 2 ? avail : max + 2;
		if ((p = evbuffer_pullup(in, (ev_ssize_t)scan)) == NULL) {
			conn_close(c);
			return;
		}
		if ((nl = memchr(p, '\n', scan)) != NULL) {
			len = (size_t)(nl - p);
			consume = len + 1;
		} else if (scan == max + 2) {
			conn_toolong(c, max);
			return;
		} else if (c->eof) {
			len = consume = avail;	/* the last line needs no LF */
		} else
			break;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > max) {
			conn_toolong(c, max);
			return;
		}
		conn_handle_line(c, (const char *)p, len);
		evbuffer_drain(in, consume);
	}
}

/* After replies went out: resume reading, owe BYE, or finish closing. */
static void
conn_progress(struct conn *c)
{
	struct server *s = c->srv;

	if (c->dead || c->closing)
		return;
	if (c->paused && c->pending < (unsigned)s->cfg->max_inflight) {
		c->paused = false;
		conn_process_input(c);
		if (!c->paused && !c->dead && !c->eof && !c->no_read &&
		    !c->input_done)
			bufferevent_enable(c->bev, EV_READ);
	}
	if (c->dead || c->pending > 0)
		return;
	if (c->quit) {
		struct strbuf line;

		c->quit = false;
		strbuf_init(&line);
		proto_format_reply(&line, c->quit_tag, REPLY_OK, "BYE", 3);
		conn_write(c, line.data, line.len, REPLY_OK);
		strbuf_free(&line);
		conn_begin_close(c);
		return;
	}
	if (c->input_done || c->eof || c->no_read)
		conn_begin_close(c);
}

void
conn_quit(struct conn *c)
{
	c->quit = true;
	c->input_done = true;
	if (c->cur_tag != NULL)
		c->quit_tag = strdup(c->cur_tag);
	bufferevent_disable(c->bev, EV_READ);
}

void
conn_shutdown(struct conn *c)
{
	conn_hold(c);
	c->no_read = true;
	bufferevent_disable(c->bev, EV_READ);
	conn_progress(c);
	conn_release(c);
}

/* Compare without an early exit, so timing tells nothing about the
 * secret but its length. */
static bool
secret_equal(const char *secret, const char *guess)
{
	size_t slen = strlen(secret), glen = strlen(guess);
	unsigned char diff = slen != glen;

	for (size_t i = 0; i < slen; i++)
		diff |= (unsigned char)secret[i] ^
		    (unsigned char)(i < glen ? guess[i] : 0);
	return diff == 0;
}

int
conn_auth(struct conn *c, const char *token, struct strbuf *text)
{
	struct server *s = c->srv;
	const struct config *cfg = s->cfg;
	bool admin_ok = cfg->admin_token != NULL &&
	    secret_equal(cfg->admin_token, token);
	bool user_ok = cfg->token != NULL && secret_equal(cfg->token, token);

	if (cfg->token == NULL && cfg->admin_token == NULL) {
		strbuf_adds(text, "no token is configured");
		return PICMD_ERR_DENIED;
	}
	if (admin_ok || user_ok) {
		c->authed = true;
		c->admin = c->admin || admin_ok;
		c->auth_failures = 0;
		return REPLY_OK;
	}
	s->stats.auth_failed_total++;
	log_warnx("client %s: wrong token", c->peer);
	if (++c->auth_failures >= MAX_AUTH_FAILURES) {
		/* Answer, then hang up: no more guesses on this connection. */
		c->input_done = true;
		bufferevent_disable(c->bev, EV_READ);
		strbuf_adds(text, "wrong token; closing");
	} else
		strbuf_adds(text, "wrong token");
	return PICMD_ERR_DENIED;
}

void
conn_sweep(struct server *s)
{
	const struct config *cfg = s->cfg;
	time_t now = mono_seconds();
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->closing)
			continue;
		if (!c->authed && now - c->opened >= cfg->auth_timeout_s) {
			log_info("client %s did not authenticate within %d s; "
			    "closing", c->peer, cfg->auth_timeout_s);
			conn_close(c);
			continue;
		}
		/* Only whole requests count as activity, so a client that
		 * dribbles bytes (slowloris) is cut as well.  A reply still
		 * in the output buffer is pending too: closing now would
		 * lose it.  The times are whole seconds, so ">": ">=" could
		 * cut a client idle for just over idle_timeout_s - 1. */
		if (cfg->idle_timeout_s > 0 && c->pending == 0 && !c->quit &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
		    now - c->last_active > cfg->idle_timeout_s) {
			log_debug("client %s idle for %d s; closing", c->peer,
			    cfg->idle_timeout_s);
			s->stats.idle_closed_total++;
			conn_close(c);
		}
	}
}

unsigned
conn_count_from(struct server *s, const struct sockaddr *sa)
{
	struct conn *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &s->conns, link)
		if (c->peer_len > 0 && sockaddr_same_ip(&c->peer_addr.sa, sa))
			n++;
	return n;
}

void
conn_shutdown_all(struct server *s)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		conn_shutdown(c);
	}
}

void
conn_close_all(struct server *s)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_close(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_hold(c);
	conn_process_input(c);
	conn_progress(c);
	conn_release(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_hold(c);
	if (what & BEV_EVENT_ERROR) {
		log_debug("client %s: connection error", c->peer);
		conn_close(c);
	} else if (what & BEV_EVENT_EOF) {
		/* A half-close: the client may still read, so finish its
		 * requests (and the last line, which needs no LF) first. */
		c->eof = true;
		if (!c->closing) {
			conn_process_input(c);
			conn_progress(c);
		}
	}
	conn_release(c);
}

void
conn_job_done(struct job *job, void *arg)
{
	struct request *r = (struct request *)job;
	struct server *s = arg;
	struct conn *c;

	s->jobs_out--;
	r->in_pool = false;
	/* A result that comes back when the deadline has passed is late even
	 * if the loop sees it before the timer fires: the handler was told
	 * (remaining_ms() == 0) that it would be discarded. */
	if (r->timer_armed && ctx_remaining_ms(&r->ctx) == 0) {
		event_del(&r->timer);
		request_timeout_cb(-1, 0, r);
	}
	c = r->conn;
	if (r->cb != NULL) {
		if (r->timer_armed)
			event_del(&r->timer);
		r->timer_armed = false;
		callback_deliver(r->cb, r->out.data, r->out.len);
		request_free(r);
		return;
	}
	if (c == NULL) {
		/* Timed out or its client has gone. */
		request_free(r);
		server_conn_gone(s);
		return;
	}
	if (r->timer_armed)
		event_del(&r->timer);
	r->timer_armed = false;
	r->answered = true;
	conn_hold(c);
	if (r->tag != NULL) {
		TAILQ_REMOVE(&c->tagged, r, link);
		c->pending--;
		r->conn = NULL;
		conn_write(c, r->out.data, r->out.len, r->code);
		request_free(r);
	} else
		conn_flush_order(c);
	conn_progress(c);
	conn_release(c);
}

struct conn *
conn_new(struct server *s, int fd, const struct sockaddr *sa, socklen_t salen,
    bool is_unix)
{
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("out of memory accepting a client");
		close(fd);
		return NULL;
	}
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("cannot set up a client connection");
		close(fd);
		free(c);
		return NULL;
	}
	if (!is_unix) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (salen <= (socklen_t)sizeof(c->peer_addr)) {
			memcpy(&c->peer_addr, sa, salen);
			c->peer_len = salen;
		}
	}
	c->srv = s;
	c->id = ++s->next_conn_id;
	TAILQ_INIT(&c->order);
	TAILQ_INIT(&c->tagged);
	endpoint_format(sa, salen, c->peer, sizeof(c->peer));
	c->opened = c->last_active = mono_seconds();
	/* File permissions guard the Unix socket, so its clients may be
	 * trusted like the local administrator. */
	if (is_unix && s->cfg->unix_trusted)
		c->authed = c->admin = true;
	else
		c->authed = s->cfg->token == NULL;
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nclients++;
	s->stats.connections_total++;
	log_debug("client %s connected", c->peer);
	return c;
}
