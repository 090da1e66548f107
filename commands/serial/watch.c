/*
 * serial watch / unwatch: every line a watched port receives is
 * published as an event on serial.<port> ("! serial.gps $GPGGA,...
 * seq=N"), escaped as serial readline escapes it, a line longer than
 * SERIAL_LINE_MAX in pieces ending in "\+" (docs/DEVICES.md, Serial).
 *
 * No thread per port: the daemon watches the port's descriptor
 * (api->watch_fd) and runs port_ready() on a worker when bytes arrive.
 *
 * A hang-up is the awkward case.  A hung-up descriptor stays readable,
 * so its callback would run again and again, and a callback must not
 * end its own watch (plugin.h).  So port_ready() only marks the port
 * (hup) and wakes the tick, a timerfd the daemon also watches, whose
 * callback ends the port's watch, closes the port, and then tries every
 * SERIAL_RETRY_MS to open it again: a watched USB adapter that is
 * unplugged and plugged back in goes on publishing, with no command.
 * The tick also looks for hang-ups of the other open ports (port.c says
 * why), so it runs once a second while any port is open.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "serial.h"

/* Reads per callback: a port that never stops sending (4 Mbit/s) must
 * not keep its worker and its mutex forever; the daemon calls again. */
#define READS_PER_CALL	64

static void
publish_piece(struct serial_port *p, size_t start, size_t n, bool more)
{
	char text[4 * SERIAL_LINE_MAX + 1], topic[sizeof("serial.") +
	    SERIAL_NAME_MAX];

	serial_escape(p->buf + start, n, text);
	snprintf(topic, sizeof(topic), "serial.%s", p->name);
	if (serial_api->publish(p->st->host, topic, "%s%s", text,
	    more ? "\\+" : "") == -1)
		serial_api->log(PICMD_LOG_DEBUG, "serial: %s: a line was not "
		    "published (the daemon's event queue is full)", p->name);
}

void
serial_publish_lines(struct serial_port *p)
{
	size_t start, n, used;
	bool more;

	while (serial_line_next(p->buf, p->len, &start, &n, &more, &used)) {
		publish_piece(p, start, n, more);
		memmove(p->buf, p->buf + used, p->len - used);
		p->len -= used;
	}
	/* The empty lines before a partial one. */
	memmove(p->buf, p->buf + used, p->len - used);
	p->len -= used;
}

/*
 * The port's descriptor is readable (on a worker).  The watch may have
 * ended, or the port been closed and opened again, since the daemon saw
 * it: checked under the port's mutex.
 */
static void
port_ready(int fd, void *arg)
{
	struct serial_port *p = arg;
	long r = 0;

	pthread_mutex_lock(&p->mu);
	if (!p->watched || p->w == NULL || p->hup || p->state != PORT_OPEN ||
	    p->link.rfd != fd) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	for (int i = 0; i < READS_PER_CALL; i++) {
		if ((r = serial_fill(p)) <= 0)
			break;
		serial_publish_lines(p);
	}
	if (r == -1) {
		/* Any error: this descriptor has nothing more to give, and
		 * stays readable.  The tick closes it and opens the port
		 * again. */
		p->hup = true;
		p->len = 0;
		serial_tick_arm(p->st, 0);
	}
	pthread_mutex_unlock(&p->mu);
}

int
serial_watch_arm(struct serial_port *p)
{
	if (p->st->host == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	if (p->w != NULL)
		return 0;
	p->w = serial_api->watch_fd(p->st->host, p->link.rfd, port_ready, p);
	return p->w != NULL ? 0 : -1;
}

void
serial_tick_arm(struct serial_state *st, long ms)
{
	struct itimerspec when = { { 0, 0 }, { ms / 1000,
	    (ms % 1000) * 1000000L } }, now;
	char buf[128];

	/* 0 would disarm the timer: "now" is a nanosecond. */
	if (ms <= 0)
		when.it_value.tv_nsec = 1;
	/* Never later than asked before: a hang-up waiting to be dealt
	 * with must not wait for the next second's check. */
	pthread_mutex_lock(&st->tick_mu);
	if (st->tick_fd >= 0 &&
	    timerfd_gettime(st->tick_fd, &now) == 0 &&
	    ((now.it_value.tv_sec == 0 && now.it_value.tv_nsec == 0) ||
	    now.it_value.tv_sec * 1000L + now.it_value.tv_nsec / 1000000 >
	    ms) &&
	    timerfd_settime(st->tick_fd, 0, &when, NULL) == -1)
		serial_api->log(PICMD_LOG_WARN, "serial: cannot set the timer "
		    "of open ports: %s", strerror_r(errno, buf, sizeof(buf)));
	pthread_mutex_unlock(&st->tick_mu);
}

/*
 * The tick (on a worker): close the open ports that hung up, open again
 * the watched ports that are closed, or watch again those whose watch
 * could not be made.  Each port under its own mutex; this is another
 * watch's callback, so ending a port's watch is allowed.
 */
static void
tick(int fd, void *arg)
{
	struct serial_state *st = arg;
	uint64_t expirations;
	bool again = false, soon = false;
	char why[160];

	if (read(fd, &expirations, sizeof(expirations)) == -1 &&
	    errno != EAGAIN)
		return;
	for (unsigned i = 0; i < st->nports; i++) {
		struct serial_port *p = &st->ports[i];

		/*
		 * A port busy with a command (a readline may take a minute)
		 * is that command's to look after: next second, then; but a
		 * hang-up of its watch soon, as port_ready() runs again and
		 * again until the watch ends.
		 */
		if (pthread_mutex_trylock(&p->mu) != 0) {
			again = true;
			if (atomic_load(&p->hup))
				soon = true;
			continue;
		}
		serial_check(p);
		if (p->watched && p->state != PORT_OPEN) {
			if (serial_open(p, why, sizeof(why)) == -1)
				again = true;
		} else if (p->watched && serial_watch_arm(p) == -1)
			again = true;
		if (p->state == PORT_OPEN)
			again = true;
		pthread_mutex_unlock(&p->mu);
	}
	if (soon)
		serial_tick_arm(st, 10);
	else if (again)
		serial_tick_arm(st, SERIAL_RETRY_MS);
}

int
serial_tick_start(struct serial_state *st)
{
	int fd, rc = 0;

	if (st->host == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	pthread_mutex_lock(&st->tick_mu);
	if (st->tick_fd < 0) {
		if ((fd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_NONBLOCK | TFD_CLOEXEC)) == -1) {
			rc = -1;
		} else if ((st->tick_w = serial_api->watch_fd(st->host, fd,
		    tick, st)) == NULL) {
			int err = errno;

			close(fd);
			errno = err;
			rc = -1;
		} else
			st->tick_fd = fd;
	}
	pthread_mutex_unlock(&st->tick_mu);
	return rc;
}

void
serial_watch_fini(struct serial_state *st)
{
	if (st->tick_fd >= 0)
		close(st->tick_fd);
}

/*
 * serial watch <port>: its lines become events on serial.<port>
 * (SUBSCRIBE serial.gps), the lines already received first.  While
 * watched, read and readline on the port answer ERR BUSY; write and
 * flush work.  Watching a watched port again is OK and changes nothing.
 */
void
serial_watch(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_port *p;
	char buf[128];

	(void)argc;
	if ((p = serial_find(ctx, st, argv[0])) == NULL ||
	    serial_lock(ctx, p) == -1)
		return;
	if (serial_ensure_open(ctx, p) == -1 || p->watched)
		goto out;
	if (st->host == NULL) {
		serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: this "
		    "picmdd has no events", p->name);
		goto out;
	}
	p->watched = true;
	if (serial_tick_start(st) == -1 || serial_watch_arm(p) == -1) {
		p->watched = false;
		serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: cannot "
		    "watch %s: %s", p->name, p->set.device,
		    strerror_r(errno, buf, sizeof(buf)));
		goto out;
	}
	serial_publish_lines(p);
out:
	serial_unlock(p);
}

/* The port stays open; a partial line stays for readline. */
void
serial_unwatch(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_port *p;

	(void)argc;
	if ((p = serial_find(ctx, st, argv[0])) == NULL ||
	    serial_lock(ctx, p) == -1)
		return;
	if (p->watched) {
		p->watched = false;
		if (p->w != NULL) {
			serial_api->unwatch_fd(p->w);
			p->w = NULL;
		}
		/* A hang-up the tick had not dealt with yet. */
		if (p->hup)
			serial_hangup(p);
	}
	serial_unlock(p);
}

/* SUBSCRIBE serial.GPS means serial.gps, as the commands do. */
int
serial_normalise_topic(void *state, const char *word, char *out, size_t size)
{
	struct serial_state *st = state;

	if (st == NULL)
		return -1;
	/* Names are fixed after init: no lock needed to read them. */
	for (unsigned i = 0; i < st->nports; i++)
		if (strcasecmp(st->ports[i].name, word) == 0)
			return snprintf(out, size, "%s", st->ports[i].name) <
			    (int)size ? 0 : -1;
	return -1;
}
