/* reuse: registers "init_fail go" and "shared name", the commands a failed
 * init_fail.so registered before it gave up; loaded after it, this works
 * only when the loader undid init_fail's registrations. */
#include <picmd/plugin.h>

static const struct picmd_api *api;

static void
reuse_handler(picmd_ctx *ctx, int argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	api->reply_ok(ctx, "reuse");
}

static const struct picmd_command cmds[] = {
	{ "init_fail go", "init_fail go", 0, 0, 0, reuse_handler },
	{ "shared name", "shared name", 0, 0, 0, reuse_handler },
};

static int
reuse_init(const struct picmd_api *host, picmd_init *init)
{
	api = host;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (api->register_command(init, &cmds[i]) == -1)
			return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "reuse",
	.version = "1.0",
	.init = reuse_init,
	.fini = NULL,
};
