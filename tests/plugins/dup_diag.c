/* dup_diag: registers "dup_diag ok", then "diag sleep", which the diag
 * plugin already owns; the loader must refuse the plugin and undo its
 * first registration. */
#include <picmd/plugin.h>

static const struct picmd_api *api;

static void
dup_diag_handler(picmd_ctx *ctx, int argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	api->reply_ok(ctx, "not the real diag sleep");
}

static const struct picmd_command cmds[] = {
	{ "dup_diag ok", "dup_diag ok", 0, 0, 0, dup_diag_handler },
	{ "diag sleep", "diag sleep <ms>", 1, 1, 0, dup_diag_handler },
};

static int
dup_diag_init(const struct picmd_api *host, picmd_init *init)
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
	.name = "dup_diag",
	.version = "1.0",
	.init = dup_diag_init,
	.fini = NULL,
};
