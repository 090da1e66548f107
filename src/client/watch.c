/*
 * picmd watch: subscribe, then print each event as it comes, one line
 * each, until interrupted (or --count events).
 *
 *   picmd watch [--count N] [--json] TOPIC...        SUBSCRIBE gpio.*
 *   picmd watch [--count N] [--json] gpio LINE rising|falling|both
 *         [DEBOUNCE_MS] [PULL]                      gpio watch, then
 *                                                   SUBSCRIBE gpio.LINE
 *
 * Plain output is the event line without its "! ": "gpio.17 rising 1
 * ts=... mono=... seq=3".  --json prints one object per event:
 * {"topic":"gpio.17","event":"rising","args":["1"],"ts":1733312345.123,
 *  "mono":812.004,"seq":3}; key=value fields become members, numbers
 * as numbers; "! overflow N" becomes {"overflow":N}.
 */
#include <ctype.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"

static bool
is_number(const char *s)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return false;
	strtod(s, &end);
	return *end == '\0';
}

static void
json_string(FILE *fp, const char *s, size_t len)
{
	fputc('"', fp);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/* One event line ("! ..." without the "! ") as a JSON object. */
static void
print_json(const char *ev)
{
	char *copy = strdup(ev), *save = NULL, *w;
	int i = 0, nargs = 0;

	if (copy == NULL)
		return;
	if (strncmp(ev, "overflow ", 9) == 0) {
		printf("{\"overflow\":%s}\n", ev + 9);
		free(copy);
		return;
	}
	printf("{");
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save), i++) {
		char *eq = strchr(w, '=');

		if (i == 0) {
			printf("\"topic\":");
			json_string(stdout, w, strlen(w));
		} else if (i == 1) {
			printf(",\"event\":");
			json_string(stdout, w, strlen(w));
		} else if (eq != NULL && eq != w) {
			if (nargs > 0)
				printf("]");
			nargs = -1;	/* no more plain values */
			printf(",");
			json_string(stdout, w, (size_t)(eq - w));
			printf(":");
			if (is_number(eq + 1))
				printf("%s", eq + 1);
			else
				json_string(stdout, eq + 1, strlen(eq + 1));
		} else if (nargs >= 0) {
			printf(nargs == 0 ? ",\"args\":[" : ",");
			json_string(stdout, w, strlen(w));
			nargs++;
		}
	}
	if (nargs > 0)
		printf("]");
	printf("}\n");
	free(copy);
}

/* The requests that set the watch up, one per line, into req. */
static int
watch_requests(int argc, char **argv, struct strbuf *req)
{
	bool topics = strchr(argv[0], '.') != NULL ||
	    strchr(argv[0], '*') != NULL;

	if (topics) {
		strbuf_adds(req, "SUBSCRIBE");
		for (int i = 0; i < argc; i++) {
			strbuf_addc(req, ' ');
			proto_quote_word(req, argv[i]);
		}
		strbuf_addc(req, '\n');
		return 1;
	}
	if (argc < 3) {
		fprintf(stderr, "picmd: watch TOPIC... or watch PLUGIN LINE "
		    "EDGES [...], e.g. picmd watch gpio 17 both\n");
		return -1;
	}
	/* "gpio 17 both 20" -> "gpio watch 17 both 20", then its topic. */
	proto_quote_word(req, argv[0]);
	strbuf_adds(req, " watch");
	for (int i = 1; i < argc; i++) {
		strbuf_addc(req, ' ');
		proto_quote_word(req, argv[i]);
	}
	strbuf_adds(req, "\nSUBSCRIBE ");
	proto_quote_word(req, argv[0]);
	strbuf_addc(req, '.');
	strbuf_adds(req, argv[1]);
	strbuf_addc(req, '\n');
	return 2;
}

int
run_watch(const struct target *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct linereader lr;
	struct strbuf req, line;
	long count = 0, seen = 0;
	bool json = false;
	int ch, fd, nreq, rc = EXIT_REPLY_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+n:j", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			count = strtol(optarg, NULL, 10);
			if (count < 1) {
				fprintf(stderr, "picmd: --count takes a number "
				    "of events, 1 or more\n");
				return EXIT_TROUBLE;
			}
			break;
		case 'j':
			json = true;
			break;
		default:
			return EXIT_TROUBLE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "picmd: watch what? e.g. picmd watch gpio 17 "
		    "both, or picmd watch 'gpio.*'\n");
		return EXIT_TROUBLE;
	}
	strbuf_init(&req);
	strbuf_init(&line);
	if ((nreq = watch_requests(argc - optind, argv + optind, &req)) < 0) {
		strbuf_free(&req);
		return EXIT_TROUBLE;
	}
	if ((fd = net_connect(t)) == -1) {
		strbuf_free(&req);
		return net_auth_denied ? EXIT_REPLY_ERR : EXIT_TROUBLE;
	}
	lr_init(&lr, fd);
	if (lease_start(t, fd, &lr) == -1 ||
	    net_write_all(fd, req.data, req.len) == -1) {
		rc = EXIT_TROUBLE;
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		int got = lr_next(&lr, &line, lease_wait_ms(t));

		if (got == -2) {
			if (lease_keepalive(t, fd) == -1) {
				rc = EXIT_TROUBLE;
				break;
			}
			continue;
		}
		if (got != 1) {
			fprintf(stderr, "picmd: connection closed\n");
			rc = EXIT_TROUBLE;
			break;
		}
		if (lease_reply(line.data))
			continue;
		if (line.data[0] != '!') {
			/* The replies to the setup requests. */
			if (strncmp(line.data, "OK", 2) != 0) {
				reply_print(line.data);
				rc = EXIT_REPLY_ERR;
				break;
			}
			nreq--;
			continue;
		}
		if (json)
			print_json(line.data + 2);
		else
			printf("%s\n", line.data + 2);
		/* An overflow report is no event: --count counts events. */
		if (strncmp(line.data, "! overflow ", 11) != 0 && count > 0 &&
		    ++seen == count) {
			/* Done as asked: the lease ends cleanly. */
			net_write_all(fd, lease_end_line(t),
			    strlen(lease_end_line(t)));
			break;
		}
	}
out:
	lr_free(&lr);
	strbuf_free(&line);
	strbuf_free(&req);
	close(fd);
	(void)nreq;
	return rc;
}
