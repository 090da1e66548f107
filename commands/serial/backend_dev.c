/*
 * The termios device backend: a port is a tty device node (/dev/serial0,
 * /dev/ttyAMA0, /dev/ttyUSB0, /dev/ttyACM0, a pseudo-terminal in the
 * tests), opened once and kept open.
 *
 * How a port is opened, and why:
 *  - O_NOCTTY: the daemon may be a session leader without a controlling
 *    terminal, and must not acquire the port as one (a hang-up would
 *    then send it SIGHUP);
 *  - O_NONBLOCK, kept afterwards: the plugin waits with poll() and a
 *    deadline, never in read() or write(); and open() itself does not
 *    wait for a carrier (DCD) that a Pi's UART or an Arduino never
 *    raises;
 *  - TIOCEXCL: no other program can open the port while picmd has it
 *    (root, CAP_SYS_ADMIN, still can: the kernel's rule);
 *  - raw mode (no echo, no line editing, no CR/LF translation, every
 *    byte passed through), CLOCAL (ignore the modem lines), the
 *    configured speed and framing, and flow control only when configured
 *    (serial_termios_make() in format.c), and every setting checked
 *    after, since a driver keeps quiet about what it cannot do;
 *  - input that arrived before the port was configured is dropped: it was
 *    read at some other speed or by some other program.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "backend.h"
#include "serial.h"

struct dev_backend {
	struct serial_backend	 be;		/* first: the common head */
	int			 fds[];		/* per port, -1 when closed */
};

static int *
dev_fd(struct serial_backend *be, unsigned i)
{
	return &((struct dev_backend *)be)->fds[i];
}

static void
dev_release(struct serial_backend *be, unsigned i)
{
	int *fd = dev_fd(be, i);

	if (*fd >= 0) {
		/* Not checked: the port is gone either way, and a hung-up
		 * tty's close may report EIO for output it never sent. */
		(void)close(*fd);
		*fd = -1;
	}
}

static void
dev_close(struct serial_backend *be)
{
	for (unsigned i = 0; i < be->nports; i++)
		dev_release(be, i);
	free(be);
}

/* Configure the open tty fd as s says; 0, or -1 with errno and why. */
static int
dev_configure(int fd, const struct serial_settings *s, char *why,
    size_t whylen)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) == -1 || serial_termios_make(s, &tio) == -1 ||
	    tcsetattr(fd, TCSANOW, &tio) == -1 || tcgetattr(fd, &tio) == -1) {
		serial_why_errno(errno, why, whylen);
		return -1;
	}
	/* tcsetattr succeeds when any part of the change took, and drivers
	 * quietly keep what their hardware cannot do (the Pi's mini UART
	 * has no parity): check that everything did. */
	if (serial_termios_check(s, &tio, why, whylen) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
dev_open(struct serial_backend *be, unsigned i, const struct serial_settings *s,
    struct serial_link *link, char *why, size_t whylen)
{
	int *slot = dev_fd(be, i);
	int fd, err;

	dev_release(be, i);
	fd = open(s->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		serial_why_errno(errno, why, whylen);
		return -1;
	}
	/* isatty() first: on a regular file the ioctls would fail one by
	 * one with the same ENOTTY, less clearly. */
	if (!isatty(fd) || ioctl(fd, TIOCEXCL) == -1) {
		err = errno;
		serial_why_errno(err, why, whylen);
		(void)close(fd);
		errno = err;
		return -1;
	}
	if (dev_configure(fd, s, why, whylen) == -1 ||
	    tcflush(fd, TCIFLUSH) == -1) {
		err = errno;
		(void)close(fd);
		errno = err;
		return -1;
	}
	*slot = fd;
	link->rfd = fd;
	link->wfd = fd;
	return 0;
}

static ssize_t
dev_read(struct serial_backend *be, unsigned i, void *buf, size_t n)
{
	int fd = *dev_fd(be, i);

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	return read(fd, buf, n);
}

static ssize_t
dev_write(struct serial_backend *be, unsigned i, const void *buf, size_t n)
{
	int fd = *dev_fd(be, i);
	ssize_t w;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	/* A hung-up tty accepts nothing: write() answers EIO (pty) or 0. */
	if ((w = write(fd, buf, n)) == 0 && n > 0) {
		errno = EIO;
		return -1;
	}
	return w;
}

static long
dev_discard(struct serial_backend *be, unsigned i)
{
	int fd = *dev_fd(be, i), pending = 0;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	/* The count is what the kernel held a moment before the flush:
	 * a byte arriving in between is dropped uncounted. */
	if (ioctl(fd, FIONREAD, &pending) == -1 || tcflush(fd, TCIFLUSH) == -1)
		return -1;
	return pending;
}

static const struct serial_backend_ops dev_ops = {
	.close = dev_close,
	.open = dev_open,
	.release = dev_release,
	.read = dev_read,
	.write = dev_write,
	.discard = dev_discard,
};

struct serial_backend *
serial_dev_new(unsigned nports)
{
	struct dev_backend *d;

	d = calloc(1, sizeof(*d) + (size_t)nports * sizeof(d->fds[0]));
	if (d == NULL)
		return NULL;
	d->be.ops = &dev_ops;
	d->be.kind = "dev";
	d->be.nports = nports;
	for (unsigned i = 0; i < nports; i++)
		d->fds[i] = -1;
	return &d->be;
}
