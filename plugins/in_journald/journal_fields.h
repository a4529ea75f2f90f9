/* journal_fields.h - one journal entry as a bounded set of name/value pairs.
 *
 * Nothing here calls sd-journal: the reader fills a jd_entry from the
 * current journal entry, the unit tests and the fuzz harness fill it from
 * export-format text, and the mapping (journal_map.h) only ever sees this.
 *
 * Bounds, because a journal entry is untrusted input (any local process can
 * write one): at most max_fields fields are kept, each value is cut to
 * max_field bytes (the original size is remembered), names longer than
 * JD_NAME_MAX are ignored, and values may be binary (NUL bytes, invalid
 * UTF-8) - the mapping sanitises before anything reaches JSON. */
#ifndef HVT_JOURNAL_FIELDS_H
#define HVT_JOURNAL_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JD_NAME_MAX 64          /* journald refuses longer field names */

/* Fields the mapping looks at, found once per entry instead of searched. */
enum jd_known {
	JD_MESSAGE,
	JD_PRIORITY,
	JD_TRANSPORT,
	JD_AUDIT_TYPE_NAME,
	JD_AUDIT_ID,
	JD_COMM,
	JD_SYSLOG_IDENTIFIER,
	JD_LIBVIRT_SOURCE,
	JD_CODE_FUNC,
	JD_MESSAGE_ID,
	JD_NAME,                /* systemd-machined: the machine name */
	JD_LEADER,              /* systemd-machined: the machine's leader PID */
	JD_CMDLINE,             /* QEMU's own messages: -name / -uuid */
	JD_UID,                 /* who sent it (trusted: journald takes it from the kernel) */
	JD_KNOWN_COUNT
};

struct jd_field {
	const char *name;       /* NUL-terminated */
	bool name_static;       /* name lives as long as the process (known or interned) */
	const char *value;      /* NUL-terminated after len bytes; may hold NULs itself */
	size_t len;             /* bytes kept */
	size_t orig_len;        /* bytes in the journal (> len when cut) */
	int known;              /* enum jd_known, or -1 */
	bool carried;           /* selected by the `fields` setting: goes to data.fields */
};

/* Which fields to carry into events: exact names, NAME* prefixes, or all. */
struct jd_fieldset;

/* items: the `fields` list.  On a bad item returns NULL and names it in err. */
struct jd_fieldset *jd_fieldset_new(char *const *items, int n, char *err, size_t errsize);
void jd_fieldset_free(struct jd_fieldset *s);
bool jd_fieldset_has(const struct jd_fieldset *s, const char *name, size_t len);
/* Its exact names (NULL-terminated), and whether it has prefixes or "*". */
char *const *jd_fieldset_exact(const struct jd_fieldset *s);
bool jd_fieldset_has_patterns(const struct jd_fieldset *s);

/* A journal field name as journald accepts it: [A-Z0-9_], not starting with
 * a digit, at most JD_NAME_MAX.  (Leading "_" marks trusted fields.) */
bool jd_field_name_valid(const char *name, size_t len);

/* Names looked up per field of every entry: the known ones and the exact
 * names of the carry set, hashed once at jd_entry_init. */
#define JD_NAMETAB_SIZE 256

struct jd_nametab_slot {
	const char *name;               /* NULL = empty */
	size_t len;
	int known;
	bool carried;
	unsigned seen;                  /* entry generation it last appeared in */
};

struct jd_entry {
	struct jd_field *f;
	size_t n;
	size_t max_fields;
	size_t max_field;               /* bytes of one value kept */
	const struct jd_fieldset *carry;  /* NULL: carry nothing */
	const struct jd_field *known[JD_KNOWN_COUNT];
	size_t dropped;                 /* fields beyond max_fields */
	long long realtime_us;          /* __REALTIME_TIMESTAMP */
	char *cursor;                   /* __CURSOR, owned, or NULL */
	char *arena;                    /* names and values, sized for the bounds */
	size_t used, arena_size;
	struct jd_nametab_slot *tab;    /* JD_NAMETAB_SIZE slots */
	bool carry_other;               /* the carry set has prefixes or "*": look further */
	unsigned gen;                   /* bumped by jd_entry_reset */
	bool repeated;                  /* a carried name may occur twice in this entry */
};

void jd_entry_init(struct jd_entry *e, size_t max_fields, size_t max_field,
		   const struct jd_fieldset *carry);
void jd_entry_reset(struct jd_entry *e);
void jd_entry_free(struct jd_entry *e);

/* Offer one field; it is kept when the mapping needs it or `carry` selects
 * it.  Returns true when kept. */
bool jd_entry_add(struct jd_entry *e, const char *name, size_t nlen, const void *value, size_t vlen);

/* Offer a raw "NAME=value" data item as sd-journal returns it. */
bool jd_entry_add_item(struct jd_entry *e, const void *item, size_t len);

/* The value of a known field, or NULL. */
static inline const struct jd_field *jd_get(const struct jd_entry *e, enum jd_known k)
{
	return e->known[k];
}

/* Is the known field present with exactly this value? */
bool jd_is(const struct jd_entry *e, enum jd_known k, const char *value);

#endif
