/* conf.h - INI configuration (parsed by libinih) checked against schemas.
 *
 * Every section is declared by whoever owns it: the daemon core declares
 * its own ([forwarder], [spool], [collector], ...), each plugin declares the
 * keys of its section ([in_qmp], [out_relp], ...; a second instance of a
 * plugin is "[in_qmp:name]").  A key nobody declared, a value of the wrong
 * type or a missing required key is an error that names file and line, so
 * --check-config catches a typo before it becomes a silent default. */
#ifndef HVT_CONF_H
#define HVT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hvt_conf_type {
	HVT_CONF_STRING,
	HVT_CONF_PATH,
	HVT_CONF_INT,
	HVT_CONF_BOOL,
	HVT_CONF_SIZE,        /* bytes; "64K", "1G" */
	HVT_CONF_DURATION,    /* milliseconds; "250ms", "5s", "2m" */
	HVT_CONF_ENUM,        /* one of .choices ("a|b|c") */
	HVT_CONF_LIST,        /* comma-separated; the key may repeat; an item with a blank
	                       * inside is refused unless flags has HVT_CONF_BLANKS */
};

#define HVT_CONF_REQUIRED 0x1u
#define HVT_CONF_BLANKS 0x2u    /* LIST: items may contain blanks ("Name: value") */

struct hvt_conf_key {
	const char *name;
	enum hvt_conf_type type;
	const char *def;      /* default as written in a config file, or NULL */
	const char *help;     /* one line, for docs and --help-config */
	const char *choices;  /* HVT_CONF_ENUM: "block|drop-oldest" */
	long long min, max;   /* INT/SIZE/DURATION bounds when max > min */
	unsigned flags;
};
#define HVT_CONF_END { NULL, 0, NULL, NULL, NULL, 0, 0, 0 }

/* Declared options: an owner names a struct member per key and gets the
 * values filled in (hvt_conf_fill) instead of calling a getter per key.
 * The member's C type follows the key's type:
 *   STRING, PATH, ENUM  const char *   (valid while the configuration is)
 *   INT, DURATION       long long      (DURATION in milliseconds)
 *   BOOL                bool
 *   SIZE                uint64_t       (bytes)
 *   LIST                char **        (NULL-terminated; owned by the section)
 * HVT_CONF_FIELD records the member's type, so a mismatch is refused when
 * the owner is loaded (hvt_conf_fields_check), never misread. */
enum hvt_conf_ctype {
	HVT_CONF_CT_STR = 1,
	HVT_CONF_CT_LLONG,
	HVT_CONF_CT_BOOL,
	HVT_CONF_CT_U64,
	HVT_CONF_CT_LIST,
};
struct hvt_conf_field {
	const char *key;
	size_t offset;
	enum hvt_conf_ctype ctype;
};
#define HVT_CONF_CTYPE_OF(x) _Generic((x), \
	const char *: HVT_CONF_CT_STR, long long: HVT_CONF_CT_LLONG, bool: HVT_CONF_CT_BOOL, \
	uint64_t: HVT_CONF_CT_U64, char **: HVT_CONF_CT_LIST)
#define HVT_CONF_FIELD(type, member, key) \
	{ (key), offsetof(type, member), HVT_CONF_CTYPE_OF(((type *)0)->member) }
#define HVT_CONF_FIELDS_END { NULL, 0, 0 }

struct hvt_conf_entry {
	char *key;
	char *value;
	const char *file;
	int line;
	struct hvt_conf_entry *next;
};

struct hvt_conf_section {
	char *name;           /* as written: "in_qmp" or "in_qmp:second" */
	char *kind;           /* before ':' ("in_qmp") */
	char *label;          /* after ':' or "" */
	const char *file;
	int line;
	const struct hvt_conf_key *schema;   /* bound by hvt_conf_check_section */
	void *filled;                        /* hvt_conf_fill's struct, freed with the section */
	const struct hvt_conf_field *filled_fields;
	struct hvt_conf_entry *entries;
	struct hvt_conf_section *next;
};

struct hvt_conf {
	char *path;
	char **files;         /* every file read (main + includes), owned */
	int nfiles;
	struct hvt_conf_section *sections;
	int errors;           /* problems reported so far */
	const char *prog;     /* prefix for error lines */
};

/* Parse FILE (and the files its [include] section names).  Syntax errors are
 * reported and counted; returns NULL only when the file cannot be read. */
struct hvt_conf *hvt_conf_load(const char *path, const char *prog);
/* Parse a string (tests, fuzzing). */
struct hvt_conf *hvt_conf_load_string(const char *text, const char *name, const char *prog);
void hvt_conf_free(struct hvt_conf *c);

/* Report a problem at FILE:LINE and count it. */
void hvt_conf_error(struct hvt_conf *c, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct hvt_conf_section *hvt_conf_find(struct hvt_conf *c, const char *name);
/* Do two sections hold the same keys and values in the same order (both
 * NULL counts as the same)?  Reloads use it to tell what changed. */
bool hvt_conf_section_same(const struct hvt_conf_section *a, const struct hvt_conf_section *b);

/* Bind a schema to a section and validate every key in it. */
void hvt_conf_check_section(struct hvt_conf *c, struct hvt_conf_section *s,
			    const struct hvt_conf_key *schema);

/* Getters fall back to the schema default; a section may be NULL (then
 * only defaults apply).  Values were validated by hvt_conf_check_section,
 * so these do not fail. */
const char *hvt_conf_str(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
			 const char *key);
long long hvt_conf_int(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		       const char *key);
bool hvt_conf_bool(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		   const char *key);
uint64_t hvt_conf_size(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		       const char *key);
long long hvt_conf_duration_ms(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
			       const char *key);
/* NULL-terminated array of trimmed items (all repeats of the key joined);
 * free with hvt_conf_list_free. */
char **hvt_conf_list(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		     const char *key, int *n);
void hvt_conf_list_free(char **list);
/* Do fields name keys of schema, with member types that fit the keys'?
 * Returns 0, or -1 with the first mismatch in err (a programming error). */
int hvt_conf_fields_check(const struct hvt_conf_key *schema, const struct hvt_conf_field *fields,
			  char *err, size_t errsize);
/* The section's values as a struct of size bytes laid out by fields
 * (checked by hvt_conf_fields_check), schema defaults where a key is
 * unset.  Made once per section and freed with it, so every caller (the
 * check, then init) sees the same struct. */
const void *hvt_conf_fill(struct hvt_conf_section *s, const struct hvt_conf_key *schema,
			  const struct hvt_conf_field *fields, size_t size);

/* Where a key was set ("file:line"), for error messages at run time. */
const char *hvt_conf_where(const struct hvt_conf_section *s, const char *key, char *buf, int size);

/* Print a schema as a markdown table (docs/config.md is checked against it),
 * or, after hvt_conf_schema_set_format(HVT_SCHEMA_MAN) (the daemons'
 * --print-schema=man), as troff -man text for hvtrail.conf(5), which the
 * build generates from it so the manual cannot drift from the code. */
void hvt_conf_schema_markdown(const char *section, const struct hvt_conf_key *schema);
enum hvt_conf_schema_format { HVT_SCHEMA_MARKDOWN, HVT_SCHEMA_MAN };
void hvt_conf_schema_set_format(enum hvt_conf_schema_format f);

#endif
