/* journal_fields.c - see journal_fields.h. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "journal_fields.h"
#include "util.h"


/* The fields the mapping reads, by enum jd_known. */
static const struct {
	const char *name;
	size_t len;
} known_names[JD_KNOWN_COUNT] = {
#define K(id, s) [id] = { s, sizeof(s) - 1 }
	K(JD_MESSAGE, "MESSAGE"),
	K(JD_PRIORITY, "PRIORITY"),
	K(JD_TRANSPORT, "_TRANSPORT"),
	K(JD_AUDIT_TYPE_NAME, "_AUDIT_TYPE_NAME"),
	K(JD_AUDIT_ID, "_AUDIT_ID"),
	K(JD_COMM, "_COMM"),
	K(JD_SYSLOG_IDENTIFIER, "SYSLOG_IDENTIFIER"),
	K(JD_LIBVIRT_SOURCE, "LIBVIRT_SOURCE"),
	K(JD_CODE_FUNC, "CODE_FUNC"),
	K(JD_MESSAGE_ID, "MESSAGE_ID"),
	K(JD_NAME, "NAME"),
	K(JD_LEADER, "LEADER"),
	K(JD_CMDLINE, "_CMDLINE"),
	K(JD_UID, "_UID"),
#undef K
};

/* This runs for every field of every entry read, so it looks at four
 * bytes only (length, first, middle, last); the table is sparse and a
 * collision costs one more probe. */
static size_t name_hash(const char *name, size_t len)
{
	if (len == 0)
		return 0;
	uint32_t h = (uint32_t)len * 2654435761u;
	h ^= (uint32_t)(unsigned char)name[0] * 40503u;
	h ^= (uint32_t)(unsigned char)name[len / 2] * 9973u;
	h ^= (uint32_t)(unsigned char)name[len - 1] * 131u;
	return (h ^ (h >> 11)) & (JD_NAMETAB_SIZE - 1);
}

static struct jd_nametab_slot *tab_find(struct jd_nametab_slot *tab, const char *name, size_t len)
{
	for (size_t i = name_hash(name, len), n = 0; n < JD_NAMETAB_SIZE; n++, i = (i + 1) & (JD_NAMETAB_SIZE - 1)) {
		struct jd_nametab_slot *s = &tab[i];
		if (!s->name || (s->len == len && memcmp(s->name, name, len) == 0))
			return s;
	}
	return NULL;
}

/* The exact carried names become JSON keys of events, and an event may
 * outlive the entry, and even the input instance, that made it (it can wait
 * in the forwarder's memory while the spool is unwritable).  Interned for
 * the life of the process, they need no copy per event; the set is bounded
 * by the configuration. */
static const char *intern(const char *name)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char **names;
	static size_t n;
	const char *r = NULL;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n && !r; i++)
		if (strcmp(names[i], name) == 0)
			r = names[i];
	if (!r) {
		names = hvt_realloc(names, sizeof(char *) * (n + 1));
		r = names[n++] = hvt_strdup(name);
	}
	pthread_mutex_unlock(&mu);
	return r;
}

/* Insert (or update) a name; the table holds at most JD_KNOWN_COUNT plus
 * the exact carried names, which jd_entry_init bounds below its size. */
static void tab_put(struct jd_nametab_slot *tab, const char *name, int known, bool carried)
{
	struct jd_nametab_slot *s = tab_find(tab, name, strlen(name));

	if (!s)
		return;
	if (!s->name) {
		s->name = name;
		s->len = strlen(name);
		s->known = -1;
	}
	if (known >= 0)
		s->known = known;
	s->carried |= carried;
}

void jd_entry_init(struct jd_entry *e, size_t max_fields, size_t max_field,
		   const struct jd_fieldset *carry)
{
	memset(e, 0, sizeof *e);
	e->max_fields = max_fields ? max_fields : 1;
	e->max_field = max_field;
	e->carry = carry;
	e->f = hvt_calloc(e->max_fields, sizeof *e->f);
	/* Every kept field fits: the arena never moves, so pointers into it
	 * stay valid for the whole entry. */
	e->arena_size = e->max_fields * (JD_NAME_MAX + 1 + max_field + 1);
	e->arena = hvt_malloc(e->arena_size);
	e->tab = hvt_calloc(JD_NAMETAB_SIZE, sizeof *e->tab);
	e->gen = 1;
	/* a table hit is final: whether a known name is carried too ("*",
	 * a prefix, or its exact name) is decided here, once */
	for (int k = 0; k < JD_KNOWN_COUNT; k++)
		tab_put(e->tab, known_names[k].name, k,
			jd_fieldset_has(carry, known_names[k].name, known_names[k].len));
	/* exact names beyond what the table holds at a low load are looked
	 * up through the set instead */
	size_t room = JD_NAMETAB_SIZE / 2 - JD_KNOWN_COUNT;
	char *const *ex = carry ? jd_fieldset_exact(carry) : NULL;
	for (size_t i = 0; ex && ex[i]; i++)
		if (i < room)
			tab_put(e->tab, intern(ex[i]), -1, true);
		else
			e->carry_other = true;
	if (carry && jd_fieldset_has_patterns(carry))
		e->carry_other = true;
}

void jd_entry_reset(struct jd_entry *e)
{
	e->n = 0;
	e->used = 0;
	e->dropped = 0;
	e->repeated = false;
	if (++e->gen == 0) {            /* wrapped: forget every slot's generation */
		for (size_t i = 0; i < JD_NAMETAB_SIZE; i++)
			e->tab[i].seen = 0;
		e->gen = 1;
	}
	e->realtime_us = 0;
	memset(e->known, 0, sizeof e->known);
	free(e->cursor);
	e->cursor = NULL;
}

void jd_entry_free(struct jd_entry *e)
{
	free(e->cursor);
	free(e->f);
	free(e->arena);
	free(e->tab);
	memset(e, 0, sizeof *e);
}

static char *arena_copy(struct jd_entry *e, const void *p, size_t n)
{
	char *dst = e->arena + e->used;

	memcpy(dst, p, n);
	dst[n] = '\0';
	e->used += n + 1;
	return dst;
}

/* Is the field wanted: known to the mapping, or carried?  Also notes
 * whether a carried name repeats, so the mapping can skip looking for
 * duplicates in the common case. */
static bool classify(struct jd_entry *e, const char *name, size_t nlen, int *k, bool *carried,
		     const char **static_name)
{
	struct jd_nametab_slot *s = nlen && nlen <= JD_NAME_MAX ? tab_find(e->tab, name, nlen) : NULL;

	*k = -1;
	*carried = false;
	*static_name = NULL;
	if (s && s->name) {             /* table names are valid by construction */
		*k = s->known;
		*carried = s->carried;
		*static_name = s->name;
		if (s->seen == e->gen && s->carried)
			e->repeated = true;
		s->seen = e->gen;
		return true;
	}
	if (!e->carry_other || !jd_field_name_valid(name, nlen))
		return false;
	*carried = jd_fieldset_has(e->carry, name, nlen);
	if (*carried)
		e->repeated = true;     /* not tracked outside the table: assume it may */
	return *carried;
}

bool jd_entry_add(struct jd_entry *e, const char *name, size_t nlen, const void *value, size_t vlen)
{
	int k;
	bool carried;
	const char *static_name;

	if (!classify(e, name, nlen, &k, &carried, &static_name))
		return false;
	if (e->n == e->max_fields) {
		e->dropped++;
		return false;
	}
	struct jd_field *f = &e->f[e->n++];
	f->name = static_name ? static_name : arena_copy(e, name, nlen);
	f->name_static = static_name != NULL;
	f->len = vlen < e->max_field ? vlen : e->max_field;
	f->orig_len = vlen;
	f->value = arena_copy(e, value, f->len);
	f->known = k;
	f->carried = carried;
	if (k >= 0 && !e->known[k])         /* a repeated field: the first one counts */
		e->known[k] = f;
	return true;
}

bool jd_entry_add_item(struct jd_entry *e, const void *item, size_t len)
{
	const char *p = item;
	const char *eq = memchr(p, '=', len < JD_NAME_MAX + 1 ? len : JD_NAME_MAX + 1);

	if (!eq)
		return false;
	size_t nlen = (size_t)(eq - p);
	return jd_entry_add(e, p, nlen, eq + 1, len - nlen - 1);
}

bool jd_is(const struct jd_entry *e, enum jd_known k, const char *value)
{
	const struct jd_field *f = e->known[k];
	size_t n = strlen(value);

	return f && f->len == n && f->orig_len == n && memcmp(f->value, value, n) == 0;
}
