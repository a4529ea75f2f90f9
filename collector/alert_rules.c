/* alert_rules.c - see alert_rules.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_rules.h"
#include "event.h"
#include "hash.h"
#include "timefmt.h"
#include "util.h"

const char *const alert_decision_names[] = { "fired", "deduplicated", "rate_limited" };

/* ---- the event as rules see it ------------------------------------------ */

json_object *alert_json_parse(const char *text, size_t len)
{
	/* max_json_depth allows up to 1000; the alert document adds one level */
	json_tokener *tok = json_tokener_new_ex(1001);
	json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;

	if (o && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	if (tok)
		json_tokener_free(tok);
	return o;
}

json_object *alert_view_data(struct alert_view *v)
{
	if (!v->parsed && v->raw) {
		v->parsed = true;
		v->root = alert_json_parse(v->raw, v->raw_len);
		if (v->root && !json_object_object_get_ex(v->root, "data", &v->data))
			v->data = NULL;
	}
	return v->data;
}

void alert_view_free(struct alert_view *v)
{
	if (v->root)
		json_object_put(v->root);
	v->root = v->data = NULL;
	v->parsed = false;
}

/* ---- parsing ------------------------------------------------------------- */

int alert_rate_parse(const char *s, int *n, long long *period_ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v < 1 || v > 1000000 || *end != '/' ||
	    hvt_parse_duration_ms(end + 1, period_ms) < 0 || *period_ms <= 0)
		return -1;
	*n = (int)v;
	return 0;
}

static bool parse_match(const char *item, struct alert_match *m)
{
	const char *eq = strchr(item, '=');

	if (!eq || eq == item)
		return false;
	m->negate = eq[-1] == '!';
	const char *kend = m->negate ? eq - 1 : eq;
	if (kend == item)
		return false;
	m->path = hvt_strndup(item, (size_t)(kend - item));
	m->glob = hvt_strdup(eq + 1);
	/* "data.side" and "side" mean the same field */
	if (hvt_str_has_prefix(m->path, "data.")) {
		char *p = hvt_strdup(m->path + 5);
		free(m->path);
		m->path = p;
	}
	hvt_str_trim(m->path);
	return *m->path != '\0';
}

/* "webhook:pager" -> "act_webhook:pager"; section names as written stay. */
static char *action_name(const char *item)
{
	return hvt_str_has_prefix(item, "act_") ? hvt_strdup(item) : hvt_asprintf("act_%s", item);
}

static void parse_actions(struct alert_rule *r, const struct hvt_conf_section *s,
			  const struct hvt_conf_key *k)
{
	char **list = hvt_conf_list(s, k, "actions", &r->nactions);

	r->actions = hvt_calloc((size_t)r->nactions + 1, sizeof(char *));
	for (int i = 0; i < r->nactions; i++)
		r->actions[i] = action_name(list[i]);
	hvt_conf_list_free(list);
}

static bool parse_filters(struct hvt_conf *c, struct alert_rule *r, const struct hvt_conf_section *s,
			  const struct hvt_conf_key *k)
{
	char buf[300];
	bool ok = true;

	r->types = hvt_conf_list(s, k, "type", &r->ntypes);
	r->sources = hvt_conf_list(s, k, "source", &r->nsources);
	r->host = hvt_strdup(hvt_conf_str(s, k, "host"));
	const char *vm = hvt_conf_str(s, k, "vm");
	r->vm = *vm ? hvt_strdup(vm) : NULL;
	char **m = hvt_conf_list(s, k, "match", &r->nmatch);
	r->match = hvt_calloc((size_t)r->nmatch + 1, sizeof *r->match);
	for (int i = 0; i < r->nmatch; i++)
		if (!parse_match(m[i], &r->match[i])) {
			hvt_conf_error(c, s->file, s->line, "[%s] match: '%s' is not FIELD=GLOB or FIELD!=GLOB "
				       "(%s)", s->name, m[i], hvt_conf_where(s, "match", buf, sizeof buf));
			ok = false;
		}
	hvt_conf_list_free(m);
	const char *sev = hvt_conf_str(s, k, "severity");
	r->max_severity = *sev ? hvt_severity_parse(sev) : 7;
	if (r->max_severity < 0) {
		hvt_conf_error(c, s->file, s->line, "[%s] severity: '%s' is none of emerg, alert, crit, err, "
			       "warning, notice, info, debug", s->name, sev);
		ok = false;
	}
	return ok;
}

static bool parse_limits(struct hvt_conf *c, struct alert_rule *r, const struct hvt_conf_section *s,
			 const struct hvt_conf_key *k)
{
	r->dedup_ms = hvt_conf_duration_ms(s, k, "dedup_window");
	r->expire_ms = hvt_conf_duration_ms(s, k, "expire");
	r->silent_ms = hvt_conf_duration_ms(s, k, "silent_after");
	const char *rate = hvt_conf_str(s, k, "rate_limit");
	if (*rate && alert_rate_parse(rate, &r->rate_n, &r->rate_ms) < 0) {
		hvt_conf_error(c, s->file, s->line, "[%s] rate_limit: expected N/PERIOD like 10/1m, got '%s'",
			       s->name, rate);
		return false;
	}
	if (r->rate_n)
		r->ring = hvt_calloc((size_t)r->rate_n, sizeof *r->ring);
	const char *sum = hvt_conf_str(s, k, "summary");
	r->summary = *sum ? hvt_strdup(sum) : NULL;
	r->group_wait_ms = hvt_conf_duration_ms(s, k, "group_wait");
	r->group_interval_ms = hvt_conf_duration_ms(s, k, "group_interval");
	return true;
}

static bool group_label_ok(const char *l)
{
	return !strcmp(l, "host") || !strcmp(l, "vm") || !strcmp(l, "type") || !strcmp(l, "source") ||
	       (hvt_str_has_prefix(l, "data.") && l[5]);
}

static bool parse_lifecycle(struct hvt_conf *c, struct alert_rule *r, const struct hvt_conf_section *s,
			    const struct hvt_conf_key *k)
{
	bool ok = true;

	r->group_by = hvt_conf_list(s, k, "group_by", &r->ngroup_by);
	for (int i = 0; i < r->ngroup_by; i++)
		if (!group_label_ok(r->group_by[i])) {
			hvt_conf_error(c, s->file, s->line, "[%s] group_by: '%s' is none of host, vm, type, source, "
				       "data.FIELD", s->name, r->group_by[i]);
			ok = false;
		}
	r->resolve = hvt_conf_list(s, k, "resolve", &r->nresolve);
	r->inhibited_by = hvt_conf_list(s, k, "inhibited_by", &r->ninhibited_by);
	for (int i = 0; i < r->ninhibited_by; i++)
		if (!strcmp(r->inhibited_by[i], r->name)) {
			hvt_conf_error(c, s->file, s->line, "[%s] inhibited_by: a rule cannot mute itself", s->name);
			ok = false;
		}
	return ok;
}

struct alert_rule *alert_rule_parse(struct hvt_conf *c, const struct hvt_conf_section *s,
				    const struct hvt_conf_key *k)
{
	struct alert_rule *r = hvt_calloc(1, sizeof *r);
	bool ok;

	r->name = hvt_strdup(s->label);
	snprintf(r->where, sizeof r->where, "%s:%d", s->file, s->line);
	if (!*s->label) {
		hvt_conf_error(c, s->file, s->line, "[alert] needs a name: [alert:NAME]");
		alert_rule_free(r);
		return NULL;
	}
	ok = parse_filters(c, r, s, k);
	ok = parse_limits(c, r, s, k) && ok;
	ok = parse_lifecycle(c, r, s, k) && ok;
	parse_actions(r, s, k);
	if (r->silent_ms && (r->ntypes || r->vm || r->nmatch)) {
		hvt_conf_error(c, s->file, s->line, "[%s]: a host-silence rule (silent_after) watches hosts, not "
			       "events: it takes no type, vm or match", s->name);
		ok = false;
	} else if (!r->silent_ms && !r->ntypes) {
		hvt_conf_error(c, s->file, s->line, "[%s]: the rule fires on nothing: set type (event type "
			       "globs) or silent_after", s->name);
		ok = false;
	}
	if (!ok) {
		alert_rule_free(r);
		return NULL;
	}
	return r;
}

void alert_rule_free(struct alert_rule *r)
{
	if (!r)
		return;
	free(r->name);
	hvt_conf_list_free(r->types);
	hvt_conf_list_free(r->sources);
	hvt_conf_list_free(r->group_by);
	hvt_conf_list_free(r->resolve);
	hvt_conf_list_free(r->inhibited_by);
	free(r->host);
	free(r->vm);
	for (int i = 0; r->match && i < r->nmatch; i++) {
		free(r->match[i].path);
		free(r->match[i].glob);
	}
	free(r->match);
	hvt_conf_list_free(r->actions);
	free(r->summary);
	free(r->ring);
	for (size_t i = 0; i < r->ndedup; i++)
		free(r->dedup[i].key);
	free(r->dedup);
	free(r);
}

/* ---- matching ------------------------------------------------------------ */

bool alert_rule_is_silence(const struct alert_rule *r)
{
	return r->silent_ms > 0;
}

static const char json_null[] = "null";

/* A data field as text: strings as they are, other scalars as JSON. */
static const char *field_text(json_object *data, const char *path, char *buf, size_t size)
{
	json_object *o = data;
	const char *p = path;

	if (!data)
		return NULL;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!o || n >= size || !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (!json_object_object_get_ex(o, buf, &o))
			return NULL;
		p = dot ? dot + 1 : p + n;
	}
	if (!o)
		return json_null;   /* json-c holds a JSON null as NULL */
	if (json_object_is_type(o, json_type_string))
		return json_object_get_string(o);
	if (json_object_is_type(o, json_type_array) && json_object_array_length(o) &&
	    json_object_is_type(json_object_array_get_idx(o, 0), json_type_string)) {
		/* a list of names (an incident's hosts): "a, b" */
		size_t used = 0;
		buf[0] = '\0';
		for (size_t i = 0; i < json_object_array_length(o) && used + 3 < size; i++) {
			const char *t = json_object_get_string(json_object_array_get_idx(o, i));
			used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", t ? t : "");
		}
		return buf;
	}
	hvt_strlcpy(buf, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), size);
	return buf;
}

static bool match_holds(const struct alert_match *m, struct alert_view *v)
{
	char buf[512];
	const char *t = field_text(alert_view_data(v), m->path, buf, sizeof buf);
	bool eq = t && hvt_glob_match(m->glob, t);

	return m->negate ? !eq : eq;
}

bool alert_rule_type_matches(const struct alert_rule *r, const char *type)
{
	if (alert_rule_is_silence(r) || !type)
		return false;
	for (int i = 0; i < r->ntypes; i++)
		if (hvt_glob_match(r->types[i], type))
			return true;
	return false;
}

bool alert_rule_matches(const struct alert_rule *r, struct alert_view *v)
{
	return alert_rule_type_matches(r, v->type) && alert_rule_rest_matches(r, v);
}

/* An incident involves several hosts: any of them will do. */
static bool host_matches(const struct alert_rule *r, struct alert_view *v)
{
	json_object *hosts, *data;

	if (hvt_glob_match(r->host, v->host))
		return true;
	if (!v->incident || !(data = alert_view_data(v)) || !json_object_object_get_ex(data, "hosts", &hosts) ||
	    !json_object_is_type(hosts, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(hosts); i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(hosts, i));
		if (h && hvt_glob_match(r->host, h))
			return true;
	}
	return false;
}

static bool source_matches(const struct alert_rule *r, const struct alert_view *v)
{
	if (!r->nsources)
		return true;
	for (int i = 0; i < r->nsources; i++)
		if (v->source && hvt_glob_match(r->sources[i], v->source))
			return true;
	return false;
}

bool alert_rule_rest_matches(const struct alert_rule *r, struct alert_view *v)
{
	if (!v->host || !host_matches(r, v) || v->severity > r->max_severity || !source_matches(r, v))
		return false;
	if (r->vm && !((v->vm_name && hvt_glob_match(r->vm, v->vm_name)) ||
		       (v->vm_uuid && hvt_glob_match(r->vm, v->vm_uuid))))
		return false;
	for (int i = 0; i < r->nmatch; i++)
		if (!match_holds(&r->match[i], v))
			return false;
	return true;
}

char *alert_dedup_key(const struct alert_view *v)
{
	/* \x1f cannot occur in validated host, VM or type strings' meaning */
	return hvt_asprintf("%s\x1f%s\x1f%s", v->host ? v->host : "",
			    v->vm_uuid ? v->vm_uuid : v->vm_name ? v->vm_name : "", v->type ? v->type : "");
}

/* ---- dedup window and rate limit ----------------------------------------- */

static struct dedup_entry *dedup_find(struct alert_rule *r, const char *key, long long now_ms)
{
	struct dedup_entry *hit = NULL;

	/* drop entries whose window has passed while looking: the table holds
	 * only keys that fired within one window */
	for (size_t i = 0; i < r->ndedup;) {
		struct dedup_entry *e = &r->dedup[i];
		if (now_ms - e->t_ms >= r->dedup_ms && strcmp(e->key, key) != 0) {
			free(e->key);
			*e = r->dedup[--r->ndedup];
			continue;
		}
		if (strcmp(e->key, key) == 0)
			hit = e;
		i++;
	}
	return hit;
}

static void dedup_note(struct alert_rule *r, const char *key, long long t_ms)
{
	struct dedup_entry *e = dedup_find(r, key, t_ms);

	if (!e) {
		if (r->ndedup == r->cap_dedup) {
			r->cap_dedup = r->cap_dedup ? r->cap_dedup * 2 : 8;
			r->dedup = hvt_realloc(r->dedup, r->cap_dedup * sizeof *r->dedup);
		}
		e = &r->dedup[r->ndedup++];
		e->key = hvt_strdup(key);
	}
	e->t_ms = t_ms;
}

static bool rate_allows(const struct alert_rule *r, long long now_ms)
{
	return r->ring_n < r->rate_n || now_ms - r->ring[r->ring_head] >= r->rate_ms;
}

static void rate_note(struct alert_rule *r, long long t_ms)
{
	if (r->ring_n < r->rate_n) {
		r->ring[(r->ring_head + r->ring_n++) % r->rate_n] = t_ms;
		return;
	}
	r->ring[r->ring_head] = t_ms;       /* replaces the oldest */
	r->ring_head = (r->ring_head + 1) % r->rate_n;
}

void alert_rule_note_fired(struct alert_rule *r, const char *dkey, long long t_ms)
{
	if (r->dedup_ms && dkey)
		dedup_note(r, dkey, t_ms);
	if (r->rate_n)
		rate_note(r, t_ms);
	r->suppressed = 0;
}

enum alert_decision alert_rule_decide(struct alert_rule *r, const char *dkey, long long now_ms)
{
	if (r->dedup_ms && dkey) {
		struct dedup_entry *e = dedup_find(r, dkey, now_ms);
		if (e && now_ms - e->t_ms < r->dedup_ms) {
			r->suppressed++;
			return ALERT_DEDUP;
		}
	}
	if (r->rate_n && !rate_allows(r, now_ms)) {
		r->suppressed++;
		return ALERT_RATE;
	}
	alert_rule_note_fired(r, dkey, now_ms);
	return ALERT_FIRE;
}

/* ---- summary ------------------------------------------------------------- */

/* The event's own line (msg). */
static const char *view_msg(struct alert_view *v)
{
	json_object *m;

	alert_view_data(v);
	return v->root && json_object_object_get_ex(v->root, "msg", &m) && m ? json_object_get_string(m) : NULL;
}

static void put_field(struct hvt_buf *b, const struct alert_rule *r, struct alert_view *v, const char *name,
		      const char *alert_id)
{
	char buf[512];
	const char *t = NULL;

	if (!strcmp(name, "host"))
		t = v->host;
	else if (!strcmp(name, "vm"))
		t = v->vm_name ? v->vm_name : v->vm_uuid;
	else if (!strcmp(name, "type"))
		t = v->type;
	else if (!strcmp(name, "rule"))
		t = r->name;
	else if (!strcmp(name, "id"))
		t = alert_id;
	else if (!strcmp(name, "severity"))
		t = hvt_severity_name(v->severity);
	else if (!strcmp(name, "time") && v->ts_us)
		hvt_format_rfc3339(v->ts_us, buf, sizeof buf), t = buf;
	else if (!strcmp(name, "msg"))
		t = view_msg(v);
	else if (hvt_str_has_prefix(name, "data."))
		t = field_text(alert_view_data(v), name + 5, buf, sizeof buf);
	/* absent, empty, null and [] say "-" */
	hvt_buf_append_str(b, t && *t && t != json_null && strcmp(t, "[]") != 0 ? t : "-");
}

char *alert_summary(const struct alert_rule *r, struct alert_view *v, const char *alert_id)
{
	struct hvt_buf b = { 0 };
	const char *vm = v->vm_name ? v->vm_name : v->vm_uuid;

	if (!r->summary) {
		hvt_buf_printf(&b, "%s on %s", v->type ? v->type : "?", v->host ? v->host : "?");
		if (vm)
			hvt_buf_printf(&b, ": VM %s", vm);
		return b.data;
	}
	for (const char *p = r->summary; *p;) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (close && close - p < 128) {
			char *name = hvt_strndup(p + 1, (size_t)(close - p - 1));
			put_field(&b, r, v, name, alert_id);
			free(name);
			p = close + 1;
			continue;
		}
		hvt_buf_append(&b, p, 1);
		p++;
	}
	if (!b.data)
		hvt_buf_append_str(&b, "");
	/* one line: events may carry newlines in their data */
	for (char *q = b.data; *q; q++)
		if (*q == '\n' || *q == '\r' || *q == '\t')
			*q = ' ';
	return b.data;
}

/* ---- the alert a match belongs to ---------------------------------------- */

bool alert_rule_resolves(const struct alert_rule *r, const char *type)
{
	for (int i = 0; type && i < r->nresolve; i++)
		if (hvt_glob_match(r->resolve[i], type))
			return true;
	return false;
}

bool alert_rule_one_shot(const struct alert_rule *r)
{
	return !r->nresolve && !alert_rule_is_silence(r);
}

json_object *alert_group_labels(const struct alert_rule *r, struct alert_view *v)
{
	json_object *o = json_object_new_object();
	char buf[512];

	for (int i = 0; i < r->ngroup_by; i++) {
		const char *l = r->group_by[i], *t = NULL;
		if (!strcmp(l, "host"))
			t = v->host;
		else if (!strcmp(l, "vm"))
			t = v->vm_uuid && *v->vm_uuid ? v->vm_uuid : v->vm_name;
		else if (!strcmp(l, "type"))
			t = v->type;
		else if (!strcmp(l, "source"))
			t = v->source;
		else if (hvt_str_has_prefix(l, "data."))
			t = field_text(alert_view_data(v), l + 5, buf, sizeof buf);
		json_object_object_add(o, l, json_object_new_string(t && t != json_null ? t : ""));
	}
	return o;
}

void alert_group_key(const struct alert_rule *r, json_object *labels, char out[17])
{
	struct hvt_buf b = { 0 };
	char hash[HVT_SHA256_HEX];

	/* \x1f cannot occur in a rule name and separates the values */
	hvt_buf_printf(&b, "%s", r->name);
	json_object_object_foreach(labels, k, val)
		hvt_buf_printf(&b, "\x1f%s=%s", k, json_object_get_string(val));
	hvt_sha256_hex(b.data, b.len, hash);
	memcpy(out, hash, 16);
	out[16] = '\0';
	hvt_buf_free(&b);
}
