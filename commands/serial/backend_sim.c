/*
 * The simulated backend ([serial] backend = sim): every configured port
 * is a loopback, as if its TX pin were wired to its RX pin, so the
 * daemon's serial commands work on a PC and the tests need no device.
 *
 * Model of one port:
 *  - what is written can be read back, in order, once; nothing else ever
 *    arrives; the settings (speed, framing, flow control) are accepted
 *    and have no effect;
 *  - the loopback holds what a Unix socket's buffer holds (a few hundred
 *    KiB) before a write has to wait, as a real port waits for a slow
 *    line;
 *  - "serial sim-set <port> unplug" pulls the device out: the open port
 *    hangs up (reads see the end, writes fail with EIO) and opening it
 *    fails with ENOENT until "serial sim-set <port> plug"; what was
 *    written and not read is lost with the device.
 *
 * It is built on a connected pair of Unix stream sockets per open port,
 * so the port has real descriptors that poll() and the daemon's
 * watch_fd() wait on, exactly as on a tty: the plugin reads the near end
 * (rfd), and a write goes in at the far end (wfd), which makes it
 * readable at the near one.  Unplugging shuts the far end down in both
 * directions, which the near end sees as a hang-up (POLLHUP, read 0),
 * without closing a descriptor the plugin may still be polling.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "serial.h"

struct sim_port {
	int	 near;		/* the port's end: read here */
	int	 far;		/* the device's end: writes go in here */
	bool	 unplugged;
};

struct sim_backend {
	struct serial_backend	 be;		/* first: the common head */
	struct sim_port		 ports[];
};

static struct sim_port *
sp(struct serial_backend *be, unsigned i)
{
	return &((struct sim_backend *)be)->ports[i];
}

static void
sim_release(struct serial_backend *be, unsigned i)
{
	struct sim_port *p = sp(be, i);

	if (p->near >= 0) {
		close(p->near);
		close(p->far);
		p->near = p->far = -1;
	}
}

static void
sim_close(struct serial_backend *be)
{
	for (unsigned i = 0; i < be->nports; i++)
		sim_release(be, i);
	free(be);
}

static int
sim_open(struct serial_backend *be, unsigned i, const struct serial_settings *s,
    struct serial_link *link, char *why, size_t whylen)
{
	struct sim_port *p = sp(be, i);
	int fds[2];

	(void)s;
	sim_release(be, i);
	if (p->unplugged)
		errno = ENOENT;
	if (p->unplugged || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, fds) == -1) {
		serial_why_errno(errno, why, whylen);
		return -1;
	}
	p->near = fds[0];
	p->far = fds[1];
	link->rfd = p->near;
	link->wfd = p->far;
	return 0;
}

static ssize_t
sim_read(struct serial_backend *be, unsigned i, void *buf, size_t n)
{
	struct sim_port *p = sp(be, i);

	if (p->near < 0) {
		errno = EBADF;
		return -1;
	}
	return read(p->near, buf, n);
}

static ssize_t
sim_write(struct serial_backend *be, unsigned i, const void *buf, size_t n)
{
	struct sim_port *p = sp(be, i);

	if (p->near < 0) {
		errno = EBADF;
		return -1;
	}
	/* What a hung-up tty answers. */
	if (p->unplugged) {
		errno = EIO;
		return -1;
	}
	/* MSG_NOSIGNAL: never SIGPIPE, whatever happened to the far end. */
	return send(p->far, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static long
sim_discard(struct serial_backend *be, unsigned i)
{
	struct sim_port *p = sp(be, i);
	char sink[512];
	long dropped = 0;
	ssize_t n;

	if (p->near < 0) {
		errno = EBADF;
		return -1;
	}
	while ((n = read(p->near, sink, sizeof(sink))) > 0)
		dropped += n;
	if (n == -1 && errno != EAGAIN)
		return -1;
	return dropped;
}

static const struct serial_backend_ops sim_ops = {
	.close = sim_close,
	.open = sim_open,
	.release = sim_release,
	.read = sim_read,
	.write = sim_write,
	.discard = sim_discard,
};

struct serial_backend *
serial_sim_new(unsigned nports)
{
	struct sim_backend *b;

	b = calloc(1, sizeof(*b) + (size_t)nports * sizeof(b->ports[0]));
	if (b == NULL)
		return NULL;
	b->be.ops = &sim_ops;
	b->be.kind = "sim";
	b->be.nports = nports;
	for (unsigned i = 0; i < nports; i++)
		b->ports[i].near = b->ports[i].far = -1;
	return &b->be;
}

int
serial_sim_unplug(struct serial_backend *be, unsigned i, bool gone)
{
	struct sim_port *p = sp(be, i);

	if (be->ops != &sim_ops || i >= be->nports) {
		errno = EINVAL;
		return -1;
	}
	p->unplugged = gone;
	/* The device's end stops sending and receiving: the port's end
	 * sees the hang-up; its descriptor stays valid until release(). */
	if (gone && p->far >= 0 && shutdown(p->far, SHUT_RDWR) == -1)
		return -1;
	return 0;
}
