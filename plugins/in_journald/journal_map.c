/* journal_map.c - dispatch to the mappers, the journal.message fallback, and
 * what every journald event carries (see journal_map.h). */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "journal_map_priv.h"

void jd_map_opts_default(struct jd_map_opts *o)
{
	o->libvirt_audit_events = true;
	o->max_msg = JD_MSG_MAX_DEFAULT;
	o->cache = NULL;
}

int jd_priority(const struct jd_entry *e, int def)
{
	const struct jd_field *f = jd_get(e, JD_PRIORITY);

	if (f && f->len == 1 && f->value[0] >= '0' && f->value[0] <= '7')
		return f->value[0] - '0';
	return def;
}

bool jd_set_msg(struct hvt_event *ev, const char *s, size_t len, size_t max)
{
	struct hvt_buf b = { 0 };

	free(ev->msg);
	if (len <= max && jd_text_plain(s, len)) {
		ev->msg = hvt_strndup(s, len);
		return true;
	}
	size_t bad = jd_text_sanitize(&b, s, len, true);
	size_t n = jd_text_cut(b.data, b.len, max);

	ev->msg = hvt_strndup(b.data, n);
	bool verbatim = !bad && n == len && memcmp(b.data, s, len) == 0;
	hvt_buf_free(&b);
	return verbatim;
}

void jd_set_msg_parts(struct hvt_event *ev, ...)
{
	char buf[JD_MSG_MAX_DEFAULT];
	size_t n = 0;
	va_list ap;

	va_start(ap, ev);
	for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
		size_t l = strlen(p);
		if (l > sizeof buf - n)
			l = sizeof buf - n;
		memcpy(buf + n, p, l);
		n += l;
	}
	va_end(ap);
	jd_set_msg(ev, buf, n, sizeof buf);
}

void jd_data_add(struct hvt_event *ev, const char *key, json_object *obj)
{
	if (!ev->data)
		ev->data = json_object_new_object();
	/* Constant keys are not copied: they are literals of this plugin, which
	 * stays loaded for the life of the process (lib/plugin.c). */
	json_object_object_add_ex(ev->data, key, obj, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

json_object *jd_json_text(const char *s, size_t len, size_t *replaced)
{
	struct hvt_buf b = { 0 };
	json_object *o;

	*replaced = 0;
	if (jd_text_plain(s, len))
		return json_object_new_string_len(s, (int)len);
	*replaced = jd_text_sanitize(&b, s, len, false);
	o = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
	hvt_buf_free(&b);
	return o;
}

void jd_data_text(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, const char *s,
		  size_t len)
{
	size_t bad;

	if (o->cache && len <= JD_JCACHE_VALUE_MAX && jd_text_plain(s, len))
		jd_data_add(ev, key, jd_jcache_string(o->cache, key, s, len));
	else
		jd_data_add(ev, key, jd_json_text(s, len, &bad));
}

void jd_data_bool(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, bool v)
{
	jd_data_add(ev, key, jd_jcache_bool(o->cache, v));
}

void jd_data_const(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, const char *lit)
{
	jd_data_add(ev, key, jd_jcache_string(o->cache, key, lit, strlen(lit)));
}

void jd_data_number(struct hvt_event *ev, const struct jd_map_opts *o, const char *key, const char *s,
		    size_t len)
{
	unsigned long long v = 0;
	size_t i = 0;

	for (; i < len && i < 18 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (len && i == len)
		jd_data_add(ev, key, json_object_new_int64((int64_t)v));
	else
		jd_data_text(ev, o, key, s, len);
}

void jd_data_message(struct hvt_event *ev, const struct jd_entry *e)
{
	const struct jd_field *m = jd_get(e, JD_MESSAGE);
	size_t bad;

	if (m)
		jd_data_add(ev, "message", jd_json_text(m->value, m->len, &bad));
}

void jd_event_set_vm(struct hvt_event *ev, const struct jd_vm_id *id)
{
	hvt_event_set_vm(ev, id->name[0] ? id->name : NULL, id->uuid[0] ? id->uuid : NULL);
}

bool jd_from_libvirt(const struct jd_entry *e)
{
	return jd_is(e, JD_COMM, "libvirtd") || jd_is(e, JD_COMM, "virtqemud") ||
	       jd_get(e, JD_LIBVIRT_SOURCE) != NULL;
}

bool jd_privileged(const struct jd_entry *e)
{
	return !jd_get(e, JD_UID) || jd_is(e, JD_UID, "0");
}

/* A repeated journal field becomes an array of its values. */
static void fields_put(json_object *fields, const struct jd_field *f, json_object *v, bool may_repeat)
{
	const char *name = f->name;
	json_object *old;

	if (!may_repeat) {
		json_object_object_add_ex(fields, name, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
					  (f->name_static ? JSON_C_OBJECT_KEY_IS_CONSTANT : 0));
		return;
	}
	if (!json_object_object_get_ex(fields, name, &old)) {
		json_object_object_add(fields, name, v);
		return;
	}
	if (!json_object_is_type(old, json_type_array)) {
		json_object *arr = json_object_new_array();
		json_object_array_add(arr, json_object_get(old));
		json_object_object_add(fields, name, arr);
		old = arr;
	}
	json_object_array_add(old, v);
}

/* Carried values stop at this many bytes per event, so that an event with
 * fields = * stays below the forwarder's max_event_size (64K by default),
 * beyond which the forwarder would replace all of data, cursor included. */
#define FIELDS_BUDGET (32u << 10)

/* One carried field as a JSON string: shared through the cache when its
 * name is interned and its value short plain text. */
static json_object *field_value(const struct jd_field *f, const struct jd_map_opts *o, size_t *bad)
{
	*bad = 0;
	if (f->name_static && f->len <= JD_JCACHE_VALUE_MAX && jd_text_plain(f->value, f->len))
		return jd_jcache_string(o->cache, f->name, f->value, f->len);
	return jd_json_text(f->value, f->len, bad);
}

/* data.fields, and a note for every value that was cut, was not text, or
 * did not fit. */
static void add_fields(struct hvt_event *ev, const struct jd_entry *e, const struct jd_map_opts *o)
{
	json_object *fields = NULL, *cut = NULL, *binary = NULL;
	size_t used = 0, over = 0;

	for (size_t i = 0; i < e->n; i++) {
		const struct jd_field *f = &e->f[i];
		size_t bad;
		if (!f->carried)
			continue;
		if (used + f->len > FIELDS_BUDGET) {
			over++;
			continue;
		}
		used += f->len;
		if (!fields)
			fields = json_object_new_object();
		fields_put(fields, f, field_value(f, o, &bad), e->repeated);
		if (f->orig_len > f->len) {
			if (!cut)
				cut = json_object_new_object();
			json_object_object_add(cut, f->name, json_object_new_int64((int64_t)f->orig_len));
		}
		if (bad) {
			if (!binary)
				binary = json_object_new_array();
			json_object_array_add(binary, json_object_new_string(f->name));
		}
	}
	if (fields)
		jd_data_add(ev, "fields", fields);
	if (cut)
		jd_data_add(ev, "truncated_fields", cut);
	if (binary)
		jd_data_add(ev, "binary_fields", binary);
	if (e->dropped + over)
		jd_data_add(ev, "dropped_fields", json_object_new_int64((int64_t)(e->dropped + over)));
}

struct hvt_event *jd_event_new(const struct jd_entry *e, const struct jd_map_opts *o, const char *type,
			       int severity)
{
	struct hvt_event *ev = hvt_event_new(type);

	ev->severity = severity;
	ev->source = hvt_strdup("journald");
	ev->ts_us = e->realtime_us;
	if (e->cursor)
		jd_data_add(ev, "cursor", json_object_new_string(e->cursor));
	add_fields(ev, e, o);
	return ev;
}

static void message_vm(const struct jd_entry *e, struct jd_vm_id *id)
{
	const struct jd_field *m = jd_get(e, JD_MESSAGE), *cmd = jd_get(e, JD_CMDLINE);

	if (jd_from_libvirt(e) && m)
		jd_vm_from_libvirt_text(m->value, m->len, id);
	else if (cmd && jd_get(e, JD_COMM) && strncmp(jd_get(e, JD_COMM)->value, "qemu", 4) == 0)
		jd_vm_from_qemu_cmdline(cmd->value, cmd->len, id);
}

/* Anything matched that has no meaning of its own: the message as it is. */
static struct hvt_event *map_message(const struct jd_entry *e, const struct jd_map_opts *o)
{
	struct hvt_event *ev = jd_event_new(e, o, "journal.message", jd_priority(e, 6));
	const struct jd_field *m = jd_get(e, JD_MESSAGE);
	struct jd_vm_id id = { "", "" };

	if (m) {
		if (!jd_set_msg(ev, m->value, m->len, o->max_msg) || m->orig_len > m->len)
			jd_data_message(ev, e);         /* msg could not hold it verbatim */
		if (m->orig_len > m->len)
			jd_data_add(ev, "message_bytes", json_object_new_int64((int64_t)m->orig_len));
	} else {
		hvt_event_set_msg(ev, "journal entry without a MESSAGE");
	}
	message_vm(e, &id);
	jd_event_set_vm(ev, &id);
	return ev;
}

struct hvt_event *jd_map(const struct jd_entry *e, const struct jd_map_opts *o)
{
	struct hvt_event *ev;

	if ((ev = jd_map_virt(e, o)) || (ev = jd_map_machined(e, o)) || (ev = jd_map_libvirt(e, o)))
		return ev;
	return map_message(e, o);
}
