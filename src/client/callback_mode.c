/*
 * --callback PORT: listen on PORT at this machine's address on the
 * command connection (the address the daemon will connect back to), ask
 * for callback delivery, send the request, hang up after "OK QUEUED <id>",
 * and wait for "#<id> ..." on the port.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"

static int
open_listener(int cmd_fd, const char *port, unsigned *bound_port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1;
	long p = strtol(port, NULL, 10);

	if (getsockname(cmd_fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((in_port_t)p);
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((in_port_t)p);
	else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	*bound_port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* Send one line and read its reply; a reply code or EXIT_TROUBLE. */
static int
exchange(int fd, struct linereader *lr, const char *req, struct strbuf *line,
    long timeout_ms)
{
	if (net_write_all(fd, req, strlen(req)) == -1) {
		perror("picmd: send");
		return EXIT_TROUBLE;
	}
	switch (lr_next(lr, line, timeout_ms)) {
	case 1:
		return EXIT_REPLY_OK;
	case -2:
		fprintf(stderr, "picmd: no reply within %ld ms\n", timeout_ms);
		return EXIT_TROUBLE;
	default:
		fprintf(stderr, "picmd: connection closed without a reply\n");
		return EXIT_TROUBLE;
	}
}

/* Accept callback connections until the line for id arrives. */
static int
await_result(int lfd, const char *id, long timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t idlen = strlen(id);
	struct strbuf line;
	int rc = EXIT_TROUBLE;

	strbuf_init(&line);
	for (;;) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		long long left = deadline - now_ms();
		struct linereader lr;
		int cfd, got;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			fprintf(stderr, "picmd: no result on the callback port "
			    "within %ld ms\n", timeout_ms);
			break;
		}
		if ((cfd = accept(lfd, NULL, NULL)) == -1)
			continue;
		lr_init(&lr, cfd);
		/* Lines for other ids must not outlast the deadline; and a
		 * negative timeout would make lr_next() wait forever. */
		for (;;) {
			left = deadline - now_ms();
			if (left <= 0) {
				got = -2;
				break;
			}
			if ((got = lr_next(&lr, &line, (long)left)) != 1)
				break;
			if (line.data[0] == '#' &&
			    strncmp(line.data + 1, id, idlen) == 0 &&
			    line.data[1 + idlen] == ' ')
				break;
		}
		lr_free(&lr);
		close(cfd);
		if (got == 1) {
			rc = reply_print(line.data);
			break;
		}
	}
	strbuf_free(&line);
	return rc;
}

int
run_callback(const struct target *t, const char *request, const char *port)
{
	struct linereader lr;
	struct strbuf line, cmd;
	unsigned bound;
	char id[80];
	int fd, lfd, rc;

	if ((fd = net_connect(t)) == -1)
		return EXIT_TROUBLE;
	if ((lfd = open_listener(fd, port, &bound)) == -1) {
		fprintf(stderr, "picmd: cannot listen on callback port %s: %s\n",
		    port, strerror(errno));
		close(fd);
		return EXIT_TROUBLE;
	}
	lr_init(&lr, fd);
	strbuf_init(&line);
	strbuf_init(&cmd);
	strbuf_addf(&cmd, "CALLBACK %u\n", bound);
	if ((rc = exchange(fd, &lr, cmd.data, &line, t->timeout_ms)) != 0)
		goto done;
	if (strcmp(line.data, "OK") != 0) {
		rc = reply_print(line.data);
		goto done;
	}
	if ((rc = exchange(fd, &lr, request, &line, t->timeout_ms)) != 0)
		goto done;
	if (sscanf(line.data, "OK QUEUED %79s", id) != 1) {
		/* Answered at once: an error, or a built-in command. */
		rc = reply_print(line.data);
		goto done;
	}
	/* The result no longer needs this connection. */
	close(fd);
	fd = -1;
	rc = await_result(lfd, id, t->timeout_ms);
done:
	lr_free(&lr);
	strbuf_free(&line);
	strbuf_free(&cmd);
	if (fd != -1)
		close(fd);
	close(lfd);
	return rc;
}
