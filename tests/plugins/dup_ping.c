/* dup_ping: registers "Ping", which the built-in PING already owns (names
 * are case-insensitive); the loader must refuse the plugin. */
#include <picmd/plugin.h>

static const struct picmd_api *api;

static void
dup_ping_handler(picmd_ctx *ctx, int argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	api->reply_ok(ctx, "not the real PING");
}

static const struct picmd_command cmd = {
	"Ping", "Ping", 0, 0, 0, dup_ping_handler,
};

static int
dup_ping_init(const struct picmd_api *host, picmd_init *init)
{
	api = host;
	return api->register_command(init, &cmd);
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "dup_ping",
	.version = "1.0",
	.init = dup_ping_init,
	.fini = NULL,
};
