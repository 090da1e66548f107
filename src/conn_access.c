/*
 * Who may do what on a connection, and for how long: AUTH, the idle and
 * authentication deadlines, per-address counting, the HTTP guard, and
 * callback mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "callback.h"
#include "cidr.h"
#include "conn_priv.h"
#include "log.h"
#include "plugin.h"
#include "pool.h"
#include "server.h"

/*
 * A browser can be made to send an HTTP request to any address and port; a
 * line protocol that executed its lines would then let any web page drive
 * the Pi's pins.  So a line that looks like HTTP closes the connection
 * before anything runs: a request line ("POST /x HTTP/1.1") or a header
 * ("Host: ..."), whose first word ends in ':' and so is no command name.
 */
bool
looks_like_http(const char *line, size_t len)
{
	static const struct {
		const char	*name;
		size_t		 len;
	} methods[] = { { "GET", 3 }, { "PUT", 3 }, { "POST", 4 },
	    { "HEAD", 4 }, { "PATCH", 5 }, { "TRACE", 5 }, { "DELETE", 6 },
	    { "OPTIONS", 7 }, { "CONNECT", 7 } };
	size_t w = 0, i;

	while (w < len && line[w] != ' ' && line[w] != '\t')
		w++;
	if (w > 1 && line[w - 1] == ':' && line[0] != '#')
		return true;
	/* Every request passes here: leave at once unless the first word
	 * could be a method. */
	if (w < 3 || w > 7 || w == len || line[0] < 'C' || line[0] > 'T')
		return false;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == w && memcmp(line, methods[i].name, w) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0]))
		return false;
	if (line[w + 1] == '/' || line[w + 1] == '*' ||
	    memmem(line + w, len - w, "://", 3) != NULL)
		return true;
	return len >= 8 && memmem(line, len, " HTTP/", 6) != NULL;
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
		conn_stop_reading(c);
		strbuf_adds(text, "wrong token; closing");
	} else
		strbuf_adds(text, "wrong token");
	return PICMD_ERR_DENIED;
}

void
conn_sweep(struct server *s)
{
	const struct config *cfg = s->cfg;
	struct conn *c, *next;
	time_t now;

	s_now_update(s);
	now = s->now;
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->closing)
			continue;
		/* Whole seconds: ">" never cuts a client early. */
		if (!c->authed && now - c->opened > cfg->auth_timeout_s) {
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
		    c->out.len == c->out.off &&
		    now - c->last_active > cfg->idle_timeout_s) {
			log_debug("client %s idle for %d s; closing", c->peer,
			    cfg->idle_timeout_s);
			s->stats.idle_closed_total++;
			conn_close(c);
			continue;
		}
		/* Give the memory of quiet connections back (Redis does the
		 * same with its query buffers). */
		if (now - c->last_active >= 1)
			conn_free_buffers_if_idle(c);
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

/*
 * Callback mode: the request belongs to the callback target, not to this
 * connection, so the client may hang up once it has read "OK QUEUED".
 */
void
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
	r->ctx.admin = c->admin;
	timespec_after_ms(&r->ctx.deadline, &s->now_ts,
	    s->cfg->command_timeout_ms);
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
	server_kick_later(s);
	r->in_pool = true;
	s->jobs_out++;
	conn_arm_timeout(r);
	snprintf(msg, sizeof(msg), "QUEUED %s", id);
	conn_answer(c, tag, REPLY_OK, msg);
}
