/* journal_map_libvirt.c - libvirt errors that mean a migration failed.
 *
 * libvirt reports a failed migration as an error (PRIORITY 3) from its
 * migration code, e.g. "operation failed: job 'migration out' failed:
 * Unable to write to socket: Connection reset by peer" from
 * qemuMigrationJobCheckStatus.  Only errors count: the warnings that follow
 * one ("The connection which controls migration of domain X was closed")
 * would report the same failure twice, so they stay journal.message. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "journal_map_priv.h"

static bool contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	char lo = (char)tolower((unsigned char)needle[0]), up = (char)toupper((unsigned char)needle[0]);

	for (size_t i = 0; i + n <= len; i++)
		if ((s[i] == lo || s[i] == up) && strncasecmp(s + i, needle, n) == 0)
			return true;
	return false;
}

static bool is_migration_error(const struct jd_entry *e)
{
	const struct jd_field *m = jd_get(e, JD_MESSAGE), *fn = jd_get(e, JD_CODE_FUNC);

	if (!m || jd_priority(e, 6) > 3 || !jd_from_libvirt(e) || !jd_privileged(e))
		return false;
	return (fn && contains_ci(fn->value, fn->len, "migration")) ||
	       contains_ci(m->value, m->len, "migration");
}

/* Which side failed: libvirt names its jobs 'migration out' / 'migration in'
 * and its functions qemuMigrationSrc* / qemuMigrationDst*. */
static const char *direction(const struct jd_entry *e)
{
	const struct jd_field *m = jd_get(e, JD_MESSAGE), *fn = jd_get(e, JD_CODE_FUNC);

	if (contains_ci(m->value, m->len, "migration out") || (fn && strstr(fn->value, "MigrationSrc")))
		return "outgoing";
	if (contains_ci(m->value, m->len, "migration in'") ||
	    contains_ci(m->value, m->len, "migration in ") || (fn && strstr(fn->value, "MigrationDst")))
		return "incoming";
	return "unknown";
}

struct hvt_event *jd_map_libvirt(const struct jd_entry *e, const struct jd_map_opts *o)
{
	if (!is_migration_error(e))
		return NULL;
	const struct jd_field *m = jd_get(e, JD_MESSAGE);
	const char *dir = direction(e);
	struct hvt_event *ev = jd_event_new(e, o, strcmp(dir, "incoming") == 0 ? "migration.incoming.failed"
					    : "migration.failed", jd_priority(e, 3));
	struct jd_vm_id id = { "", "" };

	jd_vm_from_libvirt_text(m->value, m->len, &id);
	jd_event_set_vm(ev, &id);
	size_t bad;

	jd_data_const(ev, o, "direction", dir);
	jd_data_add(ev, "error", jd_json_text(m->value, m->len, &bad));
	struct hvt_buf b = { 0 };
	hvt_buf_append_str(&b, "migration failed (libvirt): ");
	hvt_buf_append(&b, m->value, m->len);
	jd_set_msg(ev, b.data, b.len, o->max_msg);
	hvt_buf_free(&b);
	return ev;
}
