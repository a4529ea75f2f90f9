/* incident_mig.c - a failed migration, told with both sides (incident.h).
 *
 * A watch opens on a migration link (correlate.c) when either side reports
 * a failure: the source's migration.failed (or its QEMU vanished mid-way),
 * the target's migration.incoming.failed or its vm.vanished.  It closes
 *   - with one collector migration.failed as soon as both sides said how
 *     their part ended (the source's error, the target's cause: "killed or
 *     crashed", "incoming migration failed", ...);
 *   - with nothing when the source completed or cancelled (an operator's
 *     migrate_cancel leaves the target failed, and that is no incident);
 *   - after incident_wait with what is known, the silent side named as
 *     such: a host that died takes its forwarder with it.
 * The target's report that tells most wins: its QEMU vanishing (killed,
 * crashed) says more than the incoming.failed that precedes an orderly exit. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "incident_int.h"
#include "util.h"

enum { SIDE_SRC, SIDE_TGT, SIDE_NONE };

static int side_of(const struct incident_input *in)
{
	const char *t = in->type, *dir = inc_str(in, "direction"), *role = inc_str(in, "migration_role");
	const char *last = inc_str(in, "last_status");

	if (strcmp(t, "vm.vanished") == 0) {
		if ((role && strcmp(role, "incoming") == 0) || (!role && last && strcmp(last, "inmigrate") == 0))
			return SIDE_TGT;
		return SIDE_SRC;
	}
	if (hvt_str_has_prefix(t, "migration.incoming.") || (dir && strcmp(dir, "incoming") == 0))
		return SIDE_TGT;
	return hvt_str_has_prefix(t, "migration.") ? SIDE_SRC : SIDE_NONE;
}

static const char *outcome_of(const char *type)
{
	if (strcmp(type, "vm.vanished") == 0)
		return "vanished";
	const char *dot = strrchr(type, '.');
	return dot ? dot + 1 : "";
}

bool mig_relevant(const struct incident_input *in)
{
	const char *t = in->type;

	if (!t)
		return false;
	if (strcmp(t, "vm.vanished") == 0)
		return in->link && *in->link;
	if (!hvt_str_has_prefix(t, "migration."))
		return false;
	return hvt_str_has_suffix(t, ".failed") || hvt_str_has_suffix(t, ".cancelled") ||
	       hvt_str_has_suffix(t, ".completed");
}

bool mig_opens(const struct incident_input *in)
{
	return hvt_str_has_suffix(in->type, ".failed") || strcmp(in->type, "vm.vanished") == 0;
}

void mig_watch_init(struct mig_watch *w, const char *link, const char *vm_name, const char *vm_uuid)
{
	memset(w, 0, sizeof *w);
	hvt_strlcpy(w->link, link ? link : "", sizeof w->link);
	hvt_strlcpy(w->vm_name, vm_name ? vm_name : "", sizeof w->vm_name);
	hvt_strlcpy(w->vm_uuid, vm_uuid ? vm_uuid : "", sizeof w->vm_uuid);
	w->tgt_severity = HVT_SEV_DEBUG;
}

char *mig_watch_to_json(const struct mig_watch *w)
{
	json_object *o = json_object_new_object();

	st_put_str(o, "link", w->link);
	st_put_str(o, "vm_name", w->vm_name);
	st_put_str(o, "vm_uuid", w->vm_uuid);
	st_put_str(o, "src_host", w->src_host);
	st_put_str(o, "tgt_host", w->tgt_host);
	st_put_str(o, "src_outcome", w->src_outcome);
	st_put_str(o, "tgt_outcome", w->tgt_outcome);
	st_put_str(o, "src_error", w->src_error);
	st_put_str(o, "tgt_cause", w->tgt_cause);
	st_put_str(o, "src_event", w->src_event);
	st_put_str(o, "tgt_event", w->tgt_event);
	st_put_int(o, "tgt_severity", w->tgt_severity);
	st_put_int(o, "ts", w->ts_us);
	st_put_int(o, "deadline", w->deadline_us);
	st_put_int(o, "done", w->done);
	char *s = hvt_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

int mig_watch_from_json(struct mig_watch *w, const char *json)
{
	json_object *o = json_tokener_parse(json);

	memset(w, 0, sizeof *w);
	if (!o)
		return -1;
	st_get_str(o, "link", w->link, sizeof w->link);
	st_get_str(o, "vm_name", w->vm_name, sizeof w->vm_name);
	st_get_str(o, "vm_uuid", w->vm_uuid, sizeof w->vm_uuid);
	st_get_str(o, "src_host", w->src_host, sizeof w->src_host);
	st_get_str(o, "tgt_host", w->tgt_host, sizeof w->tgt_host);
	st_get_str(o, "src_outcome", w->src_outcome, sizeof w->src_outcome);
	st_get_str(o, "tgt_outcome", w->tgt_outcome, sizeof w->tgt_outcome);
	st_get_str(o, "src_error", w->src_error, sizeof w->src_error);
	st_get_str(o, "tgt_cause", w->tgt_cause, sizeof w->tgt_cause);
	st_get_str(o, "src_event", w->src_event, sizeof w->src_event);
	st_get_str(o, "tgt_event", w->tgt_event, sizeof w->tgt_event);
	w->tgt_severity = (int)st_get_int(o, "tgt_severity");
	w->ts_us = st_get_int(o, "ts");
	w->deadline_us = st_get_int(o, "deadline");
	w->done = st_get_int(o, "done") != 0;
	json_object_put(o);
	return 0;
}

static bool failed(const char *outcome)
{
	return strcmp(outcome, "failed") == 0 || strcmp(outcome, "vanished") == 0;
}

static bool dismissed(const char *src_outcome)
{
	return strcmp(src_outcome, "completed") == 0 || strcmp(src_outcome, "cancelled") == 0;
}

static const char *vm_label(const struct mig_watch *w)
{
	return w->vm_name[0] ? w->vm_name : w->vm_uuid[0] ? w->vm_uuid : "?";
}

/* What a side's end says, in words: "the source failed: ERROR", "the
 * destination's QEMU vanished (CAUSE)", "no report from the source". */
static void side_text(const char *who, const char *outcome, const char *text, char *buf, size_t size)
{
	if (!*outcome)
		snprintf(buf, size, "no report from the %s", who);
	else if (strcmp(outcome, "vanished") == 0)
		snprintf(buf, size, "the %s's QEMU vanished%s%s%s", who, *text ? " (" : "", text, *text ? ")" : "");
	else
		snprintf(buf, size, "the %s %s%s%s", who, outcome, *text ? ": " : "", text);
}

static void made(const struct mig_watch *w, long long now_us, struct incident_out *out)
{
	struct hvt_event *ev = inc_event("migration.failed", HVT_SEV_WARNING, w->vm_name, w->vm_uuid, w->ts_us,
					 now_us);
	const char *hosts[2] = { w->src_host, w->tgt_host }, *evid[2] = { w->src_event, w->tgt_event };
	const char *silent[2];
	int ns = 0;
	char src[700], tgt[700], *inc = hvt_asprintf("mig/%s", w->link);

	if (!*w->src_outcome && w->src_host[0])
		silent[ns++] = w->src_host;
	if (!*w->tgt_outcome && w->tgt_host[0])
		silent[ns++] = w->tgt_host;
	side_text("source", w->src_outcome, w->src_error, src, sizeof src);
	side_text("destination", w->tgt_outcome, w->tgt_cause, tgt, sizeof tgt);
	inc_add_str(ev, "incident", inc);
	free(inc);
	inc_add_str(ev, "link", w->link);
	inc_add_str(ev, "host", w->src_host[0] ? w->src_host : w->tgt_host);
	hvt_event_data_add(ev, "hosts", inc_str_array(hosts, 2));
	inc_add_str(ev, "source_host", w->src_host);
	inc_add_str(ev, "target_host", w->tgt_host);
	inc_add_str(ev, "source_outcome", *w->src_outcome ? w->src_outcome : "no report");
	inc_add_str(ev, "target_outcome", *w->tgt_outcome ? w->tgt_outcome : "no report");
	inc_add_str(ev, "error", w->src_error[0] ? w->src_error : NULL);
	inc_add_str(ev, "target_cause", w->tgt_cause[0] ? w->tgt_cause : NULL);
	hvt_event_data_add(ev, "no_report", inc_str_array(silent, ns));
	hvt_event_data_add(ev, "evidence", inc_str_array(evid, 2));
	hvt_event_set_msg(ev, "migration of VM %s from %s to %s failed: %s; %s", vm_label(w),
			  w->src_host[0] ? w->src_host : "?", w->tgt_host[0] ? w->tgt_host : "?", src, tgt);
	incident_out_add(out, ev);
}

static void settle(struct mig_watch *w, long long now_us, long long wait_us, struct incident_out *out)
{
	if (dismissed(w->src_outcome)) {
		w->done = true;
	} else if (failed(w->src_outcome) && *w->tgt_outcome) {
		made(w, now_us, out);
		w->done = true;
	} else if (!w->deadline_us && (failed(w->src_outcome) || failed(w->tgt_outcome))) {
		w->deadline_us = now_us + wait_us;
	}
	if (w->done)
		w->deadline_us = 0;
}

bool mig_feed(struct mig_watch *w, const struct incident_input *in, long long now_us, long long wait_us,
	      struct incident_out *out)
{
	const char *id = in->id ? in->id : "", *outcome = outcome_of(in->type);
	int side = side_of(in);

	if (w->done || (*id && (strcmp(id, w->src_event) == 0 || strcmp(id, w->tgt_event) == 0)))
		return false;
	if (in->vm_name && *in->vm_name && !w->vm_name[0])
		hvt_strlcpy(w->vm_name, in->vm_name, sizeof w->vm_name);
	if (in->vm_uuid && *in->vm_uuid && !w->vm_uuid[0])
		hvt_strlcpy(w->vm_uuid, in->vm_uuid, sizeof w->vm_uuid);
	if (side == SIDE_SRC) {
		/* a source's first end is its end (libvirt's journal may repeat it) */
		if (*w->src_outcome && !(failed(outcome) && !failed(w->src_outcome)))
			return false;
		const char *text = strcmp(outcome, "vanished") == 0 ? inc_str(in, "cause") : inc_str(in, "error");
		hvt_strlcpy(w->src_host, in->host, sizeof w->src_host);
		hvt_strlcpy(w->src_outcome, outcome, sizeof w->src_outcome);
		hvt_strlcpy(w->src_error, text ? text : "", sizeof w->src_error);
		hvt_strlcpy(w->src_event, id, sizeof w->src_event);
	} else if (side == SIDE_TGT) {
		/* a QEMU that vanished killed or crashed (warning) tells most */
		bool better = !*w->tgt_outcome ||
			      (strcmp(outcome, "vanished") == 0 && in->severity <= HVT_SEV_WARNING &&
			       w->tgt_severity > HVT_SEV_WARNING);
		if (!better)
			return false;
		const char *text = strcmp(outcome, "vanished") == 0 ? inc_str(in, "cause") : inc_str(in, "error");
		hvt_strlcpy(w->tgt_host, in->host, sizeof w->tgt_host);
		hvt_strlcpy(w->tgt_outcome, outcome, sizeof w->tgt_outcome);
		hvt_strlcpy(w->tgt_cause, text ? text : strcmp(outcome, "failed") == 0 ? "incoming migration failed" :
			    "", sizeof w->tgt_cause);
		hvt_strlcpy(w->tgt_event, id, sizeof w->tgt_event);
		w->tgt_severity = in->severity;
	} else {
		return false;
	}
	w->ts_us = HVT_MAX(w->ts_us, in->ts_us);
	settle(w, now_us, wait_us, out);
	return true;
}

bool mig_due(struct mig_watch *w, long long now_us, struct incident_out *out)
{
	if (w->done || !w->deadline_us || now_us < w->deadline_us)
		return false;
	if (!dismissed(w->src_outcome) && (failed(w->src_outcome) || failed(w->tgt_outcome)))
		made(w, now_us, out);
	w->done = true;
	w->deadline_us = 0;
	return true;
}
