/*
 * libFuzzer harness for the config loader (src/config.c).
 *
 * The input is the text of a config file.  It is written to a memfd (one
 * per process, truncated and rewritten for each input, so nothing is left
 * behind in /tmp) and loaded through its /proc/self/fd path with a report
 * callback that collects every message.  The checks:
 *
 *  - config_load() returns 0 exactly when nothing was reported, and then
 *    a config whose values are within their documented ranges; on -1 the
 *    config is NULL;
 *  - every report is one line of text naming the file;
 *  - config_free() releases everything (LeakSanitizer checks this);
 *  - config_load() never waits: stdin is made a pipe that never delivers
 *    (and /proc/self/fd/0 is "0" relative to the config's directory), so
 *    a config that reads its secret from there (regression:
 *    corpus/config/secret_stdin*) would block until libFuzzer's alarm
 *    interrupts the read; a load that took seconds fails the check.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

static int memfd = -1;
static char path[64];

struct reports {
	int	 n;
	size_t	 bytes;
};

static void
collect(void *arg, const char *msg)
{
	struct reports *r = arg;
	size_t len = strlen(msg);

	CHECK(len > 0);
	CHECK(strchr(msg, '\n') == NULL);
	CHECK(strncmp(msg, path, strlen(path)) == 0);
	r->n++;
	r->bytes += len;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((memfd = memfd_create("picmd-fuzz.ini", MFD_CLOEXEC)) == -1) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	/* stdin: a pipe whose writer stays open and never writes. */
	{
		int p[2];

		if (pipe(p) == -1 || dup2(p[0], 0) == -1) {
			perror("pipe");
			exit(1);
		}
		close(p[0]);
		/* p[1] stays open for the life of the process. */
	}
	/* Nothing to see from log_*(): the reports are what is checked. */
	log_set_level(PICMD_LOG_ERROR);
	return 0;
}

static void
write_input(const uint8_t *data, size_t size)
{
	size_t off = 0;

	CHECK(ftruncate(memfd, 0) == 0);
	while (off < size) {
		ssize_t n = pwrite(memfd, data + off, size - off, (off_t)off);

		if (n == -1 && errno == EINTR)
			continue;
		CHECK(n > 0);
		off += (size_t)n;
	}
}

static void
check_config(const struct config *cfg)
{
	CHECK(cfg->path != NULL && strcmp(cfg->path, path) == 0);
	CHECK(cfg->dir != NULL);
	CHECK(cfg->nlisten >= 1 && cfg->listen != NULL);
	CHECK(cfg->workers >= 1 && cfg->workers <= 1024);
	CHECK(cfg->queue >= 1 && cfg->queue <= 1000000);
	CHECK(cfg->max_line >= 64 && cfg->max_line <= 1048576);
	CHECK(cfg->command_timeout_ms >= 1);
	CHECK(cfg->max_clients >= 1);
	CHECK(cfg->idle_timeout_s >= 0);
	CHECK(cfg->max_inflight >= 1);
	CHECK(cfg->drain_timeout_s >= 0);
	CHECK(cfg->max_output >= 4096);
	CHECK(cfg->unix_mode >= 0 && cfg->unix_mode <= 0777);
	CHECK(cfg->plugin_dir != NULL && cfg->plugin_dir[0] != '\0');
	CHECK(cfg->sysfs_root != NULL && cfg->procfs_root != NULL);
	CHECK(cfg->nload >= 0);
	if (cfg->load != NULL) {
		for (int i = 0; i < cfg->nload; i++)
			CHECK(cfg->load[i] != NULL && cfg->load[i][0] != '\0' &&
			    strchr(cfg->load[i], '/') == NULL);
		CHECK(cfg->load[cfg->nload] == NULL);
	} else
		CHECK(cfg->nload == 0);
	CHECK(cfg->callback_port_min >= 1 &&
	    cfg->callback_port_min <= cfg->callback_port_max &&
	    cfg->callback_port_max <= 65535);
	CHECK(cfg->token == NULL || strlen(cfg->token) >= 8);
	CHECK(cfg->admin_token == NULL || strlen(cfg->admin_token) >= 8);
	CHECK(cfg->auth_timeout_s >= 1);
	CHECK(cfg->nallow >= 0 && (cfg->nallow == 0 || cfg->allow != NULL));
	CHECK(cfg->max_clients_per_ip >= 0);
	/* Protected mode: no token means loopback or Unix listeners only. */
	if (cfg->token == NULL)
		for (int i = 0; i < cfg->nlisten; i++)
			CHECK(endpoint_is_loopback(&cfg->listen[i]));
	for (int i = 0; i < cfg->nsections; i++) {
		const struct config_section *s = &cfg->sections[i];

		CHECK(s->name != NULL && s->name[0] != '\0');
		CHECK(config_section_find(cfg, s->name) == s);
		for (int j = 0; j < s->nkv; j++)
			CHECK(s->kv[j].key != NULL && s->kv[j].value != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reports r = { 0, 0 };
	struct config *cfg = (struct config *)&r;	/* must be overwritten */
	int rc;

	struct timespec t0, t1;

	write_input(data, size);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = config_load(path, &cfg, collect, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Microseconds of work; only a blocked read takes seconds. */
	CHECK(t1.tv_sec - t0.tv_sec < 3);
	if (rc == 0) {
		CHECK(r.n == 0);
		CHECK(cfg != NULL);
		check_config(cfg);
	} else {
		CHECK(rc == -1);
		CHECK(r.n > 0);
		CHECK(cfg == NULL);
	}
	config_free(cfg);
	return 0;
}
