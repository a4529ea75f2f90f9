/* plugin.c - see plugin.h. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "plugin.h"
#include "util.h"

const char *hvt_plugin_default_dir(void)
{
	return HVT_PLUGIN_DIR;
}

const char *hvt_plugin_kind_name(enum hvt_plugin_kind k)
{
	switch (k) {
	case HVT_PLUGIN_INPUT: return "input";
	case HVT_PLUGIN_OUTPUT: return "output";
	case HVT_PLUGIN_INDEX: return "index";
	case HVT_PLUGIN_ACTION: return "action";
	}
	return "unknown";
}

bool hvt_plugin_section_kind(const char *kind_part, enum hvt_plugin_kind *kind)
{
	static const struct { const char *prefix; enum hvt_plugin_kind k; } map[] = {
		{ "in_", HVT_PLUGIN_INPUT }, { "out_", HVT_PLUGIN_OUTPUT },
		{ "idx_", HVT_PLUGIN_INDEX }, { "act_", HVT_PLUGIN_ACTION },
	};
	for (size_t i = 0; i < HVT_ARRAY_SIZE(map); i++) {
		if (hvt_str_has_prefix(kind_part, map[i].prefix) && kind_part[strlen(map[i].prefix)]) {
			*kind = map[i].k;
			return true;
		}
	}
	return false;
}

static bool name_is_safe(const char *name)
{
	if (!*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

const struct hvt_plugin *hvt_plugin_load(const char *name, const char *configured_path,
					 enum hvt_plugin_kind want, char *err, size_t errsize)
{
	const char *env = getenv("HVTRAIL_PLUGIN_PATH");
	const char *path = env && *env ? env : configured_path && *configured_path ? configured_path
									       : HVT_PLUGIN_DIR;
	char *copy, *save = NULL, *file = NULL;

	if (!name_is_safe(name)) {
		snprintf(err, errsize, "'%s' is not a valid plugin name", name);
		return NULL;
	}
	copy = hvt_strdup(path);
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *f = hvt_asprintf("%s/%s.so", dir, name);
		if (access(f, F_OK) == 0) {
			file = f;
			break;
		}
		free(f);
	}
	free(copy);
	if (!file) {
		snprintf(err, errsize, "plugin %s not found (looked for %s.so in %s)", name, name, path);
		return NULL;
	}
	void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errsize, "cannot load plugin %s: %s", file, dlerror());
		free(file);
		return NULL;
	}
	const struct hvt_plugin *p = dlsym(h, HVT_PLUGIN_SYMBOL);
	if (!p) {
		snprintf(err, errsize, "%s does not export '%s': not an hvtrail plugin", file, HVT_PLUGIN_SYMBOL);
		goto refuse;
	}
	/* Read only .abi until it matches: the rest of the struct may differ. */
	if (p->abi != HVT_PLUGIN_ABI) {
		snprintf(err, errsize, "plugin %s was built for plugin ABI %u but this hvtrail speaks ABI %u; "
			 "rebuild the plugin against this version", file, p->abi, HVT_PLUGIN_ABI);
		goto refuse;
	}
	if (!p->name || strcmp(p->name, name) != 0) {
		snprintf(err, errsize, "%s declares itself as '%s', not '%s'", file, p->name ? p->name : "(null)", name);
		goto refuse;
	}
	if (want && p->kind != want) {
		snprintf(err, errsize, "plugin %s is an %s plugin, but an %s plugin is needed here", name,
			 hvt_plugin_kind_name(p->kind), hvt_plugin_kind_name(want));
		goto refuse;
	}
	if (!p->init || !p->stop) {
		snprintf(err, errsize, "plugin %s lacks init/stop callbacks", name);
		goto refuse;
	}
	char why[300];
	if (p->conf_fields && (!p->conf_size || hvt_conf_fields_check(p->conf_keys, p->conf_fields, why,
								      sizeof why) < 0)) {
		snprintf(err, errsize, "plugin %s declares its options wrongly: %s", name,
			 p->conf_size ? why : "conf_fields without conf_size");
		goto refuse;
	}
	hvt_debug("loaded plugin %s from %s", name, file);
	free(file);
	return p;   /* the handle stays open for the life of the process */
refuse:
	dlclose(h);
	free(file);
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void hvt_plugin_foreach(const char *configured_path, unsigned kinds,
			void (*cb)(void *arg, const struct hvt_plugin *p), void *arg)
{
	const char *env = getenv("HVTRAIL_PLUGIN_PATH");
	const char *path = env && *env ? env : configured_path && *configured_path ? configured_path
									       : HVT_PLUGIN_DIR;
	char *copy = hvt_strdup(path), *save = NULL;
	char **names = NULL;
	size_t n = 0;

	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			enum hvt_plugin_kind k;
			size_t l = strlen(de->d_name);
			if (l < 4 || strcmp(de->d_name + l - 3, ".so") != 0)
				continue;
			char *name = hvt_strndup(de->d_name, l - 3);
			if (!hvt_plugin_section_kind(name, &k) || !(kinds & (1u << k))) {
				free(name);
				continue;
			}
			names = hvt_realloc(names, sizeof(char *) * (n + 1));
			names[n++] = name;
		}
		if (d)
			closedir(d);
	}
	free(copy);
	qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char err[512];
		if (i && strcmp(names[i], names[i - 1]) == 0)
			continue;
		const struct hvt_plugin *p = hvt_plugin_load(names[i], configured_path, 0, err, sizeof err);
		if (p)
			cb(arg, p);
		else
			hvt_log(LOG_WARNING, "%s", err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
