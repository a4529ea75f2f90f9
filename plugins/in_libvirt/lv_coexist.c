/* lv_coexist.c - in_libvirt beside in_qmp on one host: one VM, one report.
 *
 * A VM that still has the per-VM edit of the QMP way (a <qemu:commandline>
 * -qmp option, or a -chardev for in_qmp's client mode, naming a socket in
 * one of the forwarder's in_qmp directories) is watched by in_qmp, which
 * sees QEMU itself: exact timestamps, COLO, snapshot tags, migration
 * figures from query-migrate.  in_qmp wins; for such a domain in_libvirt
 * reports only what in_qmp cannot see - its definition (vm.defined,
 * vm.undefined) - and keeps the rest back (counted in stats as
 * suppressed_qmp).  Which domains those are is decided from their XML when
 * they are defined, started or listed, before any event of theirs is sent,
 * so neither input ever races the other to report a start.  Only the
 * socket paths of <qemu:commandline> are read, never the rest of the XML
 * (lv_qmpxml.c): a description naming in_qmp's directory hides nothing. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "in_libvirt.h"
#include "lv_qmpxml.h"

/* A value of an in_qmp section, its default when unset; NULL when in_qmp
 * has no such key (an older in_qmp). */
static const char *qmp_value(const struct hvt_conf_section *s, const char *key)
{
	for (const struct hvt_conf_key *k = s->schema; k && k->name; k++)
		if (strcmp(k->name, key) == 0)
			return hvt_conf_str(s, s->schema, key);
	return NULL;
}

static void add_dir(struct lv_input *in, const char *path, bool is_dir)
{
	if (!path || !*path)
		return;
	/* a directory matches "<dir>/", a listening socket its own path */
	char *p = is_dir ? hvt_asprintf("%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/")
			 : hvt_strdup(path);
	in->qmp_dirs = hvt_realloc(in->qmp_dirs, sizeof(char *) * (size_t)(in->nqmp_dirs + 2));
	in->qmp_dirs[in->nqmp_dirs++] = p;
	in->qmp_dirs[in->nqmp_dirs] = NULL;
}

void lv_coexist_configure(struct lv_input *in)
{
	if (!in->mopts.defer_to_qmp || !in->inst->config)
		return;
	for (struct hvt_conf_section *s = in->inst->config->sections; s; s = s->next) {
		if (!s->kind || strcmp(s->kind, "in_qmp") != 0 || !s->schema)
			continue;
		add_dir(in, qmp_value(s, "socket_dir"), true);
		add_dir(in, qmp_value(s, "listen"), false);
	}
	for (int i = 0; i < in->nqmp_dirs; i++)
		hvt_info("in_libvirt: domains with a QMP monitor at %s%s are in_qmp's: only their "
			 "definitions are reported here", in->qmp_dirs[i],
			 in->qmp_dirs[i][strlen(in->qmp_dirs[i]) - 1] == '/' ? "*" : "");
}

bool lv_coexist_qmp_monitor(struct lv_input *in, virDomainPtr dom, bool *checked)
{
	*checked = false;
	if (!in->nqmp_dirs)
		return false;
	/* the live definition when it runs, else the persistent one: both hold
	 * the <qemu:commandline> */
	char *xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		return false;
	/* only <qemu:commandline>'s socket paths count (lv_qmpxml.h says why) */
	bool found = lv_qmpxml_monitor(xml, strlen(xml), in->qmp_dirs);
	free(xml);
	*checked = true;
	return found;
}
