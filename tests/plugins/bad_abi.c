/* bad_abi: built against a future plugin ABI; the loader must refuse it. */
#include <picmd/plugin.h>

static int
bad_abi_init(const struct picmd_api *api, picmd_init *init)
{
	(void)api;
	(void)init;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION + 1,
	.size = sizeof(struct picmd_plugin),
	.name = "bad_abi",
	.version = "1.0",
	.init = bad_abi_init,
	.fini = NULL,
};
