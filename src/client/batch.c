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
	bool		 lease_ended;	/* LEASE OFF queued */
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
		/* Keep-alive replies are ours; events are printed but are
		 * no replies. */
		if (lease_reply(line->data))
			continue;
		printf("%s\n", line->data);
		if (line->data[0] == '!')
			continue;
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
	lr_init(&lr, fd);
	if (lease_start(t, fd, &lr) == -1) {
		lr_free(&lr);
		close(fd);
		return EXIT_TROUBLE;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	strbuf_init(&b.in);
	strbuf_init(&b.out);
	strbuf_init(&line);

	while (!lr.eof && (!b.shut || b.received < b.expected)) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = b.stdin_eof ? -1 : STDIN_FILENO, .events = POLLIN },
		};
		long left = t->timeout_ms - (long)(now_ms() - last);
		long wait = b.received < b.expected ? left : -1;
		const char *ping;
		int n;

		if (!b.shut && (ping = lease_due(t)) != NULL)
			strbuf_adds(&b.out, ping);
		if (!b.shut && lease_wait_ms(t) >= 0 &&
		    (wait < 0 || lease_wait_ms(t) < wait))
			wait = lease_wait_ms(t);

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
		n = poll(pfd, 2, (int)wait);
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
		if (b.stdin_eof && b.out.len == 0 && !b.shut &&
		    !b.lease_ended && t->lease_ms != 0) {
			/* All sent: end the lease cleanly, then close. */
			strbuf_adds(&b.out, lease_end_line(t));
			b.lease_ended = true;
			continue;
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

/*
 * The prompt reads the terminal and the connection side by side (libedit's
 * callback interface in a poll loop), so replies, and events from
 * SUBSCRIBE, print as they arrive without garbling the line being typed,
 * and a --lease is kept alive while the user thinks.
 */
static struct {
	int			 fd;
	bool			 done;
	int			 rc;
	struct strbuf		 req;
} prompt;

static void
prompt_line(char *input)
{
	struct proto_request pr;
	char *words;
	bool blank;

	if (input == NULL) {		/* ^D */
		prompt.done = true;
		printf("\n");
		return;
	}
	/* A fresh, empty line under a new prompt now, not when the next key
	 * comes: a reply drawn before that would show the old line again. */
	rl_callback_handler_install("picmd> ", prompt_line);
	words = malloc(strlen(input) + 1);
	blank = words == NULL || proto_parse(input, strlen(input), words,
	    &pr) == PROTO_BLANK;
	free(words);
	if (!blank) {
		add_history(input);
		strbuf_reset(&prompt.req);
		strbuf_adds(&prompt.req, input);
		strbuf_addc(&prompt.req, '\n');
		if (net_write_all(prompt.fd, prompt.req.data,
		    prompt.req.len) == -1) {
			fprintf(stderr, "picmd: connection lost\n");
			prompt.rc = EXIT_TROUBLE;
			prompt.done = true;
		}
	}
	free(input);
}

/* A line from the daemon above the prompt, which is drawn again after. */
static void
prompt_print(const char *text)
{
	fputs("\r\033[K", stdout);
	printf("%s\n", text);
	fflush(stdout);
	rl_forced_update_display();
}

int
run_interactive(const struct target *t)
{
	struct linereader lr;
	struct strbuf line;
	char *hist = history_path();
	int got;

	memset(&prompt, 0, sizeof(prompt));
	prompt.rc = EXIT_REPLY_OK;
	if ((prompt.fd = net_connect(t)) == -1) {
		free(hist);
		return EXIT_TROUBLE;
	}
	lr_init(&lr, prompt.fd);
	strbuf_init(&line);
	strbuf_init(&prompt.req);
	if (lease_start(t, prompt.fd, &lr) == -1) {
		prompt.rc = EXIT_TROUBLE;
		goto out;
	}
	using_history();
	if (hist != NULL)
		read_history(hist);
	rl_callback_handler_install("picmd> ", prompt_line);
	while (!prompt.done) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = prompt.fd, .events = POLLIN },
		};
		long wait = lease_wait_ms(t);

		if (poll(pfd, 2, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			perror("picmd: poll");
			prompt.rc = EXIT_TROUBLE;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP))
			rl_callback_read_char();
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			while ((got = lr_next(&lr, &line, 0)) == 1)
				if (!lease_reply(line.data))
					prompt_print(line.data);
			if (got == 0 || got == -1) {
				fputs("\r\033[K", stdout);
				fprintf(stderr, "picmd: connection closed\n");
				prompt.rc = EXIT_TROUBLE;
				break;
			}
		}
		if (lease_keepalive(t, prompt.fd) == -1) {
			prompt.rc = EXIT_TROUBLE;
			break;
		}
	}
	rl_callback_handler_remove();
	if (prompt.rc != EXIT_TROUBLE)
		net_write_all(prompt.fd, lease_end_line(t),
		    strlen(lease_end_line(t)));
	if (hist != NULL)
		write_history(hist);
out:
	free(hist);
	lr_free(&lr);
	strbuf_free(&line);
	strbuf_free(&prompt.req);
	close(prompt.fd);
	return prompt.rc;
}
