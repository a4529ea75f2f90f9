/* alert_notify.c - the engine side of pages (alert_page.h): fired decisions
 * join their alert, events resolve members, silences and inhibition mute
 * them, and what page_plan() decides becomes a notification with one
 * delivery per action, written with its alert.* event in the caller's
 * transaction (so a notification is decided exactly once, and delivered
 * until done, across crashes).  Called under al->mx. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_page.h"
#include "alert_silence.h"
#include "alerts_int.h"
#include "hash.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

#define SUMMARY_NAMES 5           /* other members named in a page's summary */

/* What mutes members right now: the silences in effect and the open
 * alerts of rules others name in inhibited_by.  Loaded once per
 * transaction; a notification of an inhibiting rule drops it. */
struct mute_ctx {
	bool loaded;
	json_object *silences;
	json_object *sources;
};

struct mute_arg {
	struct alerts *al;
	const struct alert_rule *r;
};

static bool is_source(const struct alerts *al, const char *rule)
{
	for (int i = 0; i < al->nrules; i++)
		for (int j = 0; j < al->rules[i]->ninhibited_by; j++)
			if (!strcmp(al->rules[i]->inhibited_by[j], rule))
				return true;
	return false;
}

void alert_mute_reset(struct alerts *al)
{
	if (!al->mctx)
		return;
	json_object_put(al->mctx->silences);
	json_object_put(al->mctx->sources);
	free(al->mctx);
	al->mctx = NULL;
}

static int add_json(void *arg, const char *json)
{
	json_object *o = alert_json_parse(json, strlen(json));

	if (o)
		json_object_array_add(arg, o);
	return 0;
}

static struct mute_ctx *mutes(struct alerts *al, long long now_us)
{
	if (al->mctx)
		return al->mctx;
	struct mute_ctx *m = hvt_calloc(1, sizeof *m);
	m->silences = json_object_new_array();
	m->sources = json_object_new_array();
	alert_store_silences_active(al->store, now_us, add_json, m->silences);
	for (int i = 0; i < al->nrules; i++)
		if (is_source(al, al->rules[i]->name))
			alert_store_pages_open(al->store, al->rules[i]->name, add_json, m->sources);
	m->loaded = true;
	al->mctx = m;
	return m;
}

static bool names(const struct alert_rule *r, const char *rule)
{
	for (int i = 0; rule && i < r->ninhibited_by; i++)
		if (!strcmp(r->inhibited_by[i], rule))
			return true;
	return false;
}

/* Does member (of page) involve host h? */
static bool involves(json_object *member, const char *h)
{
	json_object *hosts;
	const char *mh = page_str(member, "host");

	if (mh && !strcmp(mh, h))
		return true;
	if (json_object_object_get_ex(member, "hosts", &hosts) && json_object_is_type(hosts, json_type_array))
		for (size_t i = 0; i < json_object_array_length(hosts); i++)
			if (!strcmp(json_object_get_string(json_object_array_get_idx(hosts, i)), h))
				return true;
	return false;
}

static bool same_vm(json_object *a, json_object *b)
{
	const char *au = page_str(a, "vm_uuid"), *bu = page_str(b, "vm_uuid");
	const char *an = page_str(a, "vm"), *bn = page_str(b, "vm");

	if (au && *au && bu && *bu)
		return !strcmp(au, bu);
	return an && *an && bn && *bn && !strcmp(an, bn);
}

static bool muted(void *arg, json_object *page, json_object *member, char *why, size_t size)
{
	struct mute_arg *a = arg;
	struct mute_ctx *m = mutes(a->al, hvt_now_us());

	for (size_t i = 0; i < json_object_array_length(m->silences); i++) {
		json_object *s = json_object_array_get_idx(m->silences, i);
		if (silence_matches(s, page, member)) {
			snprintf(why, size, "silence %s", page_str(s, "id") ? page_str(s, "id") : "?");
			return true;
		}
	}
	for (size_t i = 0; a->r->ninhibited_by && i < json_object_array_length(m->sources); i++) {
		json_object *src = json_object_array_get_idx(m->sources, i), *ms = page_members(src);
		const char *state = page_str(src, "state");
		if (!names(a->r, page_str(src, "rule")) || !state || strcmp(state, "firing") != 0)
			continue;
		for (size_t j = 0; j < json_object_array_length(ms); j++) {
			json_object *x = json_object_array_get_idx(ms, j);
			const char *xs = page_str(x, "state"), *xh = page_str(x, "host");
			bool vm_member = (page_str(x, "vm") && *page_str(x, "vm")) ||
					 (page_str(x, "vm_uuid") && *page_str(x, "vm_uuid"));
			if (!xs || strcmp(xs, "firing") != 0)
				continue;
			/* a host's alert mutes what involves the host; a VM's, the VM */
			if (vm_member ? same_vm(x, member) : xh && involves(member, xh)) {
				snprintf(why, size, "inhibited by alert %s [%s]", page_str(src, "key"), page_str(src, "rule"));
				return true;
			}
		}
	}
	return false;
}

/* ---- documents ------------------------------------------------------------------ */

static json_object *member_at(json_object *page, const char *m)
{
	json_object *ms = page_members(page);

	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		if (page_str(x, "m") && !strcmp(page_str(x, "m"), m))
			return x;
	}
	return NULL;
}

/* The members a notification is about: the active ones (firing, not
 * muted), or for a resolution every member. */
static json_object *told_members(json_object *page, enum page_transition t, struct mute_arg *a)
{
	json_object *keys = NULL, *out = json_object_new_array(), *ms = page_members(page);

	if (t == PT_RESOLVED) {
		for (size_t i = 0; i < json_object_array_length(ms); i++)
			json_object_array_add(out, json_object_get(json_object_array_get_idx(ms, i)));
		return out;
	}
	page_active(page, muted, a, &keys);
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *x = member_at(page, json_object_get_string(json_object_array_get_idx(keys, i)));
		if (x)
			json_object_array_add(out, json_object_get(x));
	}
	json_object_put(keys);
	if (!json_object_array_length(out))      /* an acknowledgement of a page that is done */
		for (size_t i = 0; i < json_object_array_length(ms); i++)
			json_object_array_add(out, json_object_get(json_object_array_get_idx(ms, i)));
	return out;
}

static const char *member_name(json_object *x)
{
	const char *vm = page_str(x, "vm");

	return vm && *vm ? vm : page_str(x, "vm_uuid") && *page_str(x, "vm_uuid") ? page_str(x, "vm_uuid") :
	       page_str(x, "host") ? page_str(x, "host") : "?";
}

static char *page_summary(json_object *page, enum page_transition t, json_object *mems)
{
	struct hvt_buf b = { 0 };
	size_t n = json_object_array_length(mems);
	json_object *ack = NULL, *by;

	if (t == PT_RESOLVED)
		hvt_buf_append_str(&b, "RESOLVED: ");
	if (t == PT_ACKNOWLEDGED && json_object_object_get_ex(page, "acked", &ack) && ack &&
	    json_object_object_get_ex(ack, "by", &by))
		hvt_buf_printf(&b, "ACKNOWLEDGED by %s: ", page_str(by, "user") ? page_str(by, "user") : "?");
	const char *first = n ? page_str(json_object_array_get_idx(mems, 0), "summary") : NULL;
	hvt_buf_append_str(&b, first ? first : page_str(page, "rule"));
	if (n > 1) {
		hvt_buf_printf(&b, " (+%zu more:", n - 1);
		for (size_t i = 1; i < n && i <= SUMMARY_NAMES; i++)
			hvt_buf_printf(&b, " %s", member_name(json_object_array_get_idx(mems, i)));
		hvt_buf_append_str(&b, n - 1 > SUMMARY_NAMES ? " ...)" : ")");
	}
	return b.data;
}

static void add_time(json_object *o, const char *key, long long us)
{
	char t[40];

	if (!us) {
		json_object_object_add(o, key, NULL);
		return;
	}
	hvt_format_rfc3339(us, t, sizeof t);
	json_object_object_add(o, key, json_object_new_string(t));
}

/* Each distinct value of field (or of the hosts lists) over mems. */
static json_object *distinct(json_object *mems, const char *field)
{
	json_object *out = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(mems); i++) {
		json_object *x = json_object_array_get_idx(mems, i), *hs;
		json_object *vals = json_object_new_array();
		if (!strcmp(field, "hosts") && json_object_object_get_ex(x, "hosts", &hs) && hs)
			for (size_t j = 0; j < json_object_array_length(hs); j++)
				json_object_array_add(vals, json_object_get(json_object_array_get_idx(hs, j)));
		else if (page_str(x, field) && *page_str(x, field))
			json_object_array_add(vals, json_object_new_string(page_str(x, field)));
		for (size_t j = 0; j < json_object_array_length(vals); j++) {
			const char *v = json_object_get_string(json_object_array_get_idx(vals, j));
			bool dup = false;
			for (size_t k = 0; k < json_object_array_length(out) && !dup; k++)
				dup = !strcmp(json_object_get_string(json_object_array_get_idx(out, k)), v);
			if (!dup)
				json_object_array_add(out, json_object_new_string(v));
		}
		json_object_put(vals);
	}
	return out;
}

static json_object *member_doc(json_object *x, struct mute_arg *a, json_object *page)
{
	json_object *o = json_object_new_object(), *hosts;
	char why[200] = "";
	const char *state = page_str(x, "state");
	bool firing = state && !strcmp(state, "firing");
	bool m = firing && muted(a, page, x, why, sizeof why);

	json_object_object_add(o, "host", json_object_new_string(page_str(x, "host") ? page_str(x, "host") : ""));
	if (json_object_object_get_ex(x, "hosts", &hosts))
		json_object_object_add(o, "hosts", json_object_get(hosts));
	json_object_object_add(o, "vm", page_str(x, "vm") ? json_object_new_string(page_str(x, "vm")) : NULL);
	json_object_object_add(o, "vm_uuid", page_str(x, "vm_uuid") ? json_object_new_string(page_str(x, "vm_uuid")) :
				NULL);
	json_object_object_add(o, "type", json_object_new_string(page_str(x, "type") ? page_str(x, "type") : ""));
	json_object_object_add(o, "status", json_object_new_string(firing ? "firing" : "resolved"));
	json_object_object_add(o, "muted", m ? json_object_new_string(why) : NULL);
	json_object_object_add(o, "summary", json_object_new_string(page_str(x, "summary") ? page_str(x, "summary") :
								   ""));
	json_object_object_add(o, "alert_id", json_object_new_string(page_str(x, "alert_id") ? page_str(x, "alert_id") :
								    ""));
	json_object_object_add(o, "event_id", page_str(x, "event_id") ? json_object_new_string(page_str(x, "event_id")) :
				NULL);
	add_time(o, "time", page_int(x, "time"));
	add_time(o, "since", page_int(x, "first"));
	add_time(o, "resolved_at", page_int(x, "resolved"));
	json_object_object_add(o, "resolved_by", page_str(x, "resolved_by") ?
				json_object_new_string(page_str(x, "resolved_by")) : NULL);
	json_object_object_add(o, "severity", json_object_new_string(hvt_severity_name((int)page_int(x, "severity"))));
	return o;
}

/* The document an action gets: the opening decision's (its event, its key
 * fields: what a version 1 receiver read) with the alert's lifecycle over
 * it. */
static char *page_doc(struct alerts *al, json_object *page, enum page_transition t, const char *id,
		      const char *summary, int severity, json_object *mems, struct mute_arg *a, long long now_us)
{
	json_object *first = json_object_array_length(mems) ? json_object_array_get_idx(mems, 0) : NULL;
	char *base = NULL;
	json_object *d = NULL, *list = json_object_new_array(), *ack;

	if (first && page_str(first, "alert_id") && alert_store_alert_doc(al->store, page_str(first, "alert_id"),
									   &base) == 1)
		d = alert_json_parse(base, strlen(base));
	free(base);
	if (!d)
		d = json_object_new_object();
	json_object_object_add(d, "alert_id", json_object_new_string(id));
	json_object_object_add(d, "summary", json_object_new_string(summary));
	json_object_object_add(d, "severity", json_object_new_string(hvt_severity_name(severity)));
	add_time(d, "fired", now_us);
	json_object_object_add(d, "key", json_object_new_string(page_str(page, "key")));
	json_object_object_add(d, "instance", json_object_new_int64(page_int(page, "inst")));
	json_object_object_add(d, "status", json_object_new_string(t == PT_RESOLVED ? "resolved" : "firing"));
	json_object_object_add(d, "transition", json_object_new_string(page_transition_names[t]));
	add_time(d, "opened", page_int(page, "opened"));
	add_time(d, "resolved_at", t == PT_RESOLVED ? now_us : 0);
	json_object *labels;
	if (json_object_object_get_ex(page, "labels", &labels))
		json_object_object_add(d, "group", json_object_get(labels));
	for (size_t i = 0; i < json_object_array_length(mems); i++)
		json_object_array_add(list, member_doc(json_object_array_get_idx(mems, i), a, page));
	json_object_object_add(d, "count", json_object_new_int((int)json_object_array_length(mems)));
	json_object_object_add(d, "members", list);
	json_object_object_add(d, "hosts", distinct(mems, "hosts"));
	json_object_object_add(d, "vms", distinct(mems, "vm"));
	json_object_object_add(d, "acknowledged", json_object_object_get_ex(page, "acked", &ack) && ack ?
				json_object_get(ack) : NULL);
	char *s = hvt_strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(d);
	return s;
}

/* ---- notifying ----------------------------------------------------------------------- */

static json_object *actions_of(const struct alert_rule *r)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < r->nactions; i++)
		json_object_array_add(a, json_object_new_string(r->actions[i]));
	return a;
}

static json_object *member_brief(json_object *x, struct mute_arg *a, json_object *page)
{
	json_object *o = member_doc(x, a, page);

	/* the trail keeps what identifies a member; the rest is in the document */
	json_object_object_del(o, "summary");
	json_object_object_del(o, "since");
	json_object_object_del(o, "severity");
	return o;
}

/* The alert.* event of a notification, a mute or an unnoticed end. */
static int page_event(struct alerts *al, json_object *page, const char *type, int severity, const char *id,
		      const char *summary, json_object *mems, struct mute_arg *a, const struct alert_rule *r,
		      long long now_us)
{
	struct hvt_event *ev = hvt_event_new(type);
	json_object *list = json_object_new_array(), *vms = distinct(mems, "vm"), *ack;
	int rc;

	ev->severity = severity;
	ev->ts_us = now_us;
	if (json_object_array_length(vms) == 1 && json_object_array_length(mems)) {
		json_object *x = json_object_array_get_idx(mems, 0);
		hvt_event_set_vm(ev, page_str(x, "vm"), page_str(x, "vm_uuid") && *page_str(x, "vm_uuid") ?
				 page_str(x, "vm_uuid") : NULL);
	}
	hvt_event_set_msg(ev, "alert %s [%s]: %s", page_str(page, "key"), r->name, summary);
	hvt_event_data_add(ev, "key", json_object_new_string(page_str(page, "key")));
	hvt_event_data_add(ev, "instance", json_object_new_int64(page_int(page, "inst")));
	hvt_event_data_add(ev, "rule", json_object_new_string(r->name));
	hvt_event_data_add(ev, "one_shot", json_object_new_boolean(page_int(page, "one_shot") != 0));
	hvt_event_data_add(ev, "notification", id ? json_object_new_string(id) : NULL);
	hvt_event_data_add(ev, "summary", json_object_new_string(summary));
	hvt_event_data_add(ev, "actions", id ? actions_of(r) : json_object_new_array());
	for (size_t i = 0; i < json_object_array_length(mems); i++)
		json_object_array_add(list, member_brief(json_object_array_get_idx(mems, i), a, page));
	hvt_event_data_add(ev, "count", json_object_new_int((int)json_object_array_length(mems)));
	hvt_event_data_add(ev, "members", list);
	hvt_event_data_add(ev, "hosts", distinct(mems, "hosts"));
	hvt_event_data_add(ev, "vms", vms);
	if (json_object_object_get_ex(page, "acked", &ack) && ack && !strcmp(type, "alert.acknowledged"))
		hvt_event_data_add(ev, "acknowledged", json_object_get(ack));
	rc = alert_store_add_event(al->store, ev);
	hvt_event_free(ev);
	return rc;
}

static const char *const event_types[] = { "", "alert.firing", "alert.updated", "alert.resolved",
					   "alert.acknowledged" };

static int notify(struct alerts *al, const struct alert_rule *r, json_object *page, enum page_transition t,
		  struct mute_arg *a, long long now_us)
{
	json_object *mems = told_members(page, t, a), *n;
	long long count = json_object_object_get_ex(page, "notified", &n) ? page_int(n, "n") : 0;
	char id[17], hash[HVT_SHA256_HEX];
	int severity = HVT_SEV_DEBUG, rc;

	/* the first notification is the decision that opened the alert: its id
	 * is the one alert.fired gave (receivers of version 1 knew that one) */
	if (t == PT_OPENED && count == 0 && json_object_array_length(mems) &&
	    page_str(json_object_array_get_idx(mems, 0), "alert_id")) {
		hvt_strlcpy(id, page_str(json_object_array_get_idx(mems, 0), "alert_id"), sizeof id);
	} else {
		char *text = hvt_asprintf("%s\n%lld\n%s\n%lld", page_str(page, "key"), page_int(page, "inst"),
					  page_transition_names[t], count);
		hvt_sha256_hex(text, strlen(text), hash);
		memcpy(id, hash, 16);
		id[16] = '\0';
		free(text);
	}
	for (size_t i = 0; i < json_object_array_length(mems); i++)
		severity = HVT_MIN(severity, (int)page_int(json_object_array_get_idx(mems, i), "severity"));
	if (t == PT_RESOLVED || t == PT_ACKNOWLEDGED)
		severity = HVT_MAX(severity, HVT_SEV_NOTICE);   /* good news is not an emergency */
	char *summary = page_summary(page, t, mems);
	char *doc = page_doc(al, page, t, id, summary, severity, mems, a, now_us);
	rc = alert_store_add_notification(al->store, id, page_str(page, "key"), page_int(page, "inst"),
					  page_transition_names[t], now_us, severity, summary, doc);
	for (int i = 0; rc == 0 && i < r->nactions; i++)
		rc = alert_store_add_delivery(al->store, id, r->actions[i], now_us, now_us + r->expire_ms * 1000);
	if (rc == 0)
		rc = page_event(al, page, event_types[t], severity, id, summary, mems, a, r, now_us);
	if (rc == 0)
		hvt_log(LOG_NOTICE, "alert %s [%s] %s: %s%s", page_str(page, "key"), r->name, page_transition_names[t],
			summary, r->nactions ? "" : " (no actions: recorded only)");
	free(summary);
	free(doc);
	json_object_put(mems);
	return rc;
}

/* Every member firing is muted: say so once, and why. */
static int record_muted(struct alerts *al, const struct alert_rule *r, json_object *page, struct mute_arg *a,
			long long now_us)
{
	json_object *mems = json_object_new_array(), *ms = page_members(page);
	int rc;

	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		if (page_str(x, "state") && !strcmp(page_str(x, "state"), "firing"))
			json_object_array_add(mems, json_object_get(x));
	}
	char *summary = page_summary(page, PT_OPENED, mems);
	rc = page_event(al, page, "alert.muted", HVT_SEV_INFO, NULL, summary, mems, a, r, now_us);
	if (rc == 0)
		hvt_log(LOG_INFO, "alert %s [%s] muted (nobody is told): %s", page_str(page, "key"), r->name, summary);
	free(summary);
	json_object_put(mems);
	return rc;
}

static int save(struct alerts *al, json_object *page, long long notify_at, long long now_us)
{
	const char *json = json_object_to_json_string_ext(page, JSON_C_TO_STRING_PLAIN);

	al->pages_dirty = true;
	if (is_source(al, page_str(page, "rule")))
		alert_mute_reset(al);        /* what it mutes may change */
	return alert_store_page_put(al->store, page_str(page, "key"), page_int(page, "inst"), page_str(page, "rule"),
				    page_str(page, "state"), notify_at, json, now_us);
}

static const struct alert_rule *rule_of(struct alerts *al, json_object *page)
{
	const char *name = page_str(page, "rule");

	for (int i = 0; name && i < al->nrules; i++)
		if (!strcmp(al->rules[i]->name, name))
			return al->rules[i];
	return NULL;
}

/* Carry out what is due for one page and save it.  1 something was
 * notified or recorded, 0 nothing, -1 error.  In a transaction. */
static int reconcile_one(struct alerts *al, json_object *page, long long now_us, bool save_anyway)
{
	const struct alert_rule *r = rule_of(al, page);
	struct mute_arg a = { al, r };
	struct page_plan plan;
	int rc = 0;

	if (!r) {
		/* its rule left the configuration: the alert ends, unannounced */
		json_object_object_add(page, "state", json_object_new_string("closed"));
		return save(al, page, 0, now_us) < 0 ? -1 : 0;
	}
	page_plan(page, now_us, r->group_interval_ms * 1000, muted, &a, &plan);
	bool acts = plan.notify != PT_NONE || plan.muted_now || plan.close;
	if (plan.notify != PT_NONE)
		rc = notify(al, r, page, plan.notify, &a, now_us);
	if (rc == 0 && plan.muted_now)
		rc = record_muted(al, r, page, &a, now_us);
	if (rc == 0 && plan.close && plan.notify != PT_RESOLVED && !page_int(page, "one_shot")) {
		/* resolved without anyone told (it was muted all along) */
		json_object *mems = told_members(page, PT_RESOLVED, &a);
		rc = page_event(al, page, "alert.resolved", HVT_SEV_INFO, NULL, "resolved while muted: nobody was told",
				mems, &a, r, now_us);
		json_object_put(mems);
	}
	if (rc < 0)
		return -1;
	if (acts)
		page_apply(page, &plan, now_us, muted, &a);
	if (acts || save_anyway || plan.wait_until_us != page_int(page, "notify_at_saved")) {
		json_object_object_add(page, "notify_at_saved", json_object_new_int64(plan.wait_until_us));
		if (save(al, page, plan.wait_until_us, now_us) < 0)
			return -1;
	}
	return acts ? 1 : 0;
}

/* ---- entry points -------------------------------------------------------------------- */

int alert_page_decided(struct alerts *al, const struct alert_rule *r, struct alert_view *v, json_object *labels,
		       const char *key, const char *decision_id, const char *summary, long long now_us)
{
	char *json = NULL, *m = page_member_key(v->host, v->vm_uuid, v->vm_name);
	json_object *page = NULL, *member = json_object_new_object(), *hosts = NULL, *data;
	int got = alert_store_page_open(al->store, key, &json), rc;

	if (got == 1)
		page = alert_json_parse(json, strlen(json));
	free(json);
	if (got < 0) {
		json_object_put(labels);
		json_object_put(member);
		free(m);
		return -1;
	}
	if (!page)
		page = page_new(key, alert_store_page_last_inst(al->store, key) + 1, r->name, json_object_get(labels),
				now_us, r->group_wait_ms * 1000, alert_rule_one_shot(r));
	json_object_put(labels);
	json_object_object_add(member, "m", json_object_new_string(m));
	json_object_object_add(member, "host", json_object_new_string(v->host ? v->host : ""));
	if (v->incident && (data = alert_view_data(v)) && json_object_object_get_ex(data, "hosts", &hosts) &&
	    json_object_is_type(hosts, json_type_array))
		json_object_object_add(member, "hosts", json_object_get(hosts));
	else {
		json_object *h = json_object_new_array();
		json_object_array_add(h, json_object_new_string(v->host ? v->host : ""));
		json_object_object_add(member, "hosts", h);
	}
	json_object_object_add(member, "vm", v->vm_name ? json_object_new_string(v->vm_name) : NULL);
	json_object_object_add(member, "vm_uuid", v->vm_uuid ? json_object_new_string(v->vm_uuid) : NULL);
	json_object_object_add(member, "type", json_object_new_string(v->type ? v->type : ""));
	json_object_object_add(member, "alert_id", json_object_new_string(decision_id));
	json_object_object_add(member, "event_id", v->id ? json_object_new_string(v->id) : NULL);
	json_object_object_add(member, "time", json_object_new_int64(v->ts_us));
	json_object_object_add(member, "summary", json_object_new_string(summary));
	json_object_object_add(member, "severity", json_object_new_int(v->severity));
	page_join(page, member, now_us);
	free(m);
	rc = reconcile_one(al, page, now_us, true);
	json_object_put(page);
	return rc < 0 ? -1 : 0;
}

struct resolve_ctx {
	struct alerts *al;
	struct alert_view *v;
	long long now_us;
	int rc;
};

static int resolve_page(void *arg, const char *json)
{
	struct resolve_ctx *c = arg;
	json_object *page = alert_json_parse(json, strlen(json));

	if (page && page_resolve(page, c->v->vm_uuid, c->v->vm_name, c->v->host, c->v->id, c->now_us) &&
	    reconcile_one(c->al, page, c->now_us, true) < 0)
		c->rc = -1;
	json_object_put(page);
	return c->rc;
}

int alert_pages_resolve(struct alerts *al, const struct alert_rule *r, struct alert_view *v, long long now_us)
{
	struct resolve_ctx c = { al, v, now_us, 0 };

	if (alert_store_pages_open(al->store, r->name, resolve_page, &c) < 0)
		return -1;
	return c.rc;
}

struct all_ctx {
	struct alerts *al;
	long long now_us;
	int rc, acted;
};

static int reconcile_page(void *arg, const char *json)
{
	struct all_ctx *c = arg;
	json_object *page = alert_json_parse(json, strlen(json));
	int rc = page ? reconcile_one(c->al, page, c->now_us, false) : 0;

	json_object_put(page);
	if (rc < 0)
		c->rc = -1;
	c->acted += rc > 0;
	return c->rc;
}

/* Host-silence members whose host spoke again resolve. */
static int silence_resolved(void *arg, const char *json)
{
	struct all_ctx *c = arg;
	json_object *page = alert_json_parse(json, strlen(json)), *ms;
	bool changed = false;

	if (!page)
		return 0;
	ms = page_members(page);
	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		const char *h = page_str(x, "host"), *st = page_str(x, "state");
		if (h && st && !strcmp(st, "firing") && alert_hosts_last(c->al, h) > page_int(x, "time"))
			changed |= page_resolve(page, NULL, NULL, h, NULL, c->now_us);
	}
	if (changed && reconcile_one(c->al, page, c->now_us, true) < 0)
		c->rc = -1;
	c->acted += changed;
	json_object_put(page);
	return c->rc;
}

static int spoke(void *arg, const char *json)
{
	struct all_ctx *c = arg;
	json_object *page = alert_json_parse(json, strlen(json)), *ms = page ? page_members(page) : NULL;

	for (size_t i = 0; ms && i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		const char *h = page_str(x, "host"), *st = page_str(x, "state");
		c->acted += h && st && !strcmp(st, "firing") && alert_hosts_last(c->al, h) > page_int(x, "time");
	}
	json_object_put(page);
	return 0;
}

/* Did a host a host-silence alert is about speak again?  (Reads only.) */
static bool silent_hosts_spoke(struct alerts *al, long long now_us)
{
	struct all_ctx c = { al, now_us, 0, 0 };

	for (int i = 0; i < al->nrules && !c.acted; i++)
		if (alert_rule_is_silence(al->rules[i]))
			alert_store_pages_open(al->store, al->rules[i]->name, spoke, &c);
	return c.acted > 0;
}

int alert_pages_service(struct alerts *al, long long now_us, bool all)
{
	struct all_ctx c = { al, now_us, 0, 0 };

	/* nothing to write: no transaction (the service looks every second) */
	if (!all && !silent_hosts_spoke(al, now_us))
		return 0;
	if (alert_store_begin(al->store) < 0)
		return -1;
	alert_mute_reset(al);
	for (int i = 0; c.rc == 0 && i < al->nrules; i++)
		if (alert_rule_is_silence(al->rules[i]) &&
		    alert_store_pages_open(al->store, al->rules[i]->name, silence_resolved, &c) < 0)
			c.rc = -1;
	if (c.rc == 0 && all && alert_store_pages_open(al->store, NULL, reconcile_page, &c) < 0)
		c.rc = -1;
	alert_mute_reset(al);
	if (c.rc < 0) {
		alert_store_rollback(al->store);
		return -1;
	}
	if (alert_store_commit(al->store) < 0)
		return -1;
	return c.acted;
}

int alert_page_ack(struct alerts *al, const char *key, json_object *by, const char *comment, char *err,
		   size_t errsize, char *key_out, size_t key_size)
{
	char *json = NULL;
	long long now = hvt_now_us();
	int got = alert_store_page_latest(al->store, key, &json), rc = 0;
	json_object *page = got == 1 ? alert_json_parse(json, strlen(json)) : NULL;

	free(json);
	if (!page) {
		snprintf(err, errsize, got == -2 ? "key %s is the start of more than one alert's key: give more of it" :
			 got < 0 ? "cannot read the alerts (see the collector's log)" : "no alert has the key %s", key);
		json_object_put(by);
		return -1;
	}
	hvt_strlcpy(key_out, page_str(page, "key"), key_size);
	const struct alert_rule *r = rule_of(al, page);
	if (!page_ack(page, by, comment, now)) {
		json_object_put(page);
		return 0;      /* already acknowledged: nothing new to say */
	}
	struct mute_arg a = { al, r };
	json_object *acked;
	rc = reconcile_one(al, page, now, true);
	if (rc >= 0 && r && json_object_object_get_ex(page, "acked", &acked) && acked &&
	    !json_object_get_boolean(json_object_object_get(acked, "notified"))) {
		/* nobody was paged (muted, or not yet sent): recorded all the same */
		json_object *mems = told_members(page, PT_ACKNOWLEDGED, &a);
		char *summary = page_summary(page, PT_ACKNOWLEDGED, mems);
		rc = page_event(al, page, "alert.acknowledged", HVT_SEV_NOTICE, NULL, summary, mems, &a, r, now);
		free(summary);
		json_object_put(mems);
	}
	json_object_put(page);
	return rc < 0 ? -1 : 1;
}
