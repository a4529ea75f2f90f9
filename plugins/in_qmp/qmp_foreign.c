/* qmp_foreign.c - see qmp_foreign.h. */
#include "config.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_foreign.h"
#include "util.h"

static const struct {
	const char *dir, *who;
} dirs[] = {
	{ "/run/xen", "Xen's libxl" },
	{ "/var/run/xen", "Xen's libxl" },
	{ "/run/qemu-server", "Proxmox VE (qm)" },
	{ "/var/run/qemu-server", "Proxmox VE (qm)" },
	{ "/var/lib/libvirt", "libvirt" },
	{ "/run/libvirt", "libvirt" },
	{ "/var/run/libvirt", "libvirt" },
};

static const struct {
	const char *glob, *who;
} names[] = {
	{ "qmp-libxl-*", "Xen's libxl" },
	{ "qmp-libxenstat-*", "Xen's libxenstat" },
	{ "[0-9]*.qmp", "Proxmox VE (qm)" },
	{ "monitor.sock", "libvirt" },
};

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool qmp_foreign_dir(const char *dir, char *why, size_t size)
{
	char real[PATH_MAX];
	const char *paths[2] = { dir, realpath(dir, real) ? real : NULL };

	for (int p = 0; p < 2; p++)
		for (size_t i = 0; paths[p] && i < HVT_ARRAY_SIZE(dirs); i++)
			if (under(paths[p], dirs[i].dir)) {
				snprintf(why, size, "%s is %s's (%s)", paths[p], dirs[i].who, dirs[i].dir);
				return true;
			}
	return false;
}

bool qmp_foreign_name(const char *name, char *why, size_t size)
{
	for (size_t i = 0; i < HVT_ARRAY_SIZE(names); i++)
		if (fnmatch(names[i].glob, name, 0) == 0) {
			snprintf(why, size, "a socket named %s is %s's monitor", name, names[i].who);
			return true;
		}
	return false;
}
