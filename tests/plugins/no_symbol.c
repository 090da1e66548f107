/*
 * no_symbol: a shared object without the picmd_plugin symbol.  This is what
 * forgetting PICMD_EXPORT gives under -fvisibility=hidden: the descriptor
 * exists but the dynamic linker cannot see it.  The loader must refuse it.
 */
#include <picmd/plugin.h>

static int
no_symbol_init(const struct picmd_api *api, picmd_init *init)
{
	(void)api;
	(void)init;
	return 0;
}

/* Hidden on purpose (see above). */
__attribute__((visibility("hidden"))) const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "no_symbol",
	.version = "1.0",
	.init = no_symbol_init,
	.fini = NULL,
};
