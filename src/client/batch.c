/*
 * Batch mode (stdin is not a terminal): every line is sent as it is read,
 * without waiting for replies, and replies are printed as they arrive.
 * Reading stdin, writing the socket and reading replies share one poll()
 * loop, so a long batch never deadlocks on full socket buffers.
 *
 * Interactive mode: a prompt with line editing and history (libedit).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <editline/readline.h>

#include "client.h"
#include "proto.h"

struct batch {
	struct strbuf	 in;		/* stdin bytes not yet split */
	struct strbuf	 out;		/* requests not yet sent */
	size_t		 out_sent;
	unsigned long	 expected;	/* replies owed */
	unsigned long	 received;
	bool		 stdin_eof;
	bool		 shut;		/* our sending side is closed */
	int		 rc;
};

/* Queue complete lines from b->in; at EOF the last line needs no LF. */
static void
batch_take_lines(struct batch *b)
{
	size_t start = 0;

	for (;;) {
		char *base = b->in.data + start;
		size_t avail = b->in.len - start, len;
		char *nl = memchr(base, '\n', avail);
		struct proto_request pr;
		char *words;

		if (nl != NULL)
			len = (size_t)(nl - base);
		else if (b->stdin_eof && avail > 0)
			len = avail;
		else
			break;
		/* The server answers every line that is not blank. */
		if ((words = malloc(len + 1)) != NULL) {
			size_t l = len > 0 && base[len - 1] == '\r' ? len - 1 : len;

			if (proto_parse(base, l, words, &pr) != PROTO_BLANK)
				b->expected++;
			free(words);
		}
		strbuf_add(&b->out, base, len);
		strbuf_addc(&b->out, '\n');
		start += nl != NULL ? len + 1 : len;
	}
	memmove(b->in.data, b->in.data + start, b->in.len - start);
	b->in.len -= start;
	b->in.data[b->in.len] = '\0';
}

static void
batch_print_replies(struct batch *b, struct linereader *lr,
    struct strbuf *line)
{
	const char *p;

	while (lr_next(lr, line, 0) == 1) {
		printf("%s\n", line->data);
		b->received++;
		p = line->data;
		if (*p == '#' && (p = strchr(p, ' ')) != NULL)
			p++;
		if (p == NULL || strncmp(p, "OK", 2) != 0)
			b->rc = EXIT_REPLY_ERR;
	}
	fflush(stdout);
}

int
run_batch(const struct target *t)
{
	struct batch b = { .rc = EXIT_REPLY_OK };
	struct linereader lr;
	struct strbuf line;
	long long last = now_ms();
	char chunk[8192];
	int fd;

	if ((fd = net_connect(t)) == -1)
		return EXIT_TROUBLE;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	strbuf_init(&b.in);
	strbuf_init(&b.out);
	strbuf_init(&line);
	lr_init(&lr, fd);

	while (!lr.eof && (!b.shut || b.received < b.expected)) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = b.stdin_eof ? -1 : STDIN_FILENO, .events = POLLIN },
		};
		long left = t->timeout_ms - (long)(now_ms() - last);
		int n;

		if (b.out_sent < b.out.len)
			pfd[0].events |= POLLOUT;
		/* Time out only while replies are owed and nothing moves. */
		if (b.received < b.expected && left <= 0) {
			fprintf(stderr, "picmd: no reply within %ld ms (%lu of "
			    "%lu received)\n", t->timeout_ms, b.received,
			    b.expected);
			b.rc = EXIT_TROUBLE;
			break;
		}
		n = poll(pfd, 2, b.received < b.expected ? (int)left : -1);
		if (n == -1 && errno != EINTR) {
			perror("picmd: poll");
			b.rc = EXIT_TROUBLE;
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(STDIN_FILENO, chunk, sizeof(chunk));

			if (r <= 0)
				b.stdin_eof = true;
			else
				strbuf_add(&b.in, chunk, (size_t)r);
			batch_take_lines(&b);
		}
		if (pfd[0].revents & POLLOUT) {
			ssize_t w = send(fd, b.out.data + b.out_sent,
			    b.out.len - b.out_sent, MSG_NOSIGNAL);

			if (w == -1 && errno != EAGAIN && errno != EINTR) {
				perror("picmd: send");
				b.rc = EXIT_TROUBLE;
				break;
			}
			if (w > 0)
				b.out_sent += (size_t)w;
			if (b.out_sent == b.out.len) {
				strbuf_reset(&b.out);
				b.out_sent = 0;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			unsigned long before = b.received;

			batch_print_replies(&b, &lr, &line);
			if (b.received != before)
				last = now_ms();
		}
		if (b.stdin_eof && b.out.len == 0 && !b.shut) {
			/* Half-close: the daemon answers everything, then
			 * closes its side. */
			shutdown(fd, SHUT_WR);
			b.shut = true;
			last = now_ms();
		}
	}
	if (b.rc != EXIT_TROUBLE && b.received < b.expected) {
		fprintf(stderr, "picmd: connection closed with %lu of %lu "
		    "replies received\n", b.received, b.expected);
		b.rc = EXIT_TROUBLE;
	}
	fflush(stdout);
	lr_free(&lr);
	strbuf_free(&line);
	strbuf_free(&b.in);
	strbuf_free(&b.out);
	close(fd);
	return b.rc;
}

static char *
history_path(void)
{
	const char *home = getenv("HOME");
	char *path;

	if (home == NULL || asprintf(&path, "%s/.picmd_history", home) == -1)
		return NULL;
	return path;
}

int
run_interactive(const struct target *t)
{
	struct linereader lr;
	struct strbuf line, req;
	char *input, *hist = history_path();
	int fd, rc = EXIT_REPLY_OK;

	if ((fd = net_connect(t)) == -1) {
		free(hist);
		return EXIT_TROUBLE;
	}
	using_history();
	if (hist != NULL)
		read_history(hist);
	lr_init(&lr, fd);
	strbuf_init(&line);
	strbuf_init(&req);
	while ((input = readline("picmd> ")) != NULL) {
		struct proto_request pr;
		char *words = malloc(strlen(input) + 1);
		bool blank = words == NULL || proto_parse(input, strlen(input),
		    words, &pr) == PROTO_BLANK;

		free(words);
		if (blank) {
			free(input);
			continue;
		}
		add_history(input);
		strbuf_reset(&req);
		strbuf_adds(&req, input);
		strbuf_addc(&req, '\n');
		free(input);
		if (net_write_all(fd, req.data, req.len) == -1) {
			fprintf(stderr, "picmd: connection lost\n");
			rc = EXIT_TROUBLE;
			break;
		}
		/* Print the reply, and any tagged ones that arrived. */
		int got = lr_next(&lr, &line, t->timeout_ms);
		if (got == -2) {
			fprintf(stderr, "picmd: no reply within %ld ms\n",
			    t->timeout_ms);
			continue;
		}
		if (got != 1) {
			fprintf(stderr, "picmd: connection closed\n");
			break;
		}
		printf("%s\n", line.data);
		while (lr_next(&lr, &line, 0) == 1)
			printf("%s\n", line.data);
		fflush(stdout);
	}
	if (hist != NULL) {
		write_history(hist);
		free(hist);
	}
	lr_free(&lr);
	strbuf_free(&line);
	strbuf_free(&req);
	close(fd);
	return rc;
}
