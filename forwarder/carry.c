/* carry.c - see carry.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carry.h"
#include "hash.h"
#include "log.h"

#define STATE_MAGIC "hvtrail-forwarder-state 1\n"
#define POSITION_MAX 4096

struct position {
	char *name, *value;
	uint64_t seq;
};

struct carry {
	struct keywin *win;
	struct position *pos;
	size_t npos;
	bool dirty;
};

struct carry *carry_new(size_t window)
{
	struct carry *c = hvt_calloc(1, sizeof *c);

	c->win = keywin_new(window);
	return c;
}

void carry_free(struct carry *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npos; i++) {
		free(c->pos[i].name);
		free(c->pos[i].value);
	}
	free(c->pos);
	keywin_free(c->win);
	free(c);
}

void carry_digest(const char *scope, const char *key, uint8_t out[KEYWIN_DIGEST])
{
	struct hvt_buf b = { 0 };
	unsigned char full[32];

	hvt_buf_append_str(&b, scope);
	hvt_buf_append(&b, "", 1);            /* the scope cannot run into the key */
	hvt_buf_append_str(&b, key);
	hvt_sha256(b.data, b.len, full);
	memcpy(out, full, KEYWIN_DIGEST);
	hvt_buf_free(&b);
}

void carry_meta(struct hvt_buf *out, const uint8_t *digest, const char *name, const char *value)
{
	if (digest) {
		char hex[2 * KEYWIN_DIGEST + 1];
		hvt_hex(digest, KEYWIN_DIGEST, hex);
		hvt_buf_printf(out, "k %s\n", hex);
	}
	if (name && value)
		hvt_buf_printf(out, "p %s\t%s\n", name, value);
}

static void set_position(struct carry *c, const char *name, size_t nlen, const char *value, size_t vlen,
			 uint64_t seq)
{
	struct position *p = NULL;

	for (size_t i = 0; i < c->npos; i++)
		if (strlen(c->pos[i].name) == nlen && memcmp(c->pos[i].name, name, nlen) == 0)
			p = &c->pos[i];
	if (!p) {
		c->pos = hvt_realloc(c->pos, sizeof *c->pos * (c->npos + 1));
		p = &c->pos[c->npos++];
		p->name = hvt_strndup(name, nlen);
		p->value = NULL;
	}
	free(p->value);
	p->value = hvt_strndup(value, vlen);
	p->seq = seq;
	c->dirty = true;
}

/* One "p name\tvalue" or "k hex" line; false if it is neither. */
static bool apply_line(struct carry *c, const char *l, size_t n, uint64_t seq)
{
	if (n == 2 + 2 * KEYWIN_DIGEST && l[0] == 'k' && l[1] == ' ') {
		char hex[2 * KEYWIN_DIGEST + 1];
		uint8_t d[KEYWIN_DIGEST];
		memcpy(hex, l + 2, 2 * KEYWIN_DIGEST);
		hex[2 * KEYWIN_DIGEST] = '\0';
		if (hvt_unhex(hex, d, KEYWIN_DIGEST) < 0)
			return false;
		keywin_add(c->win, d);
		c->dirty = true;
		return true;
	}
	const char *tab = n > 2 ? memchr(l, '\t', n) : NULL;
	if (l[0] == 'p' && l[1] == ' ' && tab && tab > l + 2) {
		set_position(c, l + 2, (size_t)(tab - l - 2), tab + 1, (size_t)(l + n - tab - 1), seq);
		return true;
	}
	return false;
}

void carry_apply(struct carry *c, const char *meta, size_t len, uint64_t seq)
{
	while (len) {
		const char *nl = memchr(meta, '\n', len);
		size_t n = nl ? (size_t)(nl - meta) : len;
		if (n && !apply_line(c, meta, n, seq))
			hvt_log(LOG_WARNING, "spool record %" PRIu64 ": unknown meta '%.*s' ignored", seq,
				(int)HVT_MIN(n, 80), meta);
		meta += n + (nl ? 1 : 0);
		len -= n + (nl ? 1 : 0);
	}
}

bool carry_has_key(const struct carry *c, const uint8_t d[KEYWIN_DIGEST])
{
	return keywin_has(c->win, d);
}

void carry_add_key(struct carry *c, const uint8_t d[KEYWIN_DIGEST])
{
	keywin_add(c->win, d);
}

const char *carry_position(const struct carry *c, const char *name, uint64_t *seq)
{
	for (size_t i = 0; i < c->npos; i++)
		if (strcmp(c->pos[i].name, name) == 0) {
			if (seq)
				*seq = c->pos[i].seq;
			return c->pos[i].value;
		}
	return NULL;
}

bool carry_dirty(const struct carry *c)
{
	return c->dirty;
}

size_t carry_keys(const struct carry *c)
{
	return keywin_count(c->win);
}

/* State: STATE_MAGIC, "p <seq> <name>\t<value>\n" lines, "w <n>\n", then
 * n digests (oldest first). */
int carry_save(struct carry *c, struct hvt_spool *sp, uint64_t upto)
{
	struct hvt_buf b = { 0 };

	hvt_buf_append_str(&b, STATE_MAGIC);
	for (size_t i = 0; i < c->npos; i++)
		hvt_buf_printf(&b, "p %" PRIu64 " %s\t%s\n", c->pos[i].seq, c->pos[i].name, c->pos[i].value);
	hvt_buf_printf(&b, "w %zu\n", keywin_count(c->win));
	keywin_dump(c->win, &b);
	int rc = hvt_spool_save_state(sp, b.data, b.len, upto);
	hvt_buf_free(&b);
	if (rc == 0)
		c->dirty = false;
	return rc;
}

static bool load_state(struct carry *c, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	size_t ml = strlen(STATE_MAGIC);

	if (len < ml || memcmp(p, STATE_MAGIC, ml) != 0)
		return false;
	p += ml;
	while (p < end && *p == 'p') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned long long seq;
		int used = 0;
		if (!nl || sscanf(p, "p %llu %n", &seq, &used) != 1 || !used)
			return false;
		const char *name = p + used, *tab = memchr(name, '\t', (size_t)(nl - name));
		if (!tab)
			return false;
		set_position(c, name, (size_t)(tab - name), tab + 1, (size_t)(nl - tab - 1), seq);
		p = nl + 1;
	}
	size_t n;
	int used = 0;
	const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	if (!nl || sscanf(p, "w %zu\n%n", &n, &used) != 1 || !used || (size_t)(end - nl - 1) != n * KEYWIN_DIGEST)
		return false;
	for (const char *d = nl + 1; d < end; d += KEYWIN_DIGEST)
		keywin_add(c->win, (const uint8_t *)d);
	return true;
}

uint64_t carry_recover(struct carry *c, struct hvt_spool *sp)
{
	char *data = NULL;
	size_t len = 0;
	uint64_t upto = 0, replayed = 0;
	int rc = hvt_spool_load_state(sp, &data, &len, &upto);

	if (rc == 0 && !load_state(c, data, len)) {
		hvt_log(LOG_ERR, "the spool's state file does not parse: input positions and the idempotency "
			"window are rebuilt from the records still spooled only");
		upto = 0;
	}
	free(data);
	/* everything after the saved state is in the spool (held for us) */
	struct hvt_spool_reader *r = hvt_spool_reader_new(sp, upto + 1);
	struct hvt_spool_rec rec;
	while (hvt_spool_reader_next(r, &rec) == 1) {
		if (rec.meta_len)
			carry_apply(c, rec.meta, rec.meta_len, rec.seq);
		replayed++;
	}
	hvt_spool_reader_free(r);
	c->dirty = true;              /* saved right after recovery: the hold moves up */
	return replayed;
}
