/*
 * The pigpio front-end's connection side: 16-byte requests in, picmd
 * command lines run for them, 16-byte responses out, and notification
 * streams fed from the event bus.
 *
 * Reply order is the core's: every command line the front-end runs for
 * a connection is untagged, so its replies come back in the order the
 * lines were run.  A request that became several lines (NB watches each
 * new line, BS1 writes each bit) waits in the connection's queue until
 * the replies of all its lines are in; the first error decides its
 * result, and then its response is written.  pigpio's clients send one
 * request and wait for its response, so the queue is short; a client
 * that pipelines anyway is answered in order.
 *
 * What each command becomes is compat_pigpio_cmds.c's business.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat_pigpio_priv.h"
#include "conn_events.h"
#include "conn_priv.h"
#include "evqueue.h"
#include "log.h"
#include "proto.h"
#include "server.h"

#define MAX_WORDS	16	/* of a command line the front-end makes */

struct pg_conn {
	struct pg_req	*ring;		/* requests in arrival order */
	size_t		 head;
	size_t		 count;
	size_t		 cap;
	int		 notify;	/* its handle as a stream, or -1 */
	uint32_t	 view;		/* levels 0-31 as its client knows them */
};

uint32_t
pg_tick_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000000 +
	    (uint64_t)ts.tv_nsec / 1000);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* ---- the daemon-wide state ---- */

struct pigpio_state *
pigpio_state_new(struct server *s)
{
	struct pigpio_config *pc = s->cfg->pigpio;
	struct pigpio_state *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	ps->srv = s;
	ps->hwver = pigpio_board_revision(s->cfg);
	ps->cfg = pc;
	s->cfg->pigpio = NULL;
	for (unsigned g = 0; g <= PG_MAX_GPIO; g++) {
		ps->gpio[g].range = PG_DEFAULT_RANGE;
		ps->gpio[g].freq = PG_DEFAULT_FREQ;
	}
	ps->pins = pc->pins;
	ps->hwpwm = pc->hwpwm;
	ps->nhwpwm = pc->nhwpwm;
	if (ps->hwver == 0)
		log_warnx("pigpio: no board revision (not a Raspberry Pi?): "
		    "HWVER answers 0, which gpiozero refuses; set [pigpio] "
		    "hwver");
	else
		log_info("pigpio: board revision %#x", ps->hwver);
	return ps;
}

void
pigpio_state_free(struct pigpio_state *ps)
{
	if (ps == NULL)
		return;
	pigpio_config_free(ps->cfg);
	free(ps);
}

int
pigpio_listen_count(const struct pigpio_state *ps)
{
	return ps->cfg->nlisten;
}

const struct endpoint *
pigpio_listen(const struct pigpio_state *ps)
{
	return ps->cfg->listen;
}

bool
pigpio_allows(const struct pigpio_state *ps, int family,
    const struct sockaddr *sa)
{
	if (family == AF_UNIX || ps->cfg->nallow == 0)
		return true;
	return cidr_match_any(ps->cfg->allow, ps->cfg->nallow, sa);
}

const struct pigpio_config *
pigpio_running_config(const struct pigpio_state *ps)
{
	return ps != NULL ? ps->cfg : NULL;
}

/* ---- a connection ---- */

int
pigpio_conn_attach(struct conn *c)
{
	if ((c->pg = calloc(1, sizeof(*c->pg))) == NULL)
		return -1;
	c->pg->notify = -1;
	/* No password in pigpio's protocol: the listener's address rules
	 * ([pigpio] allow) stand in for AUTH.  Never admin. */
	c->authed = true;
	c->admin = false;
	return 0;
}

int
pg_conn_notify(struct conn *c)
{
	return c->pg->notify;
}

void
pg_conn_set_notify(struct conn *c, int handle)
{
	c->pg->notify = handle;
}

void
pg_conn_set_view(struct conn *c, uint32_t levels)
{
	c->pg->view = levels;
}

static struct pg_req *
ring_at(struct pg_conn *pg, size_t i)
{
	return &pg->ring[(pg->head + i) % pg->cap];
}

static struct pg_req *
ring_push(struct pg_conn *pg)
{
	struct pg_req *q;

	if (pg->count == pg->cap) {
		size_t cap = pg->cap ? pg->cap * 2 : 4;
		struct pg_req *r = calloc(cap, sizeof(*r));

		if (r == NULL)
			return NULL;
		for (size_t i = 0; i < pg->count; i++)
			r[i] = *ring_at(pg, i);
		free(pg->ring);
		pg->ring = r;
		pg->cap = cap;
		pg->head = 0;
	}
	q = ring_at(pg, pg->count++);
	memset(q, 0, sizeof(*q));
	strbuf_init(&q->data);
	return q;
}

static void
ring_pop(struct pg_conn *pg)
{
	strbuf_free(&ring_at(pg, 0)->data);
	pg->head = (pg->head + 1) % pg->cap;
	pg->count--;
}

void
pigpio_conn_detach(struct conn *c)
{
	struct pigpio_state *ps = c->srv->pigpio;
	struct pg_conn *pg = c->pg;

	/* A notification stream dies with its socket, as in pigpiod.  The
	 * watches it started end when nobody has subscribed for [gpio]
	 * watch_idle_s. */
	for (int h = 0; h < PG_NOTIFY_SLOTS; h++)
		if (ps->notify[h].c == c)
			memset(&ps->notify[h], 0, sizeof(ps->notify[h]));
	while (pg->count > 0)
		ring_pop(pg);
	free(pg->ring);
	free(pg);
	c->pg = NULL;
}

/* ---- running command lines ---- */

static void
run_line(struct conn *c, struct pg_req *q, bool quiet, const char *fmt,
    va_list ap)
{
	struct strbuf line;
	char *argv[MAX_WORDS + 1], *p, *w;
	int argc = 0;

	if (c->dead)
		return;
	strbuf_init(&line);
	strbuf_vaddf(&line, fmt, ap);
	if (quiet && q->parts < 64)
		q->quiet |= 1ULL << q->parts;
	q->parts++;
	c->srv->stats.commands_total++;
	if (line.failed) {
		conn_answer(c, NULL, PICMD_ERR_INTERNAL, "out of memory");
		strbuf_free(&line);
		return;
	}
	log_debug("pigpio %s: command %u: %.160s%s", c->peer, q->w[0],
	    line.data, line.len > 160 ? "..." : "");
	for (p = line.data; (w = strsep(&p, " ")) != NULL && argc < MAX_WORDS;)
		if (*w != '\0')
			argv[argc++] = w;
	argv[argc] = NULL;
	conn_run(c, NULL, argc, argv);
	strbuf_free(&line);
}

void
pg_run(struct conn *c, struct pg_req *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	run_line(c, q, false, fmt, ap);
	va_end(ap);
}

void
pg_run_quiet(struct conn *c, struct pg_req *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	run_line(c, q, true, fmt, ap);
	va_end(ap);
}

void
pg_follow(struct conn *stream, unsigned g, bool on)
{
	struct strbuf why;
	char topic[16];

	strbuf_init(&why);
	snprintf(topic, sizeof(topic), "gpio.%u", g);
	if ((on ? conn_subscribe(stream, topic, &why) :
	    conn_unsubscribe(stream, topic, &why)) == -1)
		log_warnx("pigpio %s: %s %s: %s", stream->peer, on ?
		    "subscribe" : "unsubscribe", topic, strbuf_str(&why));
	strbuf_free(&why);
}

/* pigpio's result for a picmd error reply. */
static int32_t
map_error(const struct pg_req *q, int code, const char *msg)
{
	switch (code) {
	case PICMD_ERR_DENIED:
		return PG_NOT_PERMITTED;
	case REPLY_UNKNOWN:
		return PG_UNKNOWN_COMMAND;	/* its plugin is not loaded */
	case PICMD_ERR_TIMEOUT:
		return PG_CMD_INTERRUPTED;
	case PICMD_ERR_INTERNAL:
		return PG_NO_MEMORY;
	case PICMD_ERR_BUSY:
		return strstr(msg, "queue full") != NULL ? PG_CMD_INTERRUPTED :
		    PG_GPIO_IN_USE;
	case PICMD_ERR_DEVICE:
		if (strstr(msg, "out of range") != NULL)
			return PG_BAD_GPIO;
		if (strstr(msg, "busy") != NULL)
			return PG_GPIO_IN_USE;
		return q->def != NULL ? q->def->err : PG_UNKNOWN_COMMAND;
	default:
		return q->def != NULL ? q->def->err : PG_UNKNOWN_COMMAND;
	}
}

/* Write the responses of the oldest requests whose replies are all in. */
static void
emit_ready(struct conn *c)
{
	struct pg_conn *pg = c->pg;
	struct pg_req *q;
	uint8_t frame[PG_FRAME];
	bool wrote = false;

	while (!c->dead && pg->count > 0 && !(q = ring_at(pg, 0))->building &&
	    q->seen >= q->parts) {
		size_t extra = 0;

		put_u32(frame, q->w[0]);
		put_u32(frame + 4, q->w[1]);
		put_u32(frame + 8, q->w[2]);
		put_u32(frame + 12, (uint32_t)q->result);
		if (q->def != NULL && q->def->data && q->result > 0)
			extra = q->data.len;
		if (conn_put_line(c, "", (const char *)frame, sizeof(frame),
		    extra > 0 ? q->data.data : "", extra) == -1)
			return;
		ring_pop(pg);
		wrote = true;
	}
	if (wrote)
		conn_output_ready(c);
}

void
pigpio_reply(struct conn *c, int code, const char *line, size_t len)
{
	struct pg_conn *pg = c->pg;
	struct pg_req *q;
	unsigned part;
	char text[512];
	const char *sp;
	size_t n;

	if (pg->count == 0) {
		log_debug("pigpio %s: a reply for no request", c->peer);
		return;
	}
	/* The oldest request still waiting for a reply is the one: every
	 * line is untagged, answered in order. */
	for (size_t i = 0; i < pg->count; i++) {
		q = ring_at(pg, i);
		if (q->seen < q->parts)
			break;
	}
	part = q->seen++;
	/* "OK payload" or "ERR CODE message", without the LF. */
	n = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
	sp = memchr(line, ' ', n);
	if (code != REPLY_OK && sp != NULL) {
		const char *msg = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - line));

		sp = msg;
	}
	n = sp != NULL ? n - (size_t)(sp + 1 - line) : 0;
	if (code != REPLY_OK) {
		if (!q->failed && !(part < 64 && (q->quiet >> part & 1))) {
			if (n >= sizeof(text))
				n = sizeof(text) - 1;
			memcpy(text, sp != NULL ? sp + 1 : "", n);
			text[n] = '\0';
			q->failed = true;
			q->result = map_error(q, code, text);
			if (q->def != NULL && q->def->failed != NULL)
				q->def->failed(c->srv->pigpio, q);
		}
	} else if (!q->failed && q->def != NULL && q->def->ok != NULL) {
		struct strbuf payload;

		strbuf_init(&payload);
		strbuf_add(&payload, sp != NULL ? sp + 1 : "", n);
		q->def->ok(c->srv->pigpio, q, part, strbuf_str(&payload));
		strbuf_free(&payload);
	}
	emit_ready(c);
}

/* ---- requests in ---- */

static void
log_unknown(struct pigpio_state *ps, struct conn *c, uint32_t cmd)
{
	if (cmd < PG_NCOMMANDS) {
		if (ps->unknown_logged[cmd / 8] & (1u << (cmd % 8)))
			return;
		ps->unknown_logged[cmd / 8] |= (uint8_t)(1u << (cmd % 8));
	} else if (ps->big_unknown_logged)
		return;
	else
		ps->big_unknown_logged = true;
	log_warnx("pigpio %s: command %u is not supported (answered "
	    "PI_UNKNOWN_COMMAND; logged once%s)", c->peer, cmd,
	    cmd < PG_NCOMMANDS ? "" : " for every number above 127");
}

/* One whole request: w and its extension bytes. */
static void
take_request(struct conn *c, const uint32_t w[4], const uint8_t *ext)
{
	struct pigpio_state *ps = c->srv->pigpio;
	struct pg_req *q;

	if ((q = ring_push(c->pg)) == NULL) {
		log_warnx("pigpio %s: out of memory; closing", c->peer);
		conn_close(c);
		return;
	}
	memcpy(q->w, w, sizeof(q->w));
	q->conn = c;
	q->def = pg_def_of(w[0]);
	c->last_active = c->srv->now;
	q->building = true;
	if (q->def == NULL) {
		log_unknown(ps, c, w[0]);
		q->result = PG_UNKNOWN_COMMAND;
	} else
		q->def->start(ps, c, q, ext);
	if (c->dead)
		return;
	if (q->parts == 0) {
		/* Decided here: one reply stands for it, in its place, and
		 * only its place counts. */
		q->parts = 1;
		q->quiet = 1;
		c->srv->stats.commands_total++;
		conn_answer(c, NULL, q->result < 0 ? PICMD_ERR_ARGS : REPLY_OK,
		    "");
		if (c->dead)
			return;
	}
	q->building = false;
	emit_ready(c);
}

void
pigpio_process_input(struct conn *c)
{
	struct server *s = c->srv;

	while (!c->dead && !c->closing) {
		size_t avail = c->in.len - c->in.off;
		const uint8_t *p = (const uint8_t *)c->in.data + c->in.off;
		uint32_t w[4];

		if (c->pending >= (unsigned)s->cfg->max_inflight) {
			c->paused = true;
			conn_stop_reading(c);
			return;
		}
		if (avail < PG_FRAME)
			break;
		for (int i = 0; i < 4; i++)
			w[i] = get_u32(p + 4 * i);
		if (w[3] >= PG_MAX_EXTENSION) {
			/* pigpiod closes too: the stream cannot be framed. */
			log_warnx("pigpio %s: extension of %u bytes (at most "
			    "%d); closing", c->peer, w[3], PG_MAX_EXTENSION - 1);
			conn_close(c);
			return;
		}
		if (avail < PG_FRAME + (size_t)w[3])
			break;
		take_request(c, w, p + PG_FRAME);
		if (c->dead)
			return;
		c->in.off += PG_FRAME + (size_t)w[3];
		if (c->in.off == c->in.len)
			c->in.off = c->in.len = 0;
	}
	if (c->eof && c->in.len > c->in.off)
		/* A partial request and the client finished sending. */
		c->in.off = c->in.len = 0;
}

/* ---- notification streams ---- */

/* "gpio.17 rising 1 ts=... mono=812.004113250 ..." */
static int
parse_edge(const struct pevent *e, unsigned *g, int *level, uint32_t *tick)
{
	const char *p, *mono;
	unsigned long sec, nsec = 0;
	char *end;

	if (strncmp(e->topic, "gpio.", 5) != 0)
		return -1;
	*g = (unsigned)strtoul(e->topic + 5, &end, 10);
	if (*end != '\0' || *g > PG_MAX_GPIO)
		return -1;
	/* text: topic, edge word, level */
	if ((p = strchr(e->text, ' ')) == NULL ||
	    (p = strchr(p + 1, ' ')) == NULL)
		return -1;
	*level = p[1] == '1';
	*tick = pg_tick_now();
	if ((mono = strstr(p, " mono=")) != NULL) {
		sec = strtoul(mono + 6, &end, 10);
		if (*end == '.')
			nsec = strtoul(end + 1, NULL, 10);
		*tick = (uint32_t)((uint64_t)sec * 1000000 + nsec / 1000);
	}
	return 0;
}

/*
 * A report: seqno, flags (0: levels changed), tick, the levels of lines
 * 0-31.  The client finds the lines that changed by comparing the levels
 * with the previous report's (the first: with its BR1 on this socket), so
 * the levels sent are the client's view with line g's new level: only g
 * differs, and only when its level did change.
 */
static int
put_report(struct conn *c, uint64_t seq, uint32_t tick, unsigned g, int level)
{
	uint8_t rep[PG_REPORT];
	uint32_t *view = &c->pg->view;

	if (g > 31)
		return 0;	/* pigpio reports bank 1 only */
	*view = (*view & ~(1u << g)) | (uint32_t)(level != 0) << g;
	rep[0] = (uint8_t)seq;
	rep[1] = (uint8_t)(seq >> 8);
	rep[2] = rep[3] = 0;
	put_u32(rep + 4, tick);
	put_u32(rep + 8, *view);
	return conn_put_line(c, "", (const char *)rep, sizeof(rep), "", 0);
}

int
pigpio_put_event(struct conn *c, const struct pevent *e, uint64_t seq)
{
	unsigned g;
	int level;
	uint32_t tick;

	if (parse_edge(e, &g, &level, &tick) == -1)
		return 0;	/* not an edge: nothing pigpio can say */
	return put_report(c, seq, tick, g, level);
}

/*
 * A line a stream starts to report: when its level is not the one the
 * client last learnt (its BR1 ran before the line was set up, say before
 * a pull-up), the stream says so at once.  Otherwise the client would
 * measure the line's first edge against the stale level and miss it.
 */
void
pg_sync_level(struct conn *stream, unsigned g, int level)
{
	if (g > 31 || (stream->pg->view >> g & 1) == (uint32_t)(level != 0))
		return;
	if (put_report(stream, ++stream->evq.next_seq, pg_tick_now(), g,
	    level) == 0)
		conn_output_ready(stream);
}
