/*
 * Connections: reading and framing lines, running them, keeping reply
 * order, writing replies, and the connection's lifetime.
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
 * Writing: replies are appended to the connection's output buffer and the
 * connection is put on the server's to-flush list; one flush per loop
 * iteration sends everything with one send() per connection, so a batch
 * of pipelined requests (or of completions) costs one system call.
 *
 * Memory: a connection is two embedded events and two buffers that exist
 * only while they hold data (and are released by the once-a-second sweep
 * when the connection is idle), so an idle client costs a few hundred
 * bytes.
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
#include <unistd.h>

#include <event2/event.h>

#include "callback.h"
#include "compat_pigpio.h"
#include "conn_events.h"
#include "conn_priv.h"
#include "dispatch.h"
#include "endpoint.h"
#include "lease.h"
#include "log.h"
#include "plugin.h"
#include "pool.h"
#include "server.h"

#define READ_CHUNK	16384	/* bytes asked of read() at once */

/* ERR TIMEOUT messages at the drain deadline (docs/PROTOCOL.md). */
#define SHUTDOWN_RAN		"shutting down"
#define SHUTDOWN_NOT_RUN	"shutting down; not run"

static void conn_free(struct conn *c);
static void conn_progress(struct conn *c);
static void conn_run_next_untagged(struct conn *c);
static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

/* ---- buffers ---- */

static int
iobuf_reserve(struct iobuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= n)
		return 0;
	if (b->off > 0) {
		/* Move the unread bytes to the front first. */
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return 0;
	}
	cap = b->cap ? b->cap : 512;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

static void
iobuf_consume(struct iobuf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

static size_t
iobuf_used(const struct iobuf *b)
{
	return b->len - b->off;
}

static void
iobuf_free(struct iobuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
conn_free_buffers_if_idle(struct conn *c)
{
	if (iobuf_used(&c->in) == 0 && c->in.data != NULL)
		iobuf_free(&c->in);
	if (iobuf_used(&c->out) == 0 && c->out.data != NULL)
		iobuf_free(&c->out);
}

/* ---- lifetime ---- */

void
conn_hold(struct conn *c)
{
	c->holds++;
}

void
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
		deadline_disarm(&c->srv->deadlines, r);
		if (r->held)
			c->srv->jobs_held--;
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
	if (c->pg != NULL)
		pigpio_conn_detach(c);
	conn_events_free(c);
	conn_lease_closed(c);
	if (c->quit)
		s->stats.dropped_total++;
	event_del(&c->ev_read);
	event_del(&c->ev_write);
	close(c->fd);
	if (c->dirty)
		TAILQ_REMOVE(&s->dirty, c, dirty_link);
	TAILQ_REMOVE(&s->conns, c, link);
	s->nclients--;
	log_debug("client %s closed", c->peer);
	iobuf_free(&c->in);
	iobuf_free(&c->out);
	free(c->quit_tag);
	free(c);
	server_conn_gone(s);
}

/* ---- writing ---- */

/* Send what the output buffer holds; keep ev_write armed while the
 * kernel's buffer is full; finish a close once everything is out. */
static void
conn_flush(struct conn *c)
{
	while (!c->dead && iobuf_used(&c->out) > 0) {
		ssize_t n = send(c->fd, c->out.data + c->out.off,
		    iobuf_used(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			iobuf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->writing) {
				event_add(&c->ev_write, NULL);
				c->writing = true;
			}
			return;
		}
		log_debug("client %s: send: %s", c->peer, strerror(errno));
		conn_close(c);
		return;
	}
	if (c->dead)
		return;
	/* Events wait in their queue while output is long: with it sent,
	 * the next of them go out (in the next flush of this iteration). */
	if (c->evq.count > 0) {
		conn_pump_events(c);
		if (c->dead || iobuf_used(&c->out) > 0)
			return;
	}
	/* A small buffer comes back from malloc's per-thread cache next
	 * time for almost nothing, so idle clients keep none. */
	if (c->out.cap <= 1024)
		iobuf_free(&c->out);
	if (c->writing) {
		event_del(&c->ev_write);
		c->writing = false;
	}
	if (c->closing)
		conn_close(c);
}

void
conn_flush_dirty(struct server *s)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&s->dirty)) != NULL) {
		TAILQ_REMOVE(&s->dirty, c, dirty_link);
		c->dirty = false;
		conn_hold(c);
		conn_flush(c);
		conn_release(c);
	}
}

static void
conn_mark_dirty(struct conn *c)
{
	struct server *s = c->srv;

	if (c->dirty)
		return;
	if (TAILQ_EMPTY(&s->dirty))
		event_active(s->flush_ev, EV_WRITE, 0);
	TAILQ_INSERT_TAIL(&s->dirty, c, dirty_link);
	c->dirty = true;
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_hold(c);
	conn_flush(c);
	conn_release(c);
}

/* A reply line was appended to the output: count it, enforce the cap,
 * and have it sent at the end of this loop iteration. */
static void
conn_wrote(struct conn *c, int code)
{
	struct server *s = c->srv;

	s->stats.replies_total++;
	if (code != REPLY_OK)
		s->stats.errors_total++;
	if (iobuf_used(&c->out) > (size_t)s->cfg->max_output) {
		/* Replies batched for this loop iteration's flush may pass
		 * the cap although the client reads (STATS answers 6 bytes
		 * with 340): send now, and cut only what the kernel will
		 * not take.  Callers hold c, so a close here only marks it. */
		conn_flush(c);
		if (c->dead)
			return;
	}
	if (iobuf_used(&c->out) > (size_t)s->cfg->max_output) {
		log_warnx("client %s does not read its replies (%zu bytes "
		    "unsent); closing", c->peer, iobuf_used(&c->out));
		conn_close(c);
		return;
	}
	conn_mark_dirty(c);
}

int
conn_put_line(struct conn *c, const char *a, const char *b, size_t blen,
    const char *end, size_t endlen)
{
	size_t alen = strlen(a);

	if (c->dead)
		return -1;
	if (iobuf_reserve(&c->out, alen + blen + endlen) == -1) {
		log_warnx("client %s: out of memory for an event; closing",
		    c->peer);
		conn_close(c);
		return -1;
	}
	memcpy(c->out.data + c->out.len, a, alen);
	memcpy(c->out.data + c->out.len + alen, b, blen);
	memcpy(c->out.data + c->out.len + alen + blen, end, endlen);
	c->out.len += alen + blen + endlen;
	return 0;
}

size_t
conn_output_used(const struct conn *c)
{
	return iobuf_used(&c->out);
}

void
conn_output_ready(struct conn *c)
{
	conn_mark_dirty(c);
}

static void
conn_write(struct conn *c, const char *line, size_t len, int code)
{
	if (c->dead)
		return;
	if (c->pg != NULL) {
		/* pigpio's client gets its binary response instead. */
		pigpio_reply(c, code, line, len);
		if (!c->dead)
			conn_wrote(c, code);
		return;
	}
	if (iobuf_reserve(&c->out, len) == -1) {
		log_warnx("client %s: out of memory for a reply; closing",
		    c->peer);
		conn_close(c);
		return;
	}
	memcpy(c->out.data + c->out.len, line, len);
	c->out.len += len;
	conn_wrote(c, code);
}

/*
 * Answer a request that needs no worker.  Untagged replies keep their
 * place behind earlier untagged requests still being worked on.
 */
void
conn_answer(struct conn *c, const char *tag, int code, const char *text)
{
	size_t len = text != NULL ? strlen(text) : 0;
	struct strbuf line;
	struct request *r;

	if (tag != NULL || TAILQ_EMPTY(&c->order)) {
		/* The common case: format straight into the output. */
		size_t need = proto_reply_size(tag, code, len);

		if (c->dead)
			return;
		if (c->pg == NULL && iobuf_reserve(&c->out, need) == 0) {
			c->out.len += proto_reply_write(c->out.data + c->out.len,
			    tag, code, text, len);
			conn_wrote(c, code);
			return;
		}
		strbuf_init(&line);
		proto_format_reply(&line, tag, code, text, len);
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

/* Stop reading, and close once the output has gone out. */
static void
conn_begin_close(struct conn *c)
{
	if (c->closing || c->dead)
		return;
	c->closing = true;
	conn_stop_reading(c);
	if (iobuf_used(&c->out) == 0)
		conn_close(c);
	else
		conn_mark_dirty(c);	/* the flush closes when done */
}

/* ---- reading ---- */

void
conn_stop_reading(struct conn *c)
{
	if (c->reading) {
		event_del(&c->ev_read);
		c->reading = false;
	}
}

static void
conn_start_reading(struct conn *c)
{
	if (!c->reading && !c->dead && !c->closing && !c->eof &&
	    !c->no_read && !c->input_done && !c->paused) {
		event_add(&c->ev_read, NULL);
		c->reading = true;
	}
}

/*
 * Answer TIMEOUT with msg and detach the request from its client (or
 * callback), so whatever its handler produces is discarded.
 */
static void
request_answer_late(struct request *r, const char *msg)
{
	struct request *stand_in;
	struct conn *c = r->conn;
	struct server *s = r->srv;

	deadline_disarm(&s->deadlines, r);
	/* A queued job must never run late (a late "gpio write"); a running
	 * one finishes on its worker and its result is discarded. */
	pool_cancel(&r->job);
	s->stats.timeouts_total++;

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
		if (r == c->untagged_running)
			conn_run_next_untagged(c);	/* flushes too */
		else
			conn_flush_order(c);
	}
	conn_progress(c);
	conn_release(c);
}

/* The command's deadline passed. */
static void
request_expire(struct request *r)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "command did not finish within %d ms",
	    r->srv->cfg->command_timeout_ms);
	request_answer_late(r, msg);
}

void
conn_expire(struct request *r, void *arg)
{
	(void)arg;
	request_expire(r);
}

/* The drain's deadline passed: say whether the command ever started, so
 * a client knows it may send it again to the next daemon. */
static void
request_shutdown(struct request *r, void *arg)
{
	(void)arg;
	request_answer_late(r, pool_cancel(&r->job) ? SHUTDOWN_NOT_RUN :
	    SHUTDOWN_RAN);
}

void
conn_answer_unfinished(struct server *s)
{
	deadlines_expire_all(&s->deadlines, request_shutdown, NULL);
}

void
conn_arm_timeout(struct request *r)
{
	struct server *s = r->srv;

	deadline_arm(&s->deadlines, r, &s->now_ts);
}

/* Give r to the pool; -1 when its queue is full. */
static int
conn_pool_submit(struct conn *c, struct request *r)
{
	struct server *s = c->srv;

	if (pool_submit(s->pool, &r->job) == -1)
		return -1;
	server_kick_later(s);
	r->in_pool = true;
	s->jobs_out++;
	return 0;
}

/*
 * The untagged request on a worker has finished or was given up: submit
 * the next held one, its deadline starting now.  One that finds the
 * queue full is answered BUSY in its place, and the one after it tried.
 * Past the drain deadline nothing starts: the held ones are answered
 * "not run".
 */
static void
conn_run_next_untagged(struct conn *c)
{
	struct server *s = c->srv;
	struct request *r;

	/* The deadline of the one started here counts from now: the cached
	 * clock may be as old as the lines (this can run from the deadline
	 * timer, when the one before timed out). */
	s_now_update(s);
	c->untagged_running = NULL;
	TAILQ_FOREACH(r, &c->order, link) {
		if (!r->held)
			continue;
		r->held = false;
		s->jobs_held--;
		if (s->drain_expired) {
			s->stats.timeouts_total++;
			request_set_reply(r, PICMD_ERR_TIMEOUT,
			    SHUTDOWN_NOT_RUN, strlen(SHUTDOWN_NOT_RUN));
		} else if (conn_pool_submit(c, r) == 0) {
			timespec_after_ms(&r->ctx.deadline, &s->now_ts,
			    s->cfg->command_timeout_ms);
			conn_arm_timeout(r);
			c->untagged_running = r;
			break;
		} else {
			s->stats.busy_total++;
			request_set_reply(r, PICMD_ERR_BUSY,
			    "queue full, try again",
			    strlen("queue full, try again"));
		}
		r->answered = true;
	}
	conn_flush_order(c);
}

/*
 * Hand a plugin command to the pool.  Untagged commands of one connection
 * run one after another, in request order, as a client that pipelines
 * "gpio write 17 1" and "gpio write 17 0" means them: one arriving while
 * another is on a worker is held (counted as pending) until that one is
 * done or given up, and its deadline starts when it is submitted.
 * Tagged commands run in parallel.
 */
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
	r->ctx.lease = c->lease_ms != 0 ? c->lease_id : 0;
	r->ctx.admin = c->admin;
	timespec_after_ms(&r->ctx.deadline, &s->now_ts,
	    s->cfg->command_timeout_ms);
	if (r->tag == NULL && c->untagged_running != NULL) {
		r->held = true;
		s->jobs_held++;
	} else if (conn_pool_submit(c, r) == -1) {
		request_free(r);
		s->stats.busy_total++;
		conn_answer(c, tag, PICMD_ERR_BUSY, "queue full, try again");
		return;
	}
	r->conn = c;
	c->pending++;
	if (r->tag != NULL)
		TAILQ_INSERT_TAIL(&c->tagged, r, link);
	else {
		TAILQ_INSERT_TAIL(&c->order, r, link);
		if (r->held)
			return;
		c->untagged_running = r;
	}
	conn_arm_timeout(r);
}

static void
conn_handle_line(struct conn *c, const char *line, size_t len)
{
	struct server *s = c->srv;
	struct proto_request *pr = &s->preq;
	enum proto_status st;

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
	c->last_active = s->now;
	if (st == PROTO_ERROR) {
		conn_answer(c, pr->tag, REPLY_PROTO, pr->error);
		return;
	}
	conn_run(c, pr->tag, pr->argc, pr->argv);
}

/*
 * Run one command, its words parsed already (from a text line, or made
 * by the pigpio front-end): authentication, lookup, arguments, admin,
 * then a built-in at once or a plugin command on a worker.  Exactly one
 * reply follows.
 */
void
conn_run(struct conn *c, const char *tag, int argc, char **argv)
{
	struct server *s = c->srv;
	const struct command *cmd;
	char msg[256];
	int nargs;

	cmd = dispatch_lookup(s->dispatch, argc, argv);
	if (!c->authed && (cmd == NULL || !(cmd->flags & CMD_PREAUTH))) {
		conn_answer(c, tag, PICMD_ERR_DENIED,
		    "authentication required");
		return;
	}
	if (cmd == NULL) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (HELP lists "
		    "commands)", argv[0]);
		conn_answer(c, tag, REPLY_UNKNOWN, msg);
		return;
	}
	nargs = argc - cmd->nwords;
	if (!dispatch_args_ok(cmd, nargs)) {
		snprintf(msg, sizeof(msg), "usage: %s", cmd->usage);
		conn_answer(c, tag, PICMD_ERR_ARGS, msg);
		return;
	}
	if ((cmd->flags & PICMD_CMD_ADMIN) && !c->admin) {
		conn_answer(c, tag, PICMD_ERR_DENIED, s->cfg->admin_token ?
		    "admin command: AUTH with the admin token first" :
		    "admin command: set [security] admin_token, or use the "
		    "Unix socket");
		return;
	}
	if (cmd->builtin != NULL) {
		struct strbuf text;
		int code;

		strbuf_init(&text);
		c->cur_tag = tag;
		code = cmd->builtin(c, nargs, argv + cmd->nwords, &text);
		c->cur_tag = NULL;
		if (text.failed) {
			code = PICMD_ERR_INTERNAL;
			strbuf_free(&text);
			strbuf_adds(&text, "out of memory");
		}
		if (code >= 0)
			conn_answer(c, tag, code, text.data);
		strbuf_free(&text);
		return;
	}
	if (s->drain_expired) {
		/* Too late to start anything: it could not finish before the
		 * daemon stops, and its reply would be lost. */
		s->stats.timeouts_total++;
		conn_answer(c, tag, PICMD_ERR_TIMEOUT, SHUTDOWN_NOT_RUN);
		return;
	}
	if (c->cb_port != 0)
		conn_submit_callback(c, cmd, tag, nargs,
		    argv + cmd->nwords);
	else
		conn_submit(c, cmd, tag, nargs, argv + cmd->nwords);
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
	conn_stop_reading(c);
	iobuf_consume(&c->in, iobuf_used(&c->in));
}

/* Run every complete line in the input buffer, as far as backpressure
 * allows. */
static void
conn_process_input(struct conn *c)
{
	struct server *s = c->srv;
	size_t max = (size_t)s->cfg->max_line;

	s_now_update(s);	/* the deadlines of these lines start here */
	if (c->pg != NULL) {
		pigpio_process_input(c);
		return;
	}
	if (!c->authed && max > PREAUTH_MAX_LINE)
		max = PREAUTH_MAX_LINE;
	while (!c->dead && !c->input_done && !c->closing) {
		size_t avail, scan, len, consume;
		char *p, *nl;

		if (c->pending >= (unsigned)s->cfg->max_inflight) {
			c->paused = true;
			conn_stop_reading(c);
			return;
		}
		if ((avail = iobuf_used(&c->in)) == 0)
			break;
		p = c->in.data + c->in.off;
		scan = avail < max + 2 ? avail : max + 2;
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
		conn_handle_line(c, p, len);
		if (!c->authed && max > PREAUTH_MAX_LINE)
			max = PREAUTH_MAX_LINE;
		else if (c->authed)
			max = (size_t)s->cfg->max_line;
		iobuf_consume(&c->in, consume);
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
		conn_start_reading(c);
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
	conn_stop_reading(c);
}

void
conn_shutdown(struct conn *c)
{
	conn_hold(c);
	c->no_read = true;
	conn_stop_reading(c);
	conn_progress(c);
	conn_release(c);
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

/*
 * Most reads hold whole lines only.  They go into the server's scratch
 * buffer and are run from there; only what is left over (a partial line,
 * or lines held back by backpressure) is copied into a buffer of the
 * connection's own.  So a client costs no input buffer between requests.
 */
static ssize_t
conn_read_scratch(struct conn *c)
{
	struct server *s = c->srv;
	ssize_t n;
	size_t left;

	n = read(c->fd, s->rbuf, sizeof(s->rbuf));
	if (n <= 0)
		return n;
	if (c->lease_ms != 0)
		c->lease_seen = s->now_ts;
	c->in = (struct iobuf){ s->rbuf, 0, (size_t)n, sizeof(s->rbuf) };
	conn_process_input(c);
	left = iobuf_used(&c->in);
	if (left == 0 || c->dead) {
		memset(&c->in, 0, sizeof(c->in));
		return -2;	/* done here */
	}
	{
		struct iobuf own = { 0 };

		if (iobuf_reserve(&own, left) == -1) {
			memset(&c->in, 0, sizeof(c->in));
			errno = ENOMEM;
			return -1;
		}
		memcpy(own.data, c->in.data + c->in.off, left);
		own.len = left;
		c->in = own;
	}
	return -2;
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)what;
	conn_hold(c);
	if (iobuf_used(&c->in) == 0) {
		iobuf_free(&c->in);
		n = conn_read_scratch(c);
		if (n == -2) {
			conn_progress(c);
			goto out;
		}
	} else {
		if (iobuf_reserve(&c->in, READ_CHUNK) == -1) {
			log_warnx("client %s: out of memory; closing", c->peer);
			conn_close(c);
			goto out;
		}
		n = read(fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	}
	if (n > 0) {
		c->in.len += (size_t)n;
		if (c->lease_ms != 0)
			c->lease_seen = c->srv->now_ts;
	} else if (n == 0) {
		/* A half-close: the client may still read, so finish its
		 * requests (and the last line, which needs no LF) first. */
		c->eof = true;
		conn_stop_reading(c);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_debug("client %s: read: %s", c->peer, strerror(errno));
		conn_close(c);
		goto out;
	} else
		goto out;
	conn_process_input(c);
	conn_progress(c);
out:
	conn_release(c);
}

void
conn_job_done(struct job *job, void *arg)
{
	struct request *r = (struct request *)job;
	struct server *s = arg;
	struct conn *c = r->conn;

	s->jobs_out--;
	r->in_pool = false;
	/* A result that comes back after the deadline is late even when its
	 * timer has not been run yet in this loop iteration. */
	if (r->deadline_armed &&
	    deadline_passed(&r->ctx.deadline, &s->now_ts)) {
		request_expire(r);
		request_free(r);
		server_conn_gone(s);
		return;
	}
	if (r->cb != NULL) {
		deadline_disarm(&s->deadlines, r);
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
	deadline_disarm(&s->deadlines, r);
	r->answered = true;
	conn_hold(c);
	if (r->tag != NULL) {
		TAILQ_REMOVE(&c->tagged, r, link);
		c->pending--;
		r->conn = NULL;
		conn_write(c, r->out.data, r->out.len, r->code);
		request_free(r);
	} else if (r == c->untagged_running)
		conn_run_next_untagged(c);	/* flushes too */
	else
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
	c->srv = s;
	c->fd = fd;
	if (!is_unix) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (salen <= (socklen_t)sizeof(c->peer_addr)) {
			memcpy(&c->peer_addr, sa, salen);
			c->peer_len = salen;
		}
	}
	TAILQ_INIT(&c->order);
	TAILQ_INIT(&c->tagged);
	conn_events_init(c);
	endpoint_format(sa, salen, c->peer, sizeof(c->peer));
	s_now_update(s);
	c->opened = c->last_active = s->now;
	/* File permissions guard the Unix socket, so its clients may be
	 * trusted like the local administrator. */
	if (is_unix && s->cfg->unix_trusted)
		c->authed = c->admin = true;
	else
		c->authed = s->cfg->token == NULL;
	event_assign(&c->ev_read, s->base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_assign(&c->ev_write, s->base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nclients++;
	s->stats.connections_total++;
	conn_start_reading(c);
	log_debug("client %s connected", c->peer);
	return c;
}
