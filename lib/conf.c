/* conf.c - see conf.h.
 *
 * libinih does the INI syntax (comments, quoting, continuation lines); we
 * wrap its fgets-style reader so we know the line each key came from and
 * see section headers that have no keys (inih only reports key=value). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <ini.h>

#include "conf.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

struct reader {
	FILE *fp;             /* file input, or */
	const char *str;      /* string input */
	int line;             /* number of the line last handed to inih */
	const char *file;
	struct hvt_conf *conf;
};

void hvt_conf_error(struct hvt_conf *c, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->errors++;
	if (line > 0)
		hvt_log(LOG_ERR, "%s:%d: %s", file, line, msg);
	else
		hvt_log(LOG_ERR, "%s: %s", file, msg);
}

/* header: called for a "[name]" line (not for a key of a section).  A
 * header seen a second time in the same file is an error naming both
 * lines: merging them silently lets the second [listen] replace the first
 * one's address.  In a later file (an [include]d drop-in) the section is
 * reopened on purpose: its keys override (docs/config.md). */
static struct hvt_conf_section *section_get(struct hvt_conf *c, const char *name,
					    const char *file, int line, bool header)
{
	struct hvt_conf_section *s, **tail = &c->sections;

	for (s = c->sections; s; s = s->next) {
		if (strcmp(s->name, name) == 0) {
			if (header && s->file == file)
				hvt_conf_error(c, file, line, "[%s] appears a second time in this file (first at "
					       "%s:%d); sections are not merged: put its keys in the first one (a "
					       "second listener or plugin instance needs a name of its own, such "
					       "as [%s:NAME])", name, s->file, s->line, s->kind);
			return s;
		}
		tail = &s->next;
	}
	s = hvt_calloc(1, sizeof *s);
	s->name = hvt_strdup(name);
	const char *colon = strchr(name, ':');
	s->kind = colon ? hvt_strndup(name, (size_t)(colon - name)) : hvt_strdup(name);
	s->label = hvt_strdup(colon ? colon + 1 : "");
	s->file = file;
	s->line = line;
	*tail = s;
	return s;
}

/* Remember section headers as they stream past, so "[in_qmp]" with no keys
 * still enables the plugin with its defaults. */
static void note_header(struct reader *r, const char *text)
{
	const char *p = text;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[')
		return;
	const char *end = strchr(p, ']');
	if (!end)
		return;
	char name[256];
	size_t n = (size_t)(end - p - 1);
	if (n == 0 || n >= sizeof name)
		return;
	memcpy(name, p + 1, n);
	name[n] = '\0';
	section_get(r->conf, hvt_str_trim(name), r->file, r->line + 1, true);
}

/* One fgets-style chunk from the file or string; NULL at the end. */
static char *next_chunk(struct reader *r, char *str, int num)
{
	if (r->fp)
		return fgets(str, num, r->fp);
	if (!*r->str)
		return NULL;
	const char *nl = strchr(r->str, '\n');
	size_t n = nl ? (size_t)(nl - r->str + 1) : strlen(r->str);
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	memcpy(str, r->str, n);
	str[n] = '\0';
	r->str += n;
	return str;
}

static bool at_end(const struct reader *r)
{
	return r->fp ? feof(r->fp) : !*r->str;
}

static char *reader_gets(char *str, int num, void *stream)
{
	struct reader *r = stream;

	if (!next_chunk(r, str, num))
		return NULL;
	note_header(r, str);
	r->line++;
	size_t len = strlen(str);
	if ((len == 0 || str[len - 1] != '\n') && !at_end(r)) {
		hvt_conf_error(r->conf, r->file, r->line, "line too long (at most %d characters)", num - 2);
		/* swallow the rest of the line here, so that inih counts it as
		 * one line and the line numbers it reports stay ours */
		while (next_chunk(r, str, num) && (len = strlen(str)) > 0 && str[len - 1] != '\n')
			;
		str[0] = '\0';     /* hand inih an empty line */
	}
	return str;
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	struct hvt_conf *c = r->conf;

	if (!name)
		return 1;
	if (!section || !*section) {
		hvt_conf_error(c, r->file, r->line, "'%s' appears before any [section]", name);
		return 1;
	}
	struct hvt_conf_section *s = section_get(c, section, r->file, r->line, false);
	struct hvt_conf_entry *e = hvt_calloc(1, sizeof *e), **tail = &s->entries;
	while (*tail)
		tail = &(*tail)->next;
	e->key = hvt_strdup(name);
	e->value = hvt_strdup(value ? value : "");
	e->file = r->file;
	e->line = r->line;
	*tail = e;
	return 1;
}

static const char *remember_file(struct hvt_conf *c, const char *path)
{
	c->files = hvt_realloc(c->files, sizeof(char *) * (size_t)(c->nfiles + 1));
	c->files[c->nfiles] = hvt_strdup(path);
	return c->files[c->nfiles++];
}

static void parse_one(struct hvt_conf *c, struct reader *r)
{
	int rc = ini_parse_stream(reader_gets, r, ini_cb, r);

	if (rc > 0)
		hvt_conf_error(c, r->file, rc,
			       "syntax error: expected '[section]', 'key = value' or a comment");
}

static int parse_file(struct hvt_conf *c, const char *path)
{
	struct reader r = { 0 };

	r.fp = fopen(path, "re");
	if (!r.fp) {
		hvt_conf_error(c, path, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	r.file = remember_file(c, path);
	r.conf = c;
	parse_one(c, &r);
	fclose(r.fp);
	return 0;
}

/* Files read so far, by identity: an include that names one again (itself,
 * or a file that includes it back) would otherwise be read forever, each
 * reading appending one more [include] entry to the list being walked. */
struct seen_files {
	dev_t *dev;
	ino_t *ino;
	size_t n;
};

/* true (and remembered) the first time a file is met */
static bool first_visit(struct seen_files *seen, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return true;          /* parse_file says why it cannot be read */
	for (size_t i = 0; i < seen->n; i++)
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino)
			return false;
	seen->dev = hvt_realloc(seen->dev, sizeof *seen->dev * (seen->n + 1));
	seen->ino = hvt_realloc(seen->ino, sizeof *seen->ino * (seen->n + 1));
	seen->dev[seen->n] = st.st_dev;
	seen->ino[seen->n++] = st.st_ino;
	return true;
}

/* "[include] files = conf.d/NAME.conf" (globs allowed): read in sorted order after the main
 * file; later files override single-valued keys of earlier ones.  Included
 * files may include more (their [include] entries join the list walked
 * here); each file is read once. */
static void load_includes(struct hvt_conf *c, const char *main_path)
{
	struct hvt_conf_section *inc = hvt_conf_find(c, "include");
	struct seen_files seen = { 0 };
	char dir[4096];

	if (!inc)
		return;
	first_visit(&seen, main_path);
	hvt_strlcpy(dir, main_path, sizeof dir);
	char *d = dirname(dir);
	for (struct hvt_conf_entry *e = inc->entries; e; e = e->next) {
		if (strcmp(e->key, "files") != 0) {
			hvt_conf_error(c, e->file, e->line, "[include]: unknown key '%s' (only 'files')", e->key);
			continue;
		}
		char *pattern = e->value[0] == '/' ? hvt_strdup(e->value)
			                           : hvt_asprintf("%s/%s", d, e->value);
		glob_t g;
		int grc = glob(pattern, 0, NULL, &g);
		if (grc == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++) {
				if (first_visit(&seen, g.gl_pathv[i]))
					parse_file(c, g.gl_pathv[i]);
				else
					hvt_log(LOG_WARNING, "%s:%d: [include]: %s is read already (it includes "
						"itself, or a file that includes it); reading it once", e->file,
						e->line, g.gl_pathv[i]);
			}
			globfree(&g);
		} else if (grc != GLOB_NOMATCH) {
			hvt_conf_error(c, e->file, e->line, "cannot expand '%s'", pattern);
		}
		free(pattern);
	}
	free(seen.dev);
	free(seen.ino);
}

struct hvt_conf *hvt_conf_load(const char *path, const char *prog)
{
	struct hvt_conf *c = hvt_calloc(1, sizeof *c);

	c->path = hvt_strdup(path);
	c->prog = prog;
	if (parse_file(c, path) < 0) {
		hvt_conf_free(c);
		return NULL;
	}
	load_includes(c, path);
	return c;
}

struct hvt_conf *hvt_conf_load_string(const char *text, const char *name, const char *prog)
{
	struct hvt_conf *c = hvt_calloc(1, sizeof *c);
	struct reader r = { 0 };

	c->path = hvt_strdup(name);
	c->prog = prog;
	r.str = text;
	r.file = remember_file(c, name);
	r.conf = c;
	parse_one(c, &r);
	return c;
}

static void filled_free(struct hvt_conf_section *s);

void hvt_conf_free(struct hvt_conf *c)
{
	if (!c)
		return;
	struct hvt_conf_section *s = c->sections;
	while (s) {
		struct hvt_conf_section *sn = s->next;
		struct hvt_conf_entry *e = s->entries;
		while (e) {
			struct hvt_conf_entry *en = e->next;
			free(e->key);
			free(e->value);
			free(e);
			e = en;
		}
		filled_free(s);
		free(s->name);
		free(s->kind);
		free(s->label);
		free(s);
		s = sn;
	}
	for (int i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->path);
	free(c);
}

struct hvt_conf_section *hvt_conf_find(struct hvt_conf *c, const char *name)
{
	for (struct hvt_conf_section *s = c ? c->sections : NULL; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static const struct hvt_conf_key *schema_key(const struct hvt_conf_key *schema, const char *name)
{
	for (const struct hvt_conf_key *k = schema; k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Levenshtein distance, for "did you mean" on a mistyped key. */
static int edit_distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	int prev[64], cur[64];

	if (la > 62 || lb > 62)
		return 99;
	for (int j = 0; j <= lb; j++)
		prev[j] = j;
	for (int i = 1; i <= la; i++) {
		cur[0] = i;
		for (int j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = HVT_MIN(sub, HVT_MIN(del, ins));
		}
		memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
	}
	return prev[lb];
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

static bool enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == n && strncmp(p, v, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* "a.test b.test" is one item to a comma-separated list: taken as one
 * certificate name it matches nothing and the collector refuses every
 * forwarder.  An item with a blank inside is refused unless the key says
 * its items may hold blanks (HVT_CONF_BLANKS: "Authorization: Bearer x"). */
static const char *check_list(const struct hvt_conf_key *k, const char *v, char *buf, size_t size)
{
	if (k->flags & HVT_CONF_BLANKS)
		return NULL;
	for (const char *item = v; *item;) {
		size_t n = strcspn(item, ",");
		char *t = hvt_strndup(item, n);
		char *trimmed = hvt_str_trim(t);
		if (strpbrk(trimmed, " \t")) {
			struct hvt_buf fix = { 0 };
			for (const char *p = trimmed; *p;) {
				size_t w = strcspn(p, " \t");
				hvt_buf_printf(&fix, "%s%.*s", fix.len ? ", " : "", (int)w, p);
				p += w;
				p += strspn(p, " \t");
			}
			snprintf(buf, size, "list items are separated by commas, and '%s' holds a blank; "
				 "write '%s' (or repeat the key, one item per line)", trimmed, hvt_buf_cstr(&fix));
			hvt_buf_free(&fix);
			free(t);
			return buf;
		}
		free(t);
		item += n + (item[n] == ',');
	}
	return NULL;
}

/* Validate one value; returns an error text or NULL. */
static const char *check_value(const struct hvt_conf_key *k, const char *v, char *buf, size_t size)
{
	long long n;
	uint64_t sz;
	bool b;
	char *end;

	switch (k->type) {
	case HVT_CONF_STRING:
		return NULL;
	case HVT_CONF_LIST:
		return check_list(k, v, buf, size);
	case HVT_CONF_PATH:
		if (!*v)
			return "expected a path, got an empty value";
		return NULL;
	case HVT_CONF_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (!*v || *end || errno) {
			snprintf(buf, size, "expected an integer, got '%s'", v);
			return buf;
		}
		break;
	case HVT_CONF_BOOL:
		if (!parse_bool(v, &b)) {
			snprintf(buf, size, "expected yes or no, got '%s'", v);
			return buf;
		}
		return NULL;
	case HVT_CONF_SIZE:
		if (hvt_parse_size(v, &sz) < 0) {
			snprintf(buf, size, "expected a size like 4096, 64K, 512M or 2G, got '%s'", v);
			return buf;
		}
		n = sz > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)sz;
		break;
	case HVT_CONF_DURATION:
		if (hvt_parse_duration_ms(v, &n) < 0) {
			snprintf(buf, size, "expected a duration like 250ms, 5s, 2m or 1h, got '%s'", v);
			return buf;
		}
		break;
	case HVT_CONF_ENUM:
		if (!enum_has(k->choices, v)) {
			snprintf(buf, size, "expected one of %s, got '%s'", k->choices, v);
			return buf;
		}
		return NULL;
	default:
		return NULL;
	}
	if (k->max > k->min && (n < k->min || n > k->max)) {
		snprintf(buf, size, "'%s' is out of range (%lld..%lld%s)", v, k->min, k->max,
			 k->type == HVT_CONF_DURATION ? " ms" : k->type == HVT_CONF_SIZE ? " bytes" : "");
		return buf;
	}
	return NULL;
}

void hvt_conf_check_section(struct hvt_conf *c, struct hvt_conf_section *s,
			    const struct hvt_conf_key *schema)
{
	char buf[512];

	s->schema = schema;
	for (struct hvt_conf_entry *e = s->entries; e; e = e->next) {
		const struct hvt_conf_key *k = schema_key(schema, e->key);
		if (!k) {
			const char *best = NULL;
			int bestd = 3;
			for (const struct hvt_conf_key *q = schema; q && q->name; q++) {
				int d = edit_distance(e->key, q->name);
				if (d < bestd) {
					bestd = d;
					best = q->name;
				}
			}
			if (best)
				hvt_conf_error(c, e->file, e->line, "[%s]: unknown key '%s' (did you mean '%s'?)",
					       s->name, e->key, best);
			else
				hvt_conf_error(c, e->file, e->line, "[%s]: unknown key '%s'", s->name, e->key);
			continue;
		}
		const char *err = check_value(k, e->value, buf, sizeof buf);
		if (err)
			hvt_conf_error(c, e->file, e->line, "[%s] %s: %s", s->name, e->key, err);
	}
	for (const struct hvt_conf_key *k = schema; k && k->name; k++) {
		if (!(k->flags & HVT_CONF_REQUIRED))
			continue;
		bool found = false;
		for (struct hvt_conf_entry *e = s->entries; e; e = e->next)
			if (strcmp(e->key, k->name) == 0 && *e->value)
				found = true;
		if (!found)
			hvt_conf_error(c, s->file, s->line, "[%s]: required key '%s' is missing (%s)",
				       s->name, k->name, k->help);
	}
}

static const struct hvt_conf_entry *last_entry(const struct hvt_conf_section *s, const char *key)
{
	const struct hvt_conf_entry *found = NULL;

	for (const struct hvt_conf_entry *e = s ? s->entries : NULL; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			found = e;
	return found;
}

const char *hvt_conf_str(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
			 const char *key)
{
	const struct hvt_conf_entry *e = last_entry(s, key);
	const struct hvt_conf_key *k;

	if (e)
		return e->value;
	k = schema_key(schema, key);
	if (!k) {
		hvt_log(LOG_CRIT, "internal error: config key '%s' is not in the schema", key);
		abort();
	}
	return k->def;
}

long long hvt_conf_int(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		       const char *key)
{
	const char *v = hvt_conf_str(s, schema, key);

	return v ? strtoll(v, NULL, 10) : 0;
}

bool hvt_conf_bool(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		   const char *key)
{
	const char *v = hvt_conf_str(s, schema, key);
	bool b = false;

	if (v)
		parse_bool(v, &b);
	return b;
}

uint64_t hvt_conf_size(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		       const char *key)
{
	const char *v = hvt_conf_str(s, schema, key);
	uint64_t n = 0;

	if (v)
		hvt_parse_size(v, &n);
	return n;
}

long long hvt_conf_duration_ms(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
			       const char *key)
{
	const char *v = hvt_conf_str(s, schema, key);
	long long ms = 0;

	if (v)
		hvt_parse_duration_ms(v, &ms);
	return ms;
}

static void list_add_items(char ***list, int *n, const char *value)
{
	char *copy = hvt_strdup(value), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = hvt_str_trim(tok);
		if (!*t)
			continue;
		*list = hvt_realloc(*list, sizeof(char *) * (size_t)(*n + 2));
		(*list)[(*n)++] = hvt_strdup(t);
		(*list)[*n] = NULL;
	}
	free(copy);
}

char **hvt_conf_list(const struct hvt_conf_section *s, const struct hvt_conf_key *schema,
		     const char *key, int *n)
{
	char **list = hvt_calloc(1, sizeof(char *));
	int count = 0;
	bool any = false;

	for (const struct hvt_conf_entry *e = s ? s->entries : NULL; e; e = e->next) {
		if (strcmp(e->key, key) == 0) {
			list_add_items(&list, &count, e->value);
			any = true;
		}
	}
	if (!any) {
		const char *def = hvt_conf_str(NULL, schema, key);
		if (def)
			list_add_items(&list, &count, def);
	}
	if (n)
		*n = count;
	return list;
}

void hvt_conf_list_free(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

bool hvt_conf_section_same(const struct hvt_conf_section *a, const struct hvt_conf_section *b)
{
	const struct hvt_conf_entry *x, *y;

	if (!a || !b)
		return a == b;
	for (x = a->entries, y = b->entries; x && y; x = x->next, y = y->next)
		if (strcmp(x->key, y->key) || strcmp(x->value, y->value))
			return false;
	return !x && !y;
}

const char *hvt_conf_where(const struct hvt_conf_section *s, const char *key, char *buf, int size)
{
	const struct hvt_conf_entry *e = last_entry(s, key);

	if (e)
		snprintf(buf, (size_t)size, "%s:%d", e->file, e->line);
	else if (s)
		snprintf(buf, (size_t)size, "%s:%d (default)", s->file, s->line);
	else
		snprintf(buf, (size_t)size, "(default)");
	return buf;
}

static const char *type_name(const struct hvt_conf_key *k)
{
	switch (k->type) {
	case HVT_CONF_STRING: return "string";
	case HVT_CONF_PATH: return "path";
	case HVT_CONF_INT: return "integer";
	case HVT_CONF_BOOL: return "yes/no";
	case HVT_CONF_SIZE: return "size";
	case HVT_CONF_DURATION: return "duration";
	case HVT_CONF_ENUM: return "one of";
	case HVT_CONF_LIST: return "list";
	}
	return "?";
}

/* Markdown table cells may not contain a bare '|'. */
static void print_cell(const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs(" \\| ", stdout);
		else
			putchar(*s);
	}
}

static enum hvt_conf_schema_format schema_format = HVT_SCHEMA_MARKDOWN;

void hvt_conf_schema_set_format(enum hvt_conf_schema_format f)
{
	schema_format = f;
}

/* Text for troff: backslashes and hyphens escaped (so a reader can copy
 * "drop\-oldest" as typed), no line starting with a control character,
 * and with breaks, a break point after every ':' (a GnuTLS priority string
 * is one long word). */
static void man_text(const char *s, bool breaks)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else if (*s == ':' && breaks)
			fputs(":\\:", stdout);
		else if (*s == '\n')
			putchar(' ');
		else
			putchar(*s);
	}
}

/* One section as a troff -man list: the key in bold, its type and default,
 * then what it means.  hvtrail.conf(5) is built from this at build time. */
static void schema_man(const char *section, const struct hvt_conf_key *schema)
{
	printf(".SS \"[");
	man_text(section, false);
	printf("]\"\n");
	for (const struct hvt_conf_key *k = schema; k && k->name; k++) {
		printf(".TP\n\\fB");
		man_text(k->name, false);
		printf("\\fR (\\fI%s\\fR", k->type == HVT_CONF_ENUM ? "one of" : type_name(k));
		if (k->type == HVT_CONF_ENUM) {
			for (const char *c = k->choices; *c;) {
				size_t n = strcspn(c, "|");
				char *choice = hvt_strndup(c, n);
				printf("%s\\fB", c == k->choices ? " " : ", ");
				man_text(choice, false);
				printf("\\fR");
				free(choice);
				c += n + (c[n] == '|');
			}
		}
		if (k->flags & HVT_CONF_REQUIRED) {
			printf("; required)\n");
		} else if (!k->def || !*k->def) {
			printf("; default: empty)\n");
		} else {
			printf("; default: \\fB");
			man_text(k->def, true);
			printf("\\fR)\n");
		}
		man_text(k->help, false);
		putchar('\n');
	}
}

void hvt_conf_schema_markdown(const char *section, const struct hvt_conf_key *schema)
{
	if (schema_format == HVT_SCHEMA_MAN) {
		schema_man(section, schema);
		return;
	}
	printf("### [%s]\n\n| key | type | default | meaning |\n|---|---|---|---|\n", section);
	for (const struct hvt_conf_key *k = schema; k && k->name; k++) {
		printf("| `%s` | %s", k->name, type_name(k));
		if (k->type == HVT_CONF_ENUM) {
			putchar(' ');
			print_cell(k->choices);
		}
		printf(" | %s | %s", k->def ? (*k->def ? k->def : "(empty)") : "—",
		       (k->flags & HVT_CONF_REQUIRED) ? "**required.** " : "");
		print_cell(k->help);
		printf(" |\n");
	}
	printf("\n");
}

/* ---- declared options ------------------------------------------------------ */

static enum hvt_conf_ctype ctype_for(enum hvt_conf_type t)
{
	switch (t) {
	case HVT_CONF_STRING:
	case HVT_CONF_PATH:
	case HVT_CONF_ENUM:
		return HVT_CONF_CT_STR;
	case HVT_CONF_INT:
	case HVT_CONF_DURATION:
		return HVT_CONF_CT_LLONG;
	case HVT_CONF_BOOL:
		return HVT_CONF_CT_BOOL;
	case HVT_CONF_SIZE:
		return HVT_CONF_CT_U64;
	case HVT_CONF_LIST:
		return HVT_CONF_CT_LIST;
	}
	return 0;
}

int hvt_conf_fields_check(const struct hvt_conf_key *schema, const struct hvt_conf_field *fields,
			  char *err, size_t errsize)
{
	static const char *const cnames[] = { "?", "const char *", "long long", "bool", "uint64_t", "char **" };

	for (const struct hvt_conf_field *f = fields; f && f->key; f++) {
		const struct hvt_conf_key *k = schema_key(schema, f->key);
		if (!k) {
			snprintf(err, errsize, "field for key '%s', which the schema does not declare", f->key);
			return -1;
		}
		if (ctype_for(k->type) != f->ctype) {
			snprintf(err, errsize, "key '%s' is filled into a %s, but its type needs a %s", f->key,
				 cnames[f->ctype < HVT_ARRAY_SIZE(cnames) ? f->ctype : 0],
				 cnames[ctype_for(k->type)]);
			return -1;
		}
	}
	return 0;
}

const void *hvt_conf_fill(struct hvt_conf_section *s, const struct hvt_conf_key *schema,
			  const struct hvt_conf_field *fields, size_t size)
{
	char *o;

	if (s->filled)
		return s->filled;
	o = hvt_calloc(1, size);
	for (const struct hvt_conf_field *f = fields; f && f->key; f++) {
		void *at = o + f->offset;
		switch (f->ctype) {
		case HVT_CONF_CT_STR:
			*(const char **)at = hvt_conf_str(s, schema, f->key);
			break;
		case HVT_CONF_CT_LLONG:
			*(long long *)at = schema_key(schema, f->key)->type == HVT_CONF_DURATION ?
					   hvt_conf_duration_ms(s, schema, f->key) : hvt_conf_int(s, schema, f->key);
			break;
		case HVT_CONF_CT_BOOL:
			*(bool *)at = hvt_conf_bool(s, schema, f->key);
			break;
		case HVT_CONF_CT_U64:
			*(uint64_t *)at = hvt_conf_size(s, schema, f->key);
			break;
		case HVT_CONF_CT_LIST:
			*(char ***)at = hvt_conf_list(s, schema, f->key, NULL);
			break;
		}
	}
	s->filled = o;
	s->filled_fields = fields;
	return o;
}

static void filled_free(struct hvt_conf_section *s)
{
	for (const struct hvt_conf_field *f = s->filled_fields; s->filled && f->key; f++)
		if (f->ctype == HVT_CONF_CT_LIST)
			hvt_conf_list_free(*(char ***)((char *)s->filled + f->offset));
	free(s->filled);
}
