/* in_badabi.c - a plugin that claims another ABI, for check-config.test:
 * the loader must refuse it without touching anything but .abi. */
#include "hvtrail-plugin.h"

static int nop(struct hvt_instance *inst)
{
	(void)inst;
	return 0;
}

static void nop_stop(struct hvt_instance *inst)
{
	(void)inst;
}

const struct hvt_plugin hvt_plugin = {
	.abi = 999,
	.name = "in_badabi",
	.kind = HVT_PLUGIN_INPUT,
	.summary = "test plugin built for plugin ABI 999",
	.init = nop,
	.run = nop,
	.stop = nop_stop,
};
