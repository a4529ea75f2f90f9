/* plugin.h - loading plugins (see hvtrail-plugin.h for the ABI). */
#ifndef HVT_PLUGIN_H
#define HVT_PLUGIN_H

#include "hvtrail-plugin.h"

/* The directories searched, in order: $HVTRAIL_PLUGIN_PATH (colon-separated,
 * for tests), else the configured dir(s), else the built-in default. */
const char *hvt_plugin_default_dir(void);

/* Load NAME.so and check its ABI, name and (unless 0) kind.  On failure
 * returns NULL with a reason in err. */
const struct hvt_plugin *hvt_plugin_load(const char *name, const char *configured_path,
					 enum hvt_plugin_kind want, char *err, size_t errsize);

const char *hvt_plugin_kind_name(enum hvt_plugin_kind k);

/* Every loadable plugin of the given kinds (bitmask of 1 << kind) in the
 * search path, in name order; for --print-schema and --list-plugins. */
void hvt_plugin_foreach(const char *configured_path, unsigned kinds,
			void (*cb)(void *arg, const struct hvt_plugin *p), void *arg);

/* Is NAME a plugin-style section ("in_x", "out_x", "idx_x", "act_x",
 * optionally ":label")?  Sets *kind. */
bool hvt_plugin_section_kind(const char *kind_part, enum hvt_plugin_kind *kind);

#endif
