#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "proto.h"

#define LR_MAX_LINE	(16 * 1024 * 1024)

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
wait_fd(int fd, short events, long timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
	while (n == -1 && errno == EINTR);
	return n;
}

/* Non-blocking connect bounded by timeout_ms; 0 or an errno value. */
static int
connect_timeout(int fd, const struct sockaddr *sa, socklen_t len,
    long timeout_ms)
{
	int flags = fcntl(fd, F_GETFL), err = 0;
	socklen_t elen = sizeof(err);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, sa, len) == -1) {
		if (errno != EINPROGRESS)
			return errno;
		switch (wait_fd(fd, POLLOUT, timeout_ms)) {
		case 0:
			return ETIMEDOUT;
		case -1:
			return errno;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			return errno;
		if (err != 0)
			return err;
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

bool net_auth_denied;

/* AUTH before anything else; nothing else is in flight, so a reader of
 * its own cannot take bytes meant for a later reply. */
static int
net_auth(int fd, const struct target *t)
{
	struct linereader lr;
	struct strbuf req, line;
	int rc = -1;

	strbuf_init(&req);
	strbuf_init(&line);
	strbuf_adds(&req, "AUTH ");
	proto_quote_word(&req, t->token);
	strbuf_addc(&req, '\n');
	lr_init(&lr, fd);
	if (net_write_all(fd, req.data, req.len) == -1)
		fprintf(stderr, "picmd: cannot send AUTH: %s\n", strerror(errno));
	else switch (lr_next(&lr, &line, t->timeout_ms)) {
	case 1:
		if (strcmp(line.data, "OK") == 0) {
			rc = 0;
			break;
		}
		net_auth_denied = true;
		fprintf(stderr, "picmd: authentication failed: %s\n",
		    strncmp(line.data, "ERR ", 4) == 0 ? line.data + 4 :
		    line.data);
		break;
	case -2:
		fprintf(stderr, "picmd: no reply to AUTH within %ld ms\n",
		    t->timeout_ms);
		break;
	default:
		fprintf(stderr, "picmd: connection closed during AUTH\n");
		break;
	}
	explicit_bzero(req.data, req.len);
	strbuf_free(&req);
	strbuf_free(&line);
	lr_free(&lr);
	return rc;
}

int
net_connect(const struct target *t)
{
	int fd = net_connect_raw(t);

	if (fd == -1 || t->token == NULL)
		return fd;
	if (net_auth(fd, t) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
net_connect_raw(const struct target *t)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, err = 0, gai;

	if (t->unix_path != NULL) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(t->unix_path) >= sizeof(sun.sun_path)) {
			fprintf(stderr, "picmd: %s: socket path too long\n",
			    t->unix_path);
			return -1;
		}
		strcpy(sun.sun_path, t->unix_path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
		    (err = connect_timeout(fd, (struct sockaddr *)&sun,
		    sizeof(sun), t->timeout_ms)) != 0) {
			fprintf(stderr, "picmd: cannot connect to %s: %s\n",
			    t->unix_path, strerror(err ? err : errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		return fd;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
		fprintf(stderr, "picmd: cannot resolve %s: %s\n", t->host,
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if ((err = connect_timeout(fd, ai->ai_addr, ai->ai_addrlen,
		    t->timeout_ms)) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		fprintf(stderr, "picmd: cannot connect to %s port %s: %s\n",
		    t->host, t->port, err == ETIMEDOUT ? "timed out" :
		    strerror(err));
		return -1;
	}
	return fd;
}

void
lr_init(struct linereader *lr, int fd)
{
	lr->fd = fd;
	strbuf_init(&lr->buf);
	lr->start = 0;
	lr->eof = false;
}

void
lr_free(struct linereader *lr)
{
	strbuf_free(&lr->buf);
}

int
lr_next(struct linereader *lr, struct strbuf *line, long timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	bool looked = false;
	char chunk[4096];

	for (;;) {
		char *base = lr->buf.data + lr->start;
		size_t avail = lr->buf.len - lr->start;
		char *nl = memchr(base, '\n', avail);
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - base);

			strbuf_reset(line);
			strbuf_add(line, base, len > 0 && base[len - 1] == '\r' ?
			    len - 1 : len);
			lr->start += len + 1;
			if (lr->start == lr->buf.len) {
				strbuf_reset(&lr->buf);
				lr->start = 0;
			}
			return 1;
		}
		if (lr->eof)
			return 0;
		if (deadline >= 0) {
			long long left = deadline - now_ms();

			/* A zero timeout still looks once; after the deadline
			 * a peer that keeps sending without a line end does
			 * not keep us here. */
			if (left <= 0 && looked)
				return -2;
			looked = true;
			if (wait_fd(lr->fd, POLLIN, left > 0 ? (long)left : 0) == 0)
				return -2;
		}
		n = read(lr->fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0) {
			lr->eof = true;
			continue;
		}
		if (lr->start > 0) {
			/* Compact before growing. */
			memmove(lr->buf.data, base, avail);
			lr->buf.len = avail;
			lr->start = 0;
		}
		strbuf_add(&lr->buf, chunk, (size_t)n);
		/* A reply line is short; a peer that never ends one is not a
		 * picmd daemon. */
		if (lr->buf.failed || lr->buf.len > LR_MAX_LINE)
			return -1;
	}
}

int
net_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_fd(fd, POLLOUT, -1) >= 0)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}
