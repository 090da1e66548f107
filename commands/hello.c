/* hello: the example plugin.  "hello [name]" -> "OK hello, <name>". */
#include <stdlib.h>
#include <string.h>

#include <picmd/plugin.h>

static const struct picmd_api *api;	/* the daemon's functions */

/* Runs on a worker thread; the greeting is only read, so needs no lock. */
static void
hello(picmd_ctx *ctx, int argc, const char *const *argv)
{
	const char *greeting = api->state(ctx);

	api->reply_ok(ctx, "%s, %s", greeting, argc > 0 ? argv[0] : "world");
}

static const struct picmd_command hello_cmd = {
	.name = "hello", .usage = "hello [name]",
	.min_args = 0, .max_args = 1, .flags = 0, .handler = hello,
};

static int
hello_init(const struct picmd_api *host, picmd_init *init)
{
	const char *greeting;
	char *copy;

	api = host;
	for (int i = 0; i < api->config_count(init); i++)
		if (strcmp(api->config_key(init, i), "greeting") != 0)
			api->config_error(init, api->config_key(init, i),
			    "unknown key '%s'", api->config_key(init, i));
	/* Config strings die with the config: keep a copy. */
	greeting = api->config_get(init, "greeting");
	if ((copy = strdup(greeting != NULL ? greeting : "hello")) == NULL)
		return -1;
	api->set_state(init, copy);	/* handed to hello() and to fini */
	return api->register_command(init, &hello_cmd);
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "hello",
	.version = "1.0",
	.init = hello_init,
	.fini = free,		/* frees the state: the greeting */
};
