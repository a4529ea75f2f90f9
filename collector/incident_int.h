/* incident_int.h - helpers the incident state machines share
 * (incident_event.c); see incident.h. */
#ifndef HVT_COL_INCIDENT_INT_H
#define HVT_COL_INCIDENT_INT_H

#include "incident.h"

/* A data field of the input as text (strings as they are), or NULL. */
const char *inc_str(const struct incident_input *in, const char *key);
bool inc_true(const struct incident_input *in, const char *key);
/* A new incident event (the store sets host, stream, seq, id, prev, source). */
struct hvt_event *inc_event(const char *type, int severity, const char *vm_name, const char *vm_uuid,
			    long long ts_us, long long now_us);
/* data[key] = value, or null when value is NULL or "". */
void inc_add_str(struct hvt_event *ev, const char *key, const char *value);
/* The non-empty strings of v as a JSON array. */
json_object *inc_str_array(const char *const *v, int n);

void st_put_str(json_object *o, const char *key, const char *v);
void st_put_int(json_object *o, const char *key, long long v);
void st_get_str(json_object *o, const char *key, char *out, size_t size);
long long st_get_int(json_object *o, const char *key);

#endif
