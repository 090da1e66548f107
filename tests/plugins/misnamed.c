/* misnamed: lives in misnamed.so but calls itself "othername"; the loader
 * must refuse it (a plugin's name is its file name). */
#include <picmd/plugin.h>

static int
misnamed_init(const struct picmd_api *api, picmd_init *init)
{
	(void)api;
	(void)init;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "othername",
	.version = "1.0",
	.init = misnamed_init,
	.fini = NULL,
};
