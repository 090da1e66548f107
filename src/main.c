/*
 * picmdd: the picmd daemon.  Stays in the foreground and logs to stderr,
 * as a systemd service should; -t checks a config the way nginx -t does.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "dispatch.h"
#include "failsafe.h"
#include "log.h"
#include "plugin.h"
#include "server.h"

#ifndef PICMD_VERSION
#define PICMD_VERSION "0.0.0"
#endif

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: picmdd [-c FILE] [-t] [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -t       check the configuration and plugins, then exit\n"
	    "  -V       print the version\n"
	    "  -h       print this help\n", PICMD_CONFIG_PATH);
}

static void
report_stderr(void *arg, const char *msg)
{
	int *problems = arg;

	fprintf(stderr, "%s\n", msg);
	if (problems != NULL)
		(*problems)++;
}

/* -t: everything startup checks, short of binding sockets. */
static int
check_config(const char *path)
{
	struct config *cfg;
	struct dispatch *d;
	struct plugins *ps = NULL;
	int problems = 0;

	if (config_load(path, &cfg, report_stderr, &problems) == -1) {
		fprintf(stderr, "picmdd: %s: configuration test failed\n", path);
		return 1;
	}
	if ((d = dispatch_new()) == NULL || builtin_register(d) == -1) {
		fprintf(stderr, "picmdd: out of memory\n");
		return 1;
	}
	plugins_load(cfg, d, &ps, report_stderr, &problems);
	if (problems == 0)
		failsafe_check(cfg, d, report_stderr, &problems);
	if (problems == 0)
		printf("picmdd: %s: configuration OK (%d plugins, %zu "
		    "commands)\n", path, ps->count, dispatch_count(d));
	else
		fprintf(stderr, "picmdd: %s: configuration test failed\n", path);
	plugins_unload(ps);
	dispatch_free(d);
	config_free(cfg);
	return problems == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	const char *path = PICMD_CONFIG_PATH;
	struct config *cfg;
	struct server *s;
	bool test = false;
	int ch, rc;

	log_init("picmdd");
	while ((ch = getopt(argc, argv, "c:tVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'V':
			printf("picmdd %s (protocol 1, plugin ABI %d)\n",
			    PICMD_VERSION, PICMD_ABI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (test)
		return check_config(path);

	/* Write errors are handled where they happen, not by dying. */
	signal(SIGPIPE, SIG_IGN);

	if (config_load(path, &cfg, report_stderr, NULL) == -1) {
		log_msg(PICMD_LOG_ERROR, "%s: bad configuration; not starting",
		    path);
		return 1;
	}
	log_set_level(cfg->log_level);
	if ((s = server_new(cfg)) == NULL) {
		config_free(cfg);
		fatalx("out of memory");
	}
	if (server_start(s) == -1) {
		log_msg(PICMD_LOG_ERROR, "startup failed");
		server_free(s);
		return 1;
	}
	rc = server_run(s);
	log_info("stopped");
	server_free(s);
	return rc == 0 ? 0 : 1;
}
