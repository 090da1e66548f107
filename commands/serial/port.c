/*
 * A port's life: found by name, locked, opened on first use and kept
 * open, and closed when the device goes away (unplugged, hung up), to be
 * opened again by a later command once the device is back.
 *
 * A port is opened by the first command that needs it, not at start-up:
 * "picmdd -t" and a daemon with an unplugged adapter start all the same,
 * and an Arduino (which resets when its port opens) resets only when a
 * client uses it.
 *
 * Hang-ups: the command that finds one (a read that sees the end, EIO,
 * POLLHUP) answers ERR DEVICE and closes the port; what was received and
 * not read is lost with the device.  The next command opens the port
 * again: ERR DEVICE while the device is still away, and once it is back
 * the command works and the log says so.  So a client sees every
 * hang-up once, and never data from before it mixed with data from after.
 *
 * While a port is open, the tick (watch.c) also looks for a hang-up once
 * a second and closes a port that had one, with the same log line, so
 * that the device is let go at once: a USB adapter keeps its number
 * (ttyACM0) when it comes back only if nobody holds the old one open.
 * The next command then still answers the hang-up's ERR DEVICE
 * (unreported), as if it had found it itself.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serial.h"

struct serial_port *
serial_find(picmd_ctx *ctx, struct serial_state *st, const char *name)
{
	char names[256];
	size_t used = 0;

	for (unsigned i = 0; i < st->nports; i++)
		if (strcasecmp(st->ports[i].name, name) == 0)
			return &st->ports[i];
	names[0] = '\0';
	for (unsigned i = 0; i < st->nports && used < sizeof(names); i++) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s",
		    i > 0 ? " " : "", st->ports[i].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (st->nports == 0)
		serial_api->reply_error(ctx, PICMD_ERR_ARGS, "unknown port '%s': "
		    "no ports are configured ([serial] name = device speed "
		    "framing)", name);
	else
		serial_api->reply_error(ctx, PICMD_ERR_ARGS, "unknown port '%s' "
		    "(ports: %s)", name, names);
	return NULL;
}

/*
 * A readline may hold its port for up to a minute: wait for the mutex
 * until the command's deadline, not longer.  pthread_mutex_timedlock
 * rather than clocklock: ThreadSanitizer understands only the former.
 */
int
serial_lock(picmd_ctx *ctx, struct serial_port *p)
{
	struct timespec ts;
	long left = serial_api->remaining_ms(ctx);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&p->mu, &ts) == 0)
		return 0;
	serial_api->reply_error(ctx, PICMD_ERR_BUSY, "port %s: busy with another "
	    "command until after this one's deadline", p->name);
	return -1;
}

void
serial_unlock(struct serial_port *p)
{
	pthread_mutex_unlock(&p->mu);
}

bool
serial_errno_gone(int err)
{
	/* EIO: a pty whose other end closed, a USB adapter pulled out;
	 * ENODEV: end of input (a hung-up tty reads 0); the rest what
	 * drivers answer for a device that is no more. */
	return err == EIO || err == ENODEV || err == ENXIO || err == EPIPE ||
	    err == ECONNRESET || err == EBADF;
}

long
serial_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long
serial_budget(picmd_ctx *ctx, long want)
{
	long left = serial_api->remaining_ms(ctx) - SERIAL_MARGIN_MS;

	if (left < 0)
		left = 0;
	return want < left ? want : left;
}

int
serial_poll(int fd, short events, long ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	if (ms < 0)
		ms = 0;
	while ((n = poll(&pfd, 1, (int)ms)) == -1 && errno == EINTR)
		;
	if (n <= 0)
		return n;
	return pfd.revents;
}

long
serial_fill(struct serial_port *p)
{
	struct serial_backend *be = p->st->be;
	ssize_t n;

	if (p->len == SERIAL_BUF)
		return 0;
	do
		n = be->ops->read(be, p->idx, p->buf + p->len,
		    SERIAL_BUF - p->len);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		errno = ENODEV;
		return -1;
	}
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	p->len += (size_t)n;
	return n;
}

void
serial_hangup(struct serial_port *p)
{
	struct serial_state *st = p->st;

	if (p->w != NULL) {
		serial_api->unwatch_fd(p->w);
		p->w = NULL;
	}
	st->be->ops->release(st->be, p->idx);
	p->state = PORT_GONE;
	p->len = 0;
	p->hup = false;
	/* A watched port has no client to tell: it reopens by itself. */
	p->unreported = !p->watched;
	if (p->watched) {
		serial_api->log(PICMD_LOG_WARN, "serial: %s: %s hung up (device "
		    "gone?); watching it again once it is back", p->name,
		    p->set.device);
		serial_tick_arm(st, SERIAL_RETRY_MS);
	} else
		serial_api->log(PICMD_LOG_WARN, "serial: %s: %s hung up (device "
		    "gone?); a later command opens it again once it is back",
		    p->name, p->set.device);
}

void
serial_reply_gone(picmd_ctx *ctx, struct serial_port *p)
{
	p->unreported = false;
	serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: %s hung up "
	    "(device gone?); a later command opens it again once it is back",
	    p->name, p->set.device);
}

/* Has the open port hung up?  Asked before each command uses it, so
 * that a hang-up is found by a write or a flush too. */
static bool
hung_up(struct serial_port *p)
{
	int rev;

	if (p->hup)
		return true;
	rev = serial_poll(p->link.rfd, POLLIN, 0);
	return rev < 0 || (rev & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void
serial_check(struct serial_port *p)
{
	if (p->state == PORT_OPEN && hung_up(p))
		serial_hangup(p);
}

int
serial_open(struct serial_port *p, char *why, size_t whylen)
{
	struct serial_backend *be = p->st->be;
	enum port_state was = p->state;
	char framing[4], err[128];

	if (be->ops->open(be, p->idx, &p->set, &p->link, why, whylen) == -1)
		return -1;
	p->state = PORT_OPEN;
	p->len = 0;
	p->hup = false;
	p->unreported = false;
	/* The tick looks for hang-ups while the port is open. */
	if (serial_tick_start(p->st) == 0)
		serial_tick_arm(p->st, SERIAL_RETRY_MS);
	serial_framing(&p->set, framing);
	if (was == PORT_GONE)
		serial_api->log(PICMD_LOG_INFO, "serial: %s: %s is back; "
		    "reopened", p->name, p->set.device);
	else
		serial_api->log(PICMD_LOG_INFO, "serial: %s: opened %s at %u %s, "
		    "flow control %s", p->name, p->set.device, p->set.speed,
		    framing, serial_flow_word(p->set.flow));
	if (p->watched && serial_watch_arm(p) == -1) {
		serial_api->log(PICMD_LOG_WARN, "serial: %s: cannot watch %s "
		    "again (%s); trying again every second", p->name,
		    p->set.device, strerror_r(errno, err, sizeof(err)));
		serial_tick_arm(p->st, SERIAL_RETRY_MS);
	}
	return 0;
}

int
serial_ensure_open(picmd_ctx *ctx, struct serial_port *p)
{
	char why[160];

	if (p->state == PORT_OPEN) {
		if (!hung_up(p))
			return 0;
		serial_hangup(p);
		serial_reply_gone(ctx, p);
		return -1;
	}
	/* The tick found the hang-up: answer it as if this command had. */
	if (p->state == PORT_GONE && p->unreported) {
		serial_reply_gone(ctx, p);
		return -1;
	}
	if (serial_open(p, why, sizeof(why)) == -1) {
		serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: cannot "
		    "open %s: %s", p->name, p->set.device, why);
		return -1;
	}
	return 0;
}
