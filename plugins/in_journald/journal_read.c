/* journal_read.c - see journal_read.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_read.h"

int jd_journal_open(sd_journal **j, const char *directory, const char *ns, size_t max_field)
{
	int r;

	*j = NULL;
	if (directory && *directory)
		r = sd_journal_open_directory(j, directory, 0);
	else if (ns && *ns)
		r = sd_journal_open_namespace(j, ns, SD_JOURNAL_LOCAL_ONLY);
	else
		r = sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	if (r < 0)
		return r;
	/* Values are cut to max_field anyway; the threshold spares sd-journal
	 * decompressing more of a large field than we keep. */
	sd_journal_set_data_threshold(*j, max_field + JD_NAME_MAX + 1);
	return 0;
}

const char *jd_journal_describe(const char *directory, const char *ns, char *buf, size_t size)
{
	if (directory && *directory)
		snprintf(buf, size, "journal directory %s", directory);
	else if (ns && *ns)
		snprintf(buf, size, "journal namespace %s", ns);
	else
		snprintf(buf, size, "the system journal");
	return buf;
}

bool jd_match_valid(const char *m)
{
	const char *eq = strchr(m, '=');

	if (strcmp(m, "+") == 0)
		return true;
	return eq && jd_field_name_valid(m, (size_t)(eq - m));
}

int jd_journal_add_matches(sd_journal *j, char *const *matches, int n, char *err, size_t errsize)
{
	for (int i = 0; i < n; i++) {
		int r = strcmp(matches[i], "+") == 0 ? sd_journal_add_disjunction(j)
						      : sd_journal_add_match(j, matches[i], 0);
		if (r < 0) {
			snprintf(err, errsize, "match '%s': %s", matches[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

int jd_journal_read_entry(sd_journal *j, struct jd_entry *e)
{
	const void *d;
	size_t l;
	uint64_t rt;
	int r;

	jd_entry_reset(e);
	r = sd_journal_get_realtime_usec(j, &rt);
	if (r < 0)
		return r;
	e->realtime_us = (long long)rt;
	/* One pass over the entry's items: sd_journal_get_data() per field would
	 * walk them once per field asked for. */
	SD_JOURNAL_FOREACH_DATA(j, d, l)
		jd_entry_add_item(e, d, l);
	return sd_journal_get_cursor(j, &e->cursor);
}
