/*
 * picmd: send commands to picmdd.
 *
 *   picmd [-H HOST] [-p PORT] [-u SOCKET] [--timeout MS] [--callback PORT]
 *         [--lease MS] COMMAND [ARGS...] | watch ...
 *
 * Exit status: 0 for OK, 1 for ERR, 2 for usage errors, connection
 * failures and timeouts, so scripts can tell "the Pi said no" from "the Pi
 * did not answer".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"

#ifndef PICMD_VERSION
#define PICMD_VERSION "0.0.0"
#endif
#define DEFAULT_PORT	"15769"
#define DEFAULT_TIMEOUT	15000

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: picmd [-H HOST] [-p PORT] [-u SOCKET] [--timeout MS]\n"
	    "             [--callback PORT] [COMMAND [ARGS...]]\n"
	    "  -H, --host HOST     daemon host (default $PICMD_HOST or 127.0.0.1)\n"
	    "  -p, --port PORT     daemon port (default $PICMD_PORT or 15769)\n"
	    "  -u, --unix SOCKET   connect to a Unix socket instead\n"
	    "  -t, --timeout MS    connect and reply timeout (default %d)\n"
	    "  -c, --callback PORT have the result delivered to PORT on this\n"
	    "                      machine (0: any free port)\n"
	    "  -a, --auth-file FILE send AUTH with the token in FILE first\n"
	    "                      (or set $PICMD_TOKEN)\n"
	    "  -l, --lease MS      hold a lease for the session (interactive,\n"
	    "                      batch, watch): the daemon's failsafe runs\n"
	    "                      when nothing is heard from picmd for MS\n"
	    "  -h, --help          this help\n"
	    "  -V, --version       print the version\n"
	    "Without COMMAND, requests are read from standard input: one per\n"
	    "line, or at a prompt when it is a terminal.\n"
	    "picmd watch [--count N] [--json] gpio LINE rising|falling|both\n"
	    "      [DEBOUNCE_MS] [PULL]   watch a line and print its edges\n"
	    "picmd watch [--count N] [--json] TOPIC...   print events ('gpio.*')\n",
	    DEFAULT_TIMEOUT);
}

int
reply_print(const char *line)
{
	const char *p = line;

	if (*p == '#') {
		/* Drop the tag: the caller knows which request this was. */
		if ((p = strchr(p, ' ')) == NULL)
			goto bad;
		p++;
	}
	if (strcmp(p, "OK") == 0)
		return EXIT_REPLY_OK;
	if (strncmp(p, "OK ", 3) == 0) {
		printf("%s\n", p + 3);
		return EXIT_REPLY_OK;
	}
	if (strncmp(p, "ERR ", 4) == 0) {
		fprintf(stderr, "%s\n", p + 4);
		return EXIT_REPLY_ERR;
	}
bad:
	fprintf(stderr, "picmd: malformed reply: %.200s\n", line);
	return EXIT_TROUBLE;
}

static int
parse_number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The first line of a token file. */
static char *
read_token(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "picmd: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	n = getline(&line, &cap, fp);
	fclose(fp);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		fprintf(stderr, "picmd: %s: no token in it\n", path);
		free(line);
		return NULL;
	}
	return line;
}

static int
run_one(const struct target *t, const char *request)
{
	struct linereader lr;
	struct strbuf line;
	int fd, rc;

	if ((fd = net_connect(t)) == -1)
		return net_auth_denied ? EXIT_REPLY_ERR : EXIT_TROUBLE;
	if (net_write_all(fd, request, strlen(request)) == -1) {
		perror("picmd: send");
		close(fd);
		return EXIT_TROUBLE;
	}
	lr_init(&lr, fd);
	strbuf_init(&line);
	switch (lr_next(&lr, &line, t->timeout_ms)) {
	case 1:
		rc = reply_print(line.data);
		break;
	case -2:
		fprintf(stderr, "picmd: no reply within %ld ms\n", t->timeout_ms);
		rc = EXIT_TROUBLE;
		break;
	default:
		fprintf(stderr, "picmd: connection closed without a reply\n");
		rc = EXIT_TROUBLE;
		break;
	}
	strbuf_free(&line);
	lr_free(&lr);
	close(fd);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "unix", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 't' },
		{ "callback", required_argument, NULL, 'c' },
		{ "auth-file", required_argument, NULL, 'a' },
		{ "lease", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct target t = { 0 };
	const char *callback = NULL;
	char *token = NULL;
	struct strbuf req;
	long v;
	int ch, rc;

	t.host = getenv("PICMD_HOST") ? getenv("PICMD_HOST") : "127.0.0.1";
	t.port = getenv("PICMD_PORT") ? getenv("PICMD_PORT") : DEFAULT_PORT;
	t.timeout_ms = DEFAULT_TIMEOUT;
	/* Not an option: arguments show in ps(1), the environment does not. */
	if (getenv("PICMD_TOKEN") != NULL && *getenv("PICMD_TOKEN") != '\0')
		t.token = getenv("PICMD_TOKEN");

	/* "+": stop at the command, so its arguments may start with '-'. */
	while ((ch = getopt_long(argc, argv, "+H:p:u:t:c:a:l:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'H':
			t.host = optarg;
			break;
		case 'p':
			t.port = optarg;
			break;
		case 'u':
			t.unix_path = optarg;
			break;
		case 't':
			if (parse_number(optarg, 1, 86400000, &v) == -1) {
				fprintf(stderr, "picmd: --timeout takes "
				    "milliseconds from 1 to 86400000\n");
				return EXIT_TROUBLE;
			}
			t.timeout_ms = v;
			break;
		case 'c':
			if (parse_number(optarg, 0, 65535, &v) == -1) {
				fprintf(stderr, "picmd: --callback takes a port "
				    "from 0 to 65535\n");
				return EXIT_TROUBLE;
			}
			callback = optarg;
			break;
		case 'a':
			if ((token = read_token(optarg)) == NULL)
				return EXIT_TROUBLE;
			t.token = token;
			break;
		case 'l':
			if (parse_number(optarg, 100, 3600000, &v) == -1) {
				fprintf(stderr, "picmd: --lease takes "
				    "milliseconds from 100 to 3600000\n");
				return EXIT_TROUBLE;
			}
			t.lease_ms = v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_REPLY_OK;
		case 'V':
			printf("picmd %s (protocol %d)\n", PICMD_VERSION,
			    PROTO_VERSION);
			return EXIT_REPLY_OK;
		default:
			usage(stderr);
			return EXIT_TROUBLE;
		}
	}
	if (t.unix_path == NULL &&
	    (parse_number(t.port, 1, 65535, &v) == -1)) {
		fprintf(stderr, "picmd: bad port '%s'\n", t.port);
		return EXIT_TROUBLE;
	}

	if (optind == argc) {
		if (callback != NULL) {
			fprintf(stderr, "picmd: --callback needs a COMMAND\n");
			return EXIT_TROUBLE;
		}
		return isatty(STDIN_FILENO) ? run_interactive(&t) :
		    run_batch(&t);
	}

	if (strcmp(argv[optind], "watch") == 0) {
		if (callback != NULL) {
			fprintf(stderr, "picmd: watch prints events here; "
			    "--callback does not go with it\n");
			return EXIT_TROUBLE;
		}
		return run_watch(&t, argc - optind, argv + optind);
	}
	if (t.lease_ms != 0) {
		/* One request and gone: the lease would be lost at once. */
		fprintf(stderr, "picmd: --lease is for a session: the prompt, "
		    "a batch on standard input, or watch\n");
		return EXIT_TROUBLE;
	}
	strbuf_init(&req);
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strbuf_addc(&req, ' ');
		proto_quote_word(&req, argv[i]);
	}
	strbuf_addc(&req, '\n');
	if (req.failed) {
		fprintf(stderr, "picmd: out of memory\n");
		return EXIT_TROUBLE;
	}
	if (callback != NULL)
		rc = run_callback(&t, req.data, callback);
	else
		rc = run_one(&t, req.data);
	strbuf_free(&req);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}
