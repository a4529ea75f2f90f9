/* journal_fieldset.c - the `fields` setting: which journal fields an event
 * carries (see journal_fields.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_fields.h"
#include "util.h"

struct jd_fieldset {
	bool all;
	char **exact;           /* sorted */
	size_t nexact;
	char **prefix;
	size_t nprefix;
};

bool jd_field_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > JD_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct jd_fieldset *jd_fieldset_new(char *const *items, int n, char *err, size_t errsize)
{
	struct jd_fieldset *s = hvt_calloc(1, sizeof *s);

	s->exact = hvt_calloc((size_t)n + 1, sizeof(char *));
	s->prefix = hvt_calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		const char *it = items[i];
		size_t len = strlen(it);
		if (strcmp(it, "*") == 0) {
			s->all = true;
			continue;
		}
		bool pre = len > 1 && it[len - 1] == '*';
		if (!jd_field_name_valid(it, pre ? len - 1 : len)) {
			snprintf(err, errsize, "'%s' is not a journal field name (A-Z, 0-9, _; "
				 "a trailing * matches a prefix)", it);
			jd_fieldset_free(s);
			return NULL;
		}
		if (pre)
			s->prefix[s->nprefix++] = hvt_strndup(it, len - 1);
		else
			s->exact[s->nexact++] = hvt_strdup(it);
	}
	qsort(s->exact, s->nexact, sizeof(char *), cmp_str);
	return s;
}

char *const *jd_fieldset_exact(const struct jd_fieldset *s)
{
	return s->exact;
}

bool jd_fieldset_has_patterns(const struct jd_fieldset *s)
{
	return s->all || s->nprefix > 0;
}

void jd_fieldset_free(struct jd_fieldset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nexact; i++)
		free(s->exact[i]);
	for (size_t i = 0; i < s->nprefix; i++)
		free(s->prefix[i]);
	free(s->exact);
	free(s->prefix);
	free(s);
}

bool jd_fieldset_has(const struct jd_fieldset *s, const char *name, size_t len)
{
	if (!s)
		return false;
	if (s->all)
		return true;
	size_t lo = 0, hi = s->nexact;
	while (lo < hi) {       /* binary search without making a NUL-terminated copy */
		size_t mid = (lo + hi) / 2;
		int c = strncmp(s->exact[mid], name, len);
		if (c == 0 && s->exact[mid][len] != '\0')
			c = 1;
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < s->nprefix; i++) {
		size_t pl = strlen(s->prefix[i]);
		if (pl <= len && memcmp(s->prefix[i], name, pl) == 0)
			return true;
	}
	return false;
}
