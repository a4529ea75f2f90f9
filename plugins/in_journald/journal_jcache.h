/* journal_jcache.h - shared, immutable JSON values for the mapping.
 *
 * Most of what an event carries repeats from entry to entry: _COMM=libvirtd,
 * _TRANSPORT=audit, record "audit", reason "start", true.  json-c values are
 * reference counted, so an event can hold a reference to one shared string
 * instead of a fresh copy: fewer allocations per entry, which is where the
 * mapping spends its time (bench/journald_read).
 *
 * Not thread-safe, and json-c's reference counts are not atomic: the cache
 * and every event holding its values must be used and freed on one thread
 * (the forwarder's input loop, which also spools and frees the events). */
#ifndef HVT_JOURNAL_JCACHE_H
#define HVT_JOURNAL_JCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#define JD_JCACHE_SLOTS 512
#define JD_JCACHE_VALUE_MAX 48      /* longer values are not worth keeping */

struct jd_jcache;

struct jd_jcache *jd_jcache_new(void);
/* Drops the cache's references; values still held by events live on. */
void jd_jcache_free(struct jd_jcache *c);

/* A JSON string of s[0..len) (which the caller has made valid text), new
 * reference.  tag tells values of different fields apart and must be a
 * pointer that lives as long as the cache (an interned field name, a
 * literal).  Without a cache (c == NULL) or for long values, a new string. */
json_object *jd_jcache_string(struct jd_jcache *c, const void *tag, const char *s, size_t len);
json_object *jd_jcache_bool(struct jd_jcache *c, bool v);

#endif
