/* incident_event.c - what the incident state machines share: the list of
 * incident types, the made events, and small helpers for their data and
 * their saved state (incident.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "incident_int.h"
#include "util.h"

static const char *const types[] = {
	"colo.protection_lost", "colo.split_brain", "colo.protection_restored", "migration.failed",
};

bool incident_type(const char *type)
{
	for (size_t i = 0; type && i < HVT_ARRAY_SIZE(types); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

void incident_out_add(struct incident_out *o, struct hvt_event *ev)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 4;
		o->v = hvt_realloc(o->v, sizeof *o->v * (size_t)o->cap);
	}
	o->v[o->n++] = ev;
}

void incident_out_clear(struct incident_out *o)
{
	for (int i = 0; i < o->n; i++)
		hvt_event_free(o->v[i]);
	free(o->v);
	memset(o, 0, sizeof *o);
}

const char *inc_str(const struct incident_input *in, const char *key)
{
	json_object *v;

	if (!in->data || !json_object_object_get_ex(in->data, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

bool inc_true(const struct incident_input *in, const char *key)
{
	json_object *v;

	return in->data && json_object_object_get_ex(in->data, key, &v) && v &&
	       json_object_get_boolean(v);
}

struct hvt_event *inc_event(const char *type, int severity, const char *vm_name, const char *vm_uuid,
			    long long ts_us, long long now_us)
{
	struct hvt_event *ev = hvt_event_new(type);

	ev->severity = severity;
	ev->ts_us = ts_us ? ts_us : now_us;
	ev->received_us = now_us;
	hvt_event_set_vm(ev, vm_name && *vm_name ? vm_name : NULL, vm_uuid && *vm_uuid ? vm_uuid : NULL);
	return ev;
}

void inc_add_str(struct hvt_event *ev, const char *key, const char *value)
{
	hvt_event_data_add(ev, key, value && *value ? json_object_new_string(value) : NULL);
}

json_object *inc_str_array(const char *const *v, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++)
		if (v[i] && *v[i])
			json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* ---- saved state: flat JSON objects -------------------------------------- */

void st_put_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

void st_put_int(json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

void st_get_str(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v;

	out[0] = '\0';
	if (o && json_object_object_get_ex(o, key, &v) && v)
		hvt_strlcpy(out, json_object_get_string(v), size);
}

long long st_get_int(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}
