/* journal_jcache.c - see journal_jcache.h. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal_jcache.h"
#include "util.h"

struct slot {
	const void *tag;
	size_t len;
	char value[JD_JCACHE_VALUE_MAX];
	json_object *obj;               /* the cache's reference; NULL = empty */
};

struct jd_jcache {
	struct slot slot[JD_JCACHE_SLOTS];
	json_object *yes, *no;
};

struct jd_jcache *jd_jcache_new(void)
{
	struct jd_jcache *c = hvt_calloc(1, sizeof *c);

	c->yes = json_object_new_boolean(1);
	c->no = json_object_new_boolean(0);
	return c;
}

void jd_jcache_free(struct jd_jcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < JD_JCACHE_SLOTS; i++)
		json_object_put(c->slot[i].obj);
	json_object_put(c->yes);
	json_object_put(c->no);
	free(c);
}

static size_t slot_of(const void *tag, const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)tag;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29)) & (JD_JCACHE_SLOTS - 1);
}

json_object *jd_jcache_string(struct jd_jcache *c, const void *tag, const char *s, size_t len)
{
	if (!c || len > JD_JCACHE_VALUE_MAX)
		return json_object_new_string_len(s, (int)len);
	struct slot *sl = &c->slot[slot_of(tag, s, len)];
	if (sl->obj && sl->tag == tag && sl->len == len && memcmp(sl->value, s, len) == 0)
		return json_object_get(sl->obj);
	/* a miss replaces whatever was there: values that keep changing (PIDs,
	 * audit ids) just cost one slot */
	json_object_put(sl->obj);
	sl->obj = json_object_new_string_len(s, (int)len);
	sl->tag = tag;
	sl->len = len;
	memcpy(sl->value, s, len);
	return json_object_get(sl->obj);
}

json_object *jd_jcache_bool(struct jd_jcache *c, bool v)
{
	if (!c)
		return json_object_new_boolean(v);
	return json_object_get(v ? c->yes : c->no);
}
