/*
 * init_fail: allocates its state, registers two commands, then fails (as a
 * plugin does when its device is missing).  The loader must undo it all:
 * the commands (reuse.so registers the same names afterwards) and the
 * state (fini frees it; AddressSanitizer reports a leak otherwise).
 */
#include <stdlib.h>

#include <picmd/plugin.h>

static const struct picmd_api *api;

static void
init_fail_handler(picmd_ctx *ctx, int argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	api->reply_ok(ctx, "init_fail");
}

static const struct picmd_command cmds[] = {
	{ "init_fail go", "init_fail go", 0, 0, 0, init_fail_handler },
	{ "shared name", "shared name", 0, 0, 0, init_fail_handler },
};

static void
init_fail_fini(void *state)
{
	free(state);
}

static int
init_fail_init(const struct picmd_api *host, picmd_init *init)
{
	void *state;

	api = host;
	if ((state = malloc(64)) == NULL)
		return -1;
	api->set_state(init, state);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (api->register_command(init, &cmds[i]) == -1)
			return -1;
	api->log(PICMD_LOG_ERROR, "init_fail: cannot open /dev/nothing-here");
	return -1;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "init_fail",
	.version = "1.0",
	.init = init_fail_init,
	.fini = init_fail_fini,
};
