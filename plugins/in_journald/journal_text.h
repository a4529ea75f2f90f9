/* journal_text.h - pure text helpers for the journal mapping: making
 * journal bytes safe for JSON, audit-style key=value parsing, and finding a
 * VM's name and UUID in what libvirt, machined and QEMU write. */
#ifndef HVT_JOURNAL_TEXT_H
#define HVT_JOURNAL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "util.h"

/* Append s[0..len) to out as valid UTF-8: NUL bytes and invalid sequences
 * become U+FFFD.  one_line: control characters become spaces and trailing
 * white space is dropped (for an event's msg).  Returns the number of bytes
 * replaced because they were not text (0 = the value was clean text). */
size_t jd_text_sanitize(struct hvt_buf *out, const char *s, size_t len, bool one_line);

/* Printable ASCII only (the common case, which needs no sanitising)? */
bool jd_text_plain(const char *s, size_t len);

/* Cut a valid UTF-8 string to at most max bytes on a character boundary. */
size_t jd_text_cut(const char *s, size_t len, size_t max);

/* 36 characters, 8-4-4-4-12 hex digits. */
bool jd_uuid_valid(const char *s, size_t len);

/* ---- key=value records (audit messages, libvirt's audit log lines) ---- */
#define JD_KV_MAX 32

struct jd_kv {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
	bool quoted;
};

struct jd_kvset {
	struct jd_kv kv[JD_KV_MAX];
	size_t n;
};

/* Parse space-separated key=value pairs; values may be "double" or 'single'
 * quoted (quotes stripped).  Pointers point into text.  At most JD_KV_MAX
 * pairs; tokens without '=' are skipped. */
void jd_kv_parse(const char *text, size_t len, struct jd_kvset *out);
const struct jd_kv *jd_kv_getn(const struct jd_kvset *s, const char *key, size_t klen);
#define jd_kv_get(s, key) jd_kv_getn((s), (key), strlen(key))
bool jd_kv_is(const struct jd_kvset *s, const char *key, const char *value);

/* The part of an audit user message libvirt wrote: inside msg='...'.  When
 * there is no msg='...' the whole text is returned. */
void jd_audit_user_part(const char *text, size_t len, const char **part, size_t *plen);

/* An audit value as written by audit_encode_nv_string(): "quoted" text, or
 * (when it had to be encoded) bare hex.  may_be_number: the key may also
 * hold a bare decimal number, which is then left alone.  Decodes into buf
 * (NUL-terminated, may hold any bytes); returns the length, cut to size-1. */
size_t jd_audit_value(const struct jd_kv *kv, bool may_be_number, char *buf, size_t size);

/* ---- VM identity found in text ---------------------------------------- */
struct jd_vm_id {
	char name[256];         /* "" = not found */
	char uuid[37];          /* lower case, "" = not found */
};

/* libvirt's messages: name='X', (vm='X'), domain 'X', matching name 'X',
 * of domain X; uuid=U, uuid 'U'. */
void jd_vm_from_libvirt_text(const char *text, size_t len, struct jd_vm_id *id);
/* A QEMU command line: -name guest=X,... or -name X; -uuid U. */
void jd_vm_from_qemu_cmdline(const char *cmdline, size_t len, struct jd_vm_id *id);
/* systemd-machined's machine name for a libvirt guest, "qemu-<id>-<name>"
 * (or lxc-): the name part, else the whole machine name. */
void jd_vm_from_machine_name(const char *machine, size_t len, struct jd_vm_id *id);
/* Store a name/UUID if acceptable (bounded, printable, UUID well-formed). */
void jd_vm_set_name(struct jd_vm_id *id, const char *s, size_t len);
void jd_vm_set_uuid(struct jd_vm_id *id, const char *s, size_t len);

#endif
