/*
 * tplug: a well-behaved plugin for the integration tests.
 *
 *   tplug [word ...]     "OK N:w1|w2|..." (argc, then the words as received)
 *   tplug hello          "OK " + the [tplug] reply setting (default "hello")
 *   tplug block <ms>     holds its worker for ms milliseconds and, unlike
 *                        "diag sleep", ignores the deadline, so a test can
 *                        keep a worker busy past command_timeout_ms
 *   tplug mark <name>    records that it ran ("OK marked <name>")
 *   tplug marks          "OK " + every name marked so far, in order
 *
 * The longest-match rule decides between "tplug" and "tplug hello".
 * [tplug] keys: reply = TEXT; any other key is a config error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <picmd/plugin.h>

struct tplug {
	pthread_mutex_t	 lock;		/* guards marks */
	char		 marks[1024];
	char		*reply;
};

static const struct picmd_api *api;

static void
tplug_words(picmd_ctx *ctx, int argc, const char *const *argv)
{
	api->reply_ok(ctx, "%d:", argc);
	for (int i = 0; i < argc; i++)
		api->reply_append(ctx, "%s%s", i > 0 ? "|" : "", argv[i]);
}

static void
tplug_hello(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct tplug *t = api->state(ctx);

	(void)argc;
	(void)argv;
	api->reply_ok(ctx, "%s", t->reply);
}

static void
tplug_block(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct timespec ts;
	long ms;

	(void)argc;
	ms = strtol(argv[0], NULL, 10);
	if (ms < 0 || ms > 60000) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "ms from 0 to 60000");
		return;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	api->reply_ok(ctx, "blocked %ld", ms);
}

static void
tplug_mark(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct tplug *t = api->state(ctx);
	size_t used, n = strlen(argv[0]);

	(void)argc;
	pthread_mutex_lock(&t->lock);
	used = strlen(t->marks);
	if (used + n + 2 < sizeof(t->marks)) {
		if (used > 0)
			t->marks[used++] = ' ';
		memcpy(t->marks + used, argv[0], n + 1);
	}
	pthread_mutex_unlock(&t->lock);
	api->reply_ok(ctx, "marked %s", argv[0]);
}

static void
tplug_marks(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct tplug *t = api->state(ctx);

	(void)argc;
	(void)argv;
	pthread_mutex_lock(&t->lock);
	api->reply_ok(ctx, "%s", t->marks);
	pthread_mutex_unlock(&t->lock);
}

static const struct picmd_command commands[] = {
	{ "tplug", "tplug [word ...]", 0, PICMD_ARGS_ANY, 0, tplug_words },
	{ "tplug hello", "tplug hello", 0, 0, 0, tplug_hello },
	{ "tplug block", "tplug block <ms>", 1, 1, 0, tplug_block },
	{ "tplug mark", "tplug mark <name>", 1, 1, 0, tplug_mark },
	{ "tplug marks", "tplug marks", 0, 0, 0, tplug_marks },
};

static void
tplug_fini(void *state)
{
	struct tplug *t = state;

	pthread_mutex_destroy(&t->lock);
	free(t->reply);
	free(t);
}

static int
tplug_init(const struct picmd_api *host, picmd_init *init)
{
	struct tplug *t;
	const char *reply;
	int bad = 0;

	api = host;
	for (int i = 0; i < api->config_count(init); i++) {
		const char *key = api->config_key(init, i);

		if (strcmp(key, "reply") != 0) {
			api->config_error(init, key, "unknown key '%s'", key);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	reply = api->config_get(init, "reply");
	if ((t->reply = strdup(reply != NULL ? reply : "hello")) == NULL) {
		tplug_fini(t);
		return -1;
	}
	api->set_state(init, t);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (api->register_command(init, &commands[i]) == -1)
			return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "tplug",
	.version = "1.0",
	.init = tplug_init,
	.fini = tplug_fini,
};
