/* journal_map_priv.h - what the mappers of journal_map.c share. */
#ifndef HVT_JOURNAL_MAP_PRIV_H
#define HVT_JOURNAL_MAP_PRIV_H

#include "journal_map.h"
#include "journal_text.h"

/* An event of this type with everything every journald event has: source,
 * ts, data.cursor, data.fields (and notes on cut/binary/dropped fields). */
struct hvt_event *jd_event_new(const struct jd_entry *e, const struct jd_map_opts *o, const char *type,
			       int severity);

/* Severity from PRIORITY (0..7), else def. */
int jd_priority(const struct jd_entry *e, int def);

/* ev->msg = the one-line form of s, cut to max bytes.  Returns true when
 * that is s verbatim. */
bool jd_set_msg(struct hvt_event *ev, const char *s, size_t len, size_t max);

/* ev->msg = the strings given (NULL-terminated list) one after the other,
 * made one safe line: a concatenation, because printf costs more than the
 * rest of mapping an entry. */
void jd_set_msg_parts(struct hvt_event *ev, ...) __attribute__((sentinel));

/* data[key] = obj (ownership passes).  key must be a string literal, added
 * once per event: json-c neither copies it nor looks for a duplicate. */
void jd_data_add(struct hvt_event *ev, const char *key, json_object *obj);

/* s as a JSON string, sanitised; *replaced counts the bytes that were not text. */
json_object *jd_json_text(const char *s, size_t len, size_t *replaced);
/* data[key] = s as a JSON string (sanitised; shared through o->cache). */
void jd_data_text(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, const char *s,
		  size_t len);
/* data[key] = the integer in s when s is a plain non-negative number, else the text. */
void jd_data_number(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, const char *s,
		    size_t len);
void jd_data_bool(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, bool v);
/* data[key] = a string literal. */
void jd_data_const(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, const char *lit);
/* data.message = MESSAGE as written (sanitised, multi-line kept). */
void jd_data_message(struct hvt_event *ev, const struct jd_entry *e);

void jd_event_set_vm(struct hvt_event *ev, const struct jd_vm_id *id);

/* Is the entry from libvirt's daemons? */
bool jd_from_libvirt(const struct jd_entry *e);

/* May the entry speak for the system: sent by root (_UID=0), or without a
 * _UID (an audit record from the kernel, or a journal imported from
 * elsewhere)?  Any local user can write a journal entry with
 * SYSLOG_IDENTIFIER=systemd-machined or a process named libvirtd; only
 * journald's _UID tells them apart, so only privileged senders' entries
 * become lifecycle events. */
bool jd_privileged(const struct jd_entry *e);

/* The mappers: NULL when the entry is not theirs. */
struct hvt_event *jd_map_virt(const struct jd_entry *e, const struct jd_map_opts *o);
struct hvt_event *jd_map_machined(const struct jd_entry *e, const struct jd_map_opts *o);
struct hvt_event *jd_map_libvirt(const struct jd_entry *e, const struct jd_map_opts *o);

#endif
