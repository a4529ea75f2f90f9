/* incident_colo.c - one VM's COLO pair: protection lost, split brain,
 * protection restored (incident.h).
 *
 *   UNKNOWN/PROTECTED --colo.failover or a member's vm.vanished--> FAILING
 *   FAILING --both sides reported, or incident_wait ran out--> LOST
 *            (colo.protection_lost, or colo.split_brain when both claim)
 *   LOST --a late report makes two claimants--> LOST (colo.split_brain)
 *   FAILING/LOST --colo.entered--> PROTECTED (colo.protection_restored)
 *
 * A side "claims" the VM when it runs it: colo.failover's service_here, or
 * vm.resumed after a failover that had left it paused (the peer died
 * mid-checkpoint; docs/events.md).  QEMU's reason is not trusted (it is
 * unreliable, docs/events.md), the run state is.  Everything is decided on
 * the events' own times, except the wait, which is the collector's: a late
 * forwarder's old report never reopens a decided failover, and a host that
 * died entirely delays the page by incident_wait at most. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "incident_int.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

static const char *const state_names[] = { "unknown", "protected", "failing", "lost" };

bool colo_relevant(const struct incident_input *in)
{
	const char *t = in->type;

	if (!t)
		return false;
	if (strcmp(t, "colo.entered") == 0 || strcmp(t, "colo.failover") == 0 || strcmp(t, "vm.vanished") == 0)
		return true;
	if (strcmp(t, "vm.resumed") == 0) {
		const char *after = inc_str(in, "after");
		return after && strcmp(after, "colo.failover") == 0;
	}
	return false;
}

void colo_pair_init(struct colo_pair *p, const char *vm_name, const char *vm_uuid)
{
	memset(p, 0, sizeof *p);
	hvt_strlcpy(p->vm_name, vm_name ? vm_name : "", sizeof p->vm_name);
	hvt_strlcpy(p->vm_uuid, vm_uuid ? vm_uuid : "", sizeof p->vm_uuid);
}

/* ---- saved state ----------------------------------------------------------- */

char *colo_pair_to_json(const struct colo_pair *p)
{
	json_object *o = json_object_new_object(), *reps = json_object_new_array();

	st_put_str(o, "vm_name", p->vm_name);
	st_put_str(o, "vm_uuid", p->vm_uuid);
	st_put_str(o, "primary", p->primary);
	st_put_str(o, "secondary", p->secondary);
	st_put_str(o, "state", state_names[p->state]);
	st_put_int(o, "since", p->since_us);
	st_put_int(o, "deadline", p->deadline_us);
	st_put_str(o, "episode", p->episode);
	st_put_int(o, "split", p->split);
	for (int i = 0; i < p->nrep; i++) {
		const struct colo_report *r = &p->rep[i];
		json_object *x = json_object_new_object();
		st_put_str(x, "host", r->host);
		st_put_str(x, "what", r->what);
		st_put_str(x, "side", r->side);
		st_put_str(x, "reason", r->reason);
		st_put_str(x, "event_id", r->event_id);
		st_put_int(x, "claims", r->claims);
		st_put_int(x, "ts", r->ts_us);
		json_object_array_add(reps, x);
	}
	json_object_object_add(o, "reports", reps);
	char *s = hvt_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

int colo_pair_from_json(struct colo_pair *p, const char *json)
{
	json_object *o = json_tokener_parse(json), *reps;
	char state[16];

	memset(p, 0, sizeof *p);
	if (!o)
		return -1;
	st_get_str(o, "vm_name", p->vm_name, sizeof p->vm_name);
	st_get_str(o, "vm_uuid", p->vm_uuid, sizeof p->vm_uuid);
	st_get_str(o, "primary", p->primary, sizeof p->primary);
	st_get_str(o, "secondary", p->secondary, sizeof p->secondary);
	st_get_str(o, "state", state, sizeof state);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(state_names); i++)
		if (strcmp(state, state_names[i]) == 0)
			p->state = (enum colo_state)i;
	p->since_us = st_get_int(o, "since");
	p->deadline_us = st_get_int(o, "deadline");
	st_get_str(o, "episode", p->episode, sizeof p->episode);
	p->split = st_get_int(o, "split") != 0;
	if (json_object_object_get_ex(o, "reports", &reps) && json_object_is_type(reps, json_type_array))
		for (size_t i = 0; i < json_object_array_length(reps) && p->nrep < COLO_MAX_REPORTS; i++) {
			json_object *x = json_object_array_get_idx(reps, i);
			struct colo_report *r = &p->rep[p->nrep++];
			st_get_str(x, "host", r->host, sizeof r->host);
			st_get_str(x, "what", r->what, sizeof r->what);
			st_get_str(x, "side", r->side, sizeof r->side);
			st_get_str(x, "reason", r->reason, sizeof r->reason);
			st_get_str(x, "event_id", r->event_id, sizeof r->event_id);
			r->claims = st_get_int(x, "claims") != 0;
			r->ts_us = st_get_int(x, "ts");
		}
	json_object_put(o);
	return 0;
}

/* ---- what was reported ----------------------------------------------------------- */

static bool report_of(const struct incident_input *in, struct colo_report *r)
{
	const char *t = in->type;

	memset(r, 0, sizeof *r);
	hvt_strlcpy(r->host, in->host, sizeof r->host);
	hvt_strlcpy(r->what, t, sizeof r->what);
	hvt_strlcpy(r->event_id, in->id ? in->id : "", sizeof r->event_id);
	r->ts_us = in->ts_us;
	if (strcmp(t, "colo.failover") == 0) {
		hvt_strlcpy(r->side, inc_str(in, "side") ? inc_str(in, "side") : "", sizeof r->side);
		hvt_strlcpy(r->reason, inc_str(in, "reason") ? inc_str(in, "reason") : "", sizeof r->reason);
		r->claims = inc_true(in, "service_here");
		return true;
	}
	if (strcmp(t, "vm.resumed") == 0) {
		r->claims = true;
		return true;
	}
	if (strcmp(t, "vm.vanished") == 0) {
		hvt_strlcpy(r->side, inc_str(in, "colo_mode") ? inc_str(in, "colo_mode") : "", sizeof r->side);
		return true;
	}
	return false;
}

static bool known(const struct colo_pair *p, const char *id)
{
	if (!*id)
		return false;
	if (strcmp(p->episode, id) == 0)
		return true;
	for (int i = 0; i < p->nrep; i++)
		if (strcmp(p->rep[i].event_id, id) == 0)
			return true;
	return false;
}

/* One report per host: the newest says how that side stands. */
static void merge(struct colo_pair *p, const struct colo_report *r)
{
	for (int i = 0; i < p->nrep; i++)
		if (strcmp(p->rep[i].host, r->host) == 0) {
			if (r->ts_us >= p->rep[i].ts_us)
				p->rep[i] = *r;
			return;
		}
	if (p->nrep < COLO_MAX_REPORTS)
		p->rep[p->nrep++] = *r;
}

static int nclaims(const struct colo_pair *p)
{
	int n = 0;

	for (int i = 0; i < p->nrep; i++)
		n += p->rep[i].claims;
	return n;
}

static const struct colo_report *report_from(const struct colo_pair *p, const char *host)
{
	for (int i = 0; host && *host && i < p->nrep; i++)
		if (strcmp(p->rep[i].host, host) == 0)
			return &p->rep[i];
	return NULL;
}

/* Both sides have spoken: the pair's two hosts when known, else two hosts. */
static bool decidable(const struct colo_pair *p)
{
	if (p->primary[0] && p->secondary[0] && strcmp(p->primary, p->secondary) != 0)
		return report_from(p, p->primary) && report_from(p, p->secondary);
	return p->nrep >= 2;
}

/* ---- the incidents ------------------------------------------------------------ */

static long long newest(const struct colo_pair *p)
{
	long long t = p->since_us;

	for (int i = 0; i < p->nrep; i++)
		t = HVT_MAX(t, p->rep[i].ts_us);
	return t;
}

static const char *vm_label(const struct colo_pair *p)
{
	return p->vm_name[0] ? p->vm_name : p->vm_uuid;
}

/* Every host involved: the pair's and the reporters', once each. */
static int all_hosts(const struct colo_pair *p, const char **out)
{
	int n = 0;
	const char *cand[2 + COLO_MAX_REPORTS] = { p->primary, p->secondary };

	for (int i = 0; i < p->nrep; i++)
		cand[2 + i] = p->rep[i].host;
	for (int i = 0; i < 2 + p->nrep; i++) {
		bool dup = !cand[i] || !*cand[i];
		for (int j = 0; j < n && !dup; j++)
			dup = strcmp(out[j], cand[i]) == 0;
		if (!dup)
			out[n++] = cand[i];
	}
	return n;
}

/* How a host stands, in words: "runs it", "stopped (paused)", "QEMU
 * vanished", "no report". */
static void stand_text(const struct colo_pair *p, const char *host, char *buf, size_t size)
{
	const struct colo_report *r = report_from(p, host);

	if (!r)
		snprintf(buf, size, "%s: no report", host);
	else if (strcmp(r->what, "vm.vanished") == 0)
		snprintf(buf, size, "%s: QEMU vanished", host);
	else
		snprintf(buf, size, "%s: %s", host, r->claims ? "runs it" : "does not run it");
}

static void add_common(struct hvt_event *ev, const struct colo_pair *p, const char *host)
{
	const char *hosts[2 + COLO_MAX_REPORTS];
	int nh = all_hosts(p, hosts);
	json_object *sides = json_object_new_array(), *evidence = json_object_new_array();
	json_object *silent = json_object_new_array();
	char t[40], *inc = hvt_asprintf("colo/%s", p->episode);

	inc_add_str(ev, "incident", inc);
	free(inc);
	inc_add_str(ev, "host", host);
	hvt_event_data_add(ev, "hosts", inc_str_array(hosts, nh));
	inc_add_str(ev, "primary", p->primary);
	inc_add_str(ev, "secondary", p->secondary);
	for (int i = 0; i < p->nrep; i++) {
		const struct colo_report *r = &p->rep[i];
		json_object *x = json_object_new_object();
		json_object_object_add(x, "host", json_object_new_string(r->host));
		json_object_object_add(x, "report", json_object_new_string(r->what));
		if (r->side[0])
			json_object_object_add(x, "side", json_object_new_string(r->side));
		if (r->reason[0])
			json_object_object_add(x, "reason", json_object_new_string(r->reason));
		json_object_object_add(x, "service_here", json_object_new_boolean(r->claims));
		json_object_object_add(x, "event_id", json_object_new_string(r->event_id));
		hvt_format_rfc3339(r->ts_us, t, sizeof t);
		json_object_object_add(x, "time", json_object_new_string(t));
		json_object_array_add(sides, x);
		json_object_array_add(evidence, json_object_new_string(r->event_id));
	}
	for (int i = 0; i < nh; i++)
		if (!report_from(p, hosts[i]))
			json_object_array_add(silent, json_object_new_string(hosts[i]));
	hvt_event_data_add(ev, "sides", sides);
	hvt_event_data_add(ev, "no_report", silent);
	hvt_event_data_add(ev, "evidence", evidence);
}

/* The host protection was lost on: a pair host that does not run the VM,
 * rather one that said nothing or vanished than one that reported. */
static const char *lost_host(const struct colo_pair *p)
{
	const char *hosts[2 + COLO_MAX_REPORTS], *best = NULL;
	int nh = all_hosts(p, hosts), best_rank = -1;

	for (int i = 0; i < nh; i++) {
		const struct colo_report *r = report_from(p, hosts[i]);
		int rank = !r ? 3 : strcmp(r->what, "vm.vanished") == 0 ? 2 : !r->claims ? 1 : -1;
		if (rank > best_rank) {
			best = hosts[i];
			best_rank = rank;
		}
	}
	return best ? best : p->nrep ? p->rep[0].host : "";
}

static void made_lost(const struct colo_pair *p, long long now_us, struct incident_out *out)
{
	struct hvt_event *ev = inc_event("colo.protection_lost", HVT_SEV_CRIT, p->vm_name, p->vm_uuid,
					 newest(p), now_us);
	const char *claimer = NULL, *hosts[2 + COLO_MAX_REPORTS];
	int nh = all_hosts(p, hosts);
	struct hvt_buf others = { 0 };
	char stand[400];

	for (int i = 0; i < p->nrep; i++)
		if (p->rep[i].claims)
			claimer = p->rep[i].host;
	for (int i = 0; i < nh; i++) {
		if (claimer && strcmp(hosts[i], claimer) == 0)
			continue;
		stand_text(p, hosts[i], stand, sizeof stand);
		hvt_buf_printf(&others, "%s%s", others.len ? "; " : "", stand);
	}
	if (!others.len)
		hvt_buf_append_str(&others, "the other side is unknown: the collector never saw the pair enter COLO");
	add_common(ev, p, lost_host(p));
	inc_add_str(ev, "service_on", claimer);
	if (claimer)
		hvt_event_set_msg(ev, "COLO protection of VM %s lost: it runs on %s only (%s)", vm_label(p), claimer,
				  hvt_buf_cstr(&others));
	else
		hvt_event_set_msg(ev, "COLO protection of VM %s lost and no side reports running it (%s)",
				  vm_label(p), hvt_buf_cstr(&others));
	hvt_buf_free(&others);
	incident_out_add(out, ev);
}

static void made_split(const struct colo_pair *p, long long now_us, struct incident_out *out)
{
	struct hvt_event *ev = inc_event("colo.split_brain", HVT_SEV_CRIT, p->vm_name, p->vm_uuid, newest(p),
					 now_us);
	const char *on[COLO_MAX_REPORTS];
	int n = 0;

	for (int i = 0; i < p->nrep; i++)
		if (p->rep[i].claims)
			on[n++] = p->rep[i].host;
	/* the incident is about the former primary when it is one of them */
	add_common(ev, p, report_from(p, p->primary) && report_from(p, p->primary)->claims ? p->primary : on[0]);
	hvt_event_data_add(ev, "service_on", inc_str_array(on, n));
	hvt_event_set_msg(ev, "SPLIT BRAIN: VM %s runs on both %s and %s (the COLO pair broke up and both "
			  "sides took over)", vm_label(p), on[0], on[1]);
	incident_out_add(out, ev);
}

static void made_restored(const struct colo_pair *p, const struct incident_input *in, const char *mode,
			  long long now_us, struct incident_out *out)
{
	struct hvt_event *ev = inc_event("colo.protection_restored", HVT_SEV_INFO, p->vm_name, p->vm_uuid,
					 in->ts_us, now_us);
	const char *hosts[1] = { in->host };
	char *inc = hvt_asprintf("colo/%s", p->episode), t[40];
	long long gap_s = in->ts_us > p->since_us ? (in->ts_us - p->since_us) / 1000000 : 0;

	inc_add_str(ev, "incident", inc);
	free(inc);
	inc_add_str(ev, "host", in->host);
	hvt_event_data_add(ev, "hosts", inc_str_array(hosts, 1));
	inc_add_str(ev, "mode", mode);
	hvt_format_rfc3339(p->since_us, t, sizeof t);
	inc_add_str(ev, "lost_at", t);
	hvt_event_data_add(ev, "unprotected_s", json_object_new_int64(gap_s));
	hvt_event_data_add(ev, "was_split_brain", json_object_new_boolean(p->split));
	inc_add_str(ev, "evidence_event", in->id);
	hvt_event_set_msg(ev, "COLO protection of VM %s restored: %s entered COLO as %s after %lld s unprotected",
			  vm_label(p), in->host, mode ? mode : "?", gap_s);
	incident_out_add(out, ev);
}

static void decide(struct colo_pair *p, long long now_us, struct incident_out *out)
{
	if (nclaims(p) >= 2) {
		made_split(p, now_us, out);
		p->split = true;
	} else {
		made_lost(p, now_us, out);
	}
	p->state = COLO_LOST;
	p->deadline_us = 0;
}

/* ---- transitions ------------------------------------------------------------------ */

static void start_episode(struct colo_pair *p, const struct colo_report *r, long long now_us, long long wait_us)
{
	p->state = COLO_FAILING;
	p->since_us = r->ts_us;
	p->deadline_us = now_us + wait_us;
	hvt_strlcpy(p->episode, r->event_id, sizeof p->episode);
	p->nrep = 0;
	p->split = false;
	merge(p, r);
}

static bool entered(struct colo_pair *p, const struct incident_input *in, long long now_us,
		    struct incident_out *out)
{
	const char *mode = inc_str(in, "mode");

	/* older than the failover: a resend, or a late forwarder's news from
	 * before it; the two sides' colo.entered come in either order */
	if ((p->state == COLO_FAILING || p->state == COLO_LOST) && in->ts_us <= p->since_us)
		return false;
	if (p->state == COLO_PROTECTED && in->ts_us + COLO_EPISODE_US < p->since_us)
		return false;
	if (p->state == COLO_FAILING)
		decide(p, now_us, out);
	if (p->state == COLO_LOST) {
		made_restored(p, in, mode, now_us, out);
		p->primary[0] = p->secondary[0] = '\0';   /* a new pair, maybe on other hosts */
	}
	if (mode && strcmp(mode, "primary") == 0)
		hvt_strlcpy(p->primary, in->host, sizeof p->primary);
	else if (mode && strcmp(mode, "secondary") == 0)
		hvt_strlcpy(p->secondary, in->host, sizeof p->secondary);
	if (p->state != COLO_PROTECTED) {
		p->state = COLO_PROTECTED;
		p->since_us = in->ts_us;
		p->deadline_us = 0;
		p->episode[0] = '\0';
		p->nrep = 0;
		p->split = false;
	}
	return true;
}

static bool report(struct colo_pair *p, const struct colo_report *r, long long now_us, long long wait_us,
		   struct incident_out *out)
{
	bool opens = strcmp(r->what, "vm.resumed") != 0;    /* a failover, or a member died */

	if (known(p, r->event_id))
		return false;            /* resent */
	switch (p->state) {
	case COLO_UNKNOWN:
	case COLO_PROTECTED:
		if (!opens || (p->state == COLO_PROTECTED && r->ts_us < p->since_us))
			return false;
		if (strcmp(r->what, "vm.vanished") == 0 && !r->side[0])
			return false;    /* it was not in COLO when it died */
		start_episode(p, r, now_us, wait_us);
		break;
	case COLO_FAILING:
		if (r->ts_us + COLO_EPISODE_US < p->since_us)
			return false;
		merge(p, r);
		break;
	case COLO_LOST:
		if (r->ts_us + COLO_EPISODE_US < p->since_us)
			return false;
		if (strcmp(r->what, "colo.failover") == 0 && r->ts_us > p->since_us + COLO_EPISODE_US) {
			start_episode(p, r, now_us, wait_us);    /* failed over again, no COLO between */
			break;
		}
		merge(p, r);
		if (!p->split && nclaims(p) >= 2) {
			made_split(p, now_us, out);     /* the second claimant spoke late */
			p->split = true;
		}
		return true;
	}
	if (decidable(p))
		decide(p, now_us, out);
	return true;
}

bool colo_feed(struct colo_pair *p, const struct incident_input *in, long long now_us, long long wait_us,
	       struct incident_out *out)
{
	struct colo_report r;

	if (in->vm_name && *in->vm_name)
		hvt_strlcpy(p->vm_name, in->vm_name, sizeof p->vm_name);
	if (in->vm_uuid && *in->vm_uuid)
		hvt_strlcpy(p->vm_uuid, in->vm_uuid, sizeof p->vm_uuid);
	if (strcmp(in->type, "colo.entered") == 0)
		return entered(p, in, now_us, out);
	if (!report_of(in, &r))
		return false;
	return report(p, &r, now_us, wait_us, out);
}

bool colo_due(struct colo_pair *p, long long now_us, struct incident_out *out)
{
	if (p->state != COLO_FAILING || !p->deadline_us || now_us < p->deadline_us)
		return false;
	decide(p, now_us, out);
	return true;
}
