/*
 * diag: commands that show the daemon at work.  "diag sleep <ms>" holds a
 * worker for ms milliseconds; "diag error <CODE> [message]" answers an
 * error, so clients can see every reply path without hardware; "diag
 * publish <topic> <n>" publishes n events ("! <topic> <i> seq=..."), for
 * trying subscribers and for the benchmark's event scenarios.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <picmd/plugin.h>

#include "sysfs.h"

static const struct picmd_api *api;
static picmd_host *host_handle;		/* NULL: a daemon without events */

static void
diag_sleep(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct timespec ts;
	long ms, left;

	(void)argc;
	if (!sysfs_parse_long(argv[0], 0, 60000, &ms)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "milliseconds must be a "
		    "whole number from 0 to 60000");
		return;
	}
	/* Stop at the deadline: a result after it would be discarded. */
	left = api->remaining_ms(ctx);
	if (left > ms)
		left = ms;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (left % 1000) * 1000000L;
	/* Even a zero nanosleep() costs the timer slack (50 us): skip it. */
	while (left > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	if (left < ms) {
		api->reply_error(ctx, PICMD_ERR_TIMEOUT, "slept %ld of %ld ms",
		    left, ms);
		return;
	}
	api->reply_ok(ctx, "slept %ld", ms);
}

static const struct {
	const char		*name;
	enum picmd_error	 code;
} codes[] = {
	{ "ARGS", PICMD_ERR_ARGS }, { "DEVICE", PICMD_ERR_DEVICE },
	{ "BUSY", PICMD_ERR_BUSY }, { "TIMEOUT", PICMD_ERR_TIMEOUT },
	{ "DENIED", PICMD_ERR_DENIED }, { "INTERNAL", PICMD_ERR_INTERNAL },
};

static void
diag_error(picmd_ctx *ctx, int argc, const char *const *argv)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcasecmp(argv[0], codes[i].name) == 0) {
			api->reply_error(ctx, codes[i].code, "%s",
			    argc > 1 ? argv[1] : "diag error");
			return;
		}
	}
	api->reply_error(ctx, PICMD_ERR_ARGS, "unknown code '%s'", argv[0]);
}

static void
diag_publish(picmd_ctx *ctx, int argc, const char *const *argv)
{
	long n, sent = 0;

	(void)argc;
	if (host_handle == NULL) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "this daemon has no "
		    "events");
		return;
	}
	if (!sysfs_parse_long(argv[1], 1, 100000, &n)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "count must be a whole "
		    "number from 1 to 100000");
		return;
	}
	for (long i = 1; i <= n; i++) {
		if (api->publish(host_handle, argv[0], "%ld", i) == -1) {
			if (i == 1 && errno == EINVAL) {
				api->reply_error(ctx, PICMD_ERR_ARGS, "bad "
				    "topic '%s'", argv[0]);
				return;
			}
			continue;	/* the queue is full: counted */
		}
		sent++;
	}
	api->reply_ok(ctx, "published %ld", sent);
}

static const struct picmd_command commands[] = {
	{ "diag sleep", "diag sleep <ms>", 1, 1, 0, diag_sleep },
	{ "diag error", "diag error <CODE> [message]", 1, 2, 0, diag_error },
	{ "diag publish", "diag publish <topic> <n>", 2, 2, 0, diag_publish },
};

static int
diag_init(const struct picmd_api *host, picmd_init *init)
{
	api = host;
	sysfs_reject_keys(api, init);
	if (api->size >= offsetof(struct picmd_api, publish) +
	    sizeof(api->publish))
		host_handle = api->host(init);
	return sysfs_register(api, init, commands, SYSFS_NELEM(commands));
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "diag",
	.version = "1.0",
	.init = diag_init,
	.fini = NULL,
};
