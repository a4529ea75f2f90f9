/* alert_rules.h - alert rules: which stored events fire, and how often.
 *
 * A rule comes from an [alert:NAME] section (docs/alerting.md).
 * alert_rule_matches() looks at one event; alert_rule_decide() applies the
 * dedup window and then the rate limit to a match.  The decision state
 * (when each dedup key last fired, when the last N alerts fired) lives in
 * memory and is rebuilt from the alert store at start with
 * alert_rule_note_fired(), so a restart neither forgets a window nor lets a
 * burst through twice.  Pure logic, no I/O, no locking: the unit tests drive
 * it with their own clock, the engine (alerts.c) serialises the calls. */
#ifndef HVT_COL_ALERT_RULES_H
#define HVT_COL_ALERT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "conf.h"

enum alert_decision {
	ALERT_FIRE,               /* fire: a new alert with deliveries */
	ALERT_DEDUP,              /* same host, VM and type fired within dedup_window */
	ALERT_RATE,               /* the rule fired rate_n times within rate_period */
};
extern const char *const alert_decision_names[];    /* "fired", "deduplicated", "rate_limited" */

struct alert_match {
	char *path;               /* below data, dotted */
	char *glob;
	bool negate;              /* FIELD!=GLOB */
};

/* What a rule looks at: one stored event.  data is parsed from raw on
 * demand (only rules with match= need it); alert_view_free() drops it. */
struct alert_view {
	const char *host, *type, *id, *vm_name, *vm_uuid;
	const char *source;       /* the input; "collector" only for the collector's incidents */
	bool incident;            /* the collector's: host is data.host, data.hosts all involved */
	int severity;
	long long ts_us;
	const char *raw;          /* the event JSON, or NULL */
	size_t raw_len;
	json_object *root;        /* parsed raw (owned), or NULL */
	json_object *data;        /* root's data, or a synthesised one (owned by root) */
	bool parsed;
};
json_object *alert_view_data(struct alert_view *v);
/* Parse JSON the collector stored or wrote itself (already validated on
 * arrival, possibly deeper than json-c's default depth); NULL if it is not. */
json_object *alert_json_parse(const char *text, size_t len);
void alert_view_free(struct alert_view *v);

struct dedup_entry {
	char *key;
	long long t_ms;
};

struct alert_rule {
	char *name;               /* the NAME of [alert:NAME] */
	char where[300];          /* "file:line" of the section, for messages */
	char **types;             /* globs, NULL-terminated; empty for silence rules */
	int ntypes;
	char *host, *vm;          /* globs; vm NULL = any */
	char **sources;           /* globs, NULL-terminated; empty = any */
	int nsources;
	struct alert_match *match;
	int nmatch;
	int max_severity;         /* fire for severity <= this (7: any) */
	char **actions;           /* section names of action instances, NULL-terminated */
	int nactions;
	long long dedup_ms, expire_ms, silent_ms;
	int rate_n;               /* 0: no rate limit */
	long long rate_ms;
	char *summary;            /* template, or NULL */
	/* the alert people are paged about (alert_page.h) */
	char **group_by;          /* labels: host, vm, type, source, data.FIELD */
	int ngroup_by;
	long long group_wait_ms, group_interval_ms;
	char **resolve;           /* type globs of events that resolve a member */
	int nresolve;
	char **inhibited_by;      /* rule names whose firing alerts mute this one's members */
	int ninhibited_by;
	/* decision state */
	long long *ring;          /* the last rate_n fire times (ms), oldest at ring_head */
	int ring_head, ring_n;
	struct dedup_entry *dedup;
	size_t ndedup, cap_dedup;
	uint64_t suppressed;      /* matches not fired since the rule last fired */
};

/* Parse one [alert:NAME] section whose values the schema already checked;
 * problems are reported with hvt_conf_error (file:line).  NULL if invalid. */
struct alert_rule *alert_rule_parse(struct hvt_conf *c, const struct hvt_conf_section *s,
				    const struct hvt_conf_key *schema);
void alert_rule_free(struct alert_rule *r);
/* "10/1m" -> 10, 60000; -1 when it is not N/DURATION with N >= 1. */
int alert_rate_parse(const char *s, int *n, long long *period_ms);

bool alert_rule_is_silence(const struct alert_rule *r);
/* Does the event match type, host, vm, severity and every match= clause?
 * The same as alert_rule_type_matches() && alert_rule_rest_matches(); the
 * engine caches the first per type (a few types, millions of events). */
bool alert_rule_matches(const struct alert_rule *r, struct alert_view *v);
bool alert_rule_type_matches(const struct alert_rule *r, const char *type);
bool alert_rule_rest_matches(const struct alert_rule *r, struct alert_view *v);
/* The key dedup_window compares: host, VM and type (malloc'ed). */
char *alert_dedup_key(const struct alert_view *v);
/* Decide about a match at now_ms; a FIRE is remembered (dedup, rate). */
enum alert_decision alert_rule_decide(struct alert_rule *r, const char *dkey, long long now_ms);
/* Rebuild state: an alert with this key fired at t_ms (oldest first). */
void alert_rule_note_fired(struct alert_rule *r, const char *dkey, long long t_ms);
/* The one-line summary: the rule's template, or "TYPE on HOST: VM NAME". */
char *alert_summary(const struct alert_rule *r, struct alert_view *v, const char *alert_id);
/* Does an event of this type resolve this rule's alerts? */
bool alert_rule_resolves(const struct alert_rule *r, const char *type);
/* Alerts of this rule end after one notification (no resolve, no silence). */
bool alert_rule_one_shot(const struct alert_rule *r);
/* The group labels of a match (a JSON object) and the alert's key from
 * them: 16 hex digits of SHA-256 over the rule's name and the labels. */
json_object *alert_group_labels(const struct alert_rule *r, struct alert_view *v);
void alert_group_key(const struct alert_rule *r, json_object *labels, char out[17]);

#endif
