/* alert_page.h - the alert people are paged about, and its lifecycle.
 *
 * A rule that fires decides about one event (alert_fire.c: exactly once
 * per rule and event).  What reaches a person is a page: the fired
 * decisions of one rule whose group_by labels are equal (by default host
 * and VM), gathered for group_wait so that a host failing over 40 VMs is
 * one page listing them.  A page has a stable key (the rule and the group
 * labels, hashed): PagerDuty's dedup_key, Alertmanager's hvtrail_key label,
 * `hvtrail alerts ack KEY`.
 *
 *   pending --group_wait--> firing --every member resolved--> resolved
 *   (a rule without resolve and not a host-silence rule: one-shot, the page
 *   closes right after it is sent; the next decision opens a new one)
 *
 * A member (one host/VM) resolves when an event of the rule's resolve
 * types arrives for its VM (or host, for members without one), or, for
 * host-silence rules, when the host speaks again.  What people are told is
 * reconciled, not replayed: page_plan() compares the members that should be
 * firing and unmuted now (silences, inhibition) with what the last
 * notification said, and decides the next notification - opened, updated
 * (members joined, resolved or were unmuted; at most one per
 * group_interval), resolved, or acknowledged - or that the change is muted.
 * The page is a JSON object (saved as it is in alerts.db); these functions
 * are pure, alert_notify.c does the writing. */
#ifndef HVT_COL_ALERT_PAGE_H
#define HVT_COL_ALERT_PAGE_H

#include <stdbool.h>
#include <json-c/json.h>

enum page_transition {
	PT_NONE = 0,
	PT_OPENED,                /* first notification: firing */
	PT_UPDATED,               /* the firing members changed */
	PT_RESOLVED,              /* every member resolved (after a firing notification) */
	PT_ACKNOWLEDGED,          /* someone acknowledged it (hvtrail alerts ack) */
};
extern const char *const page_transition_names[];   /* "", "opened", "updated", ... */

struct page_plan {
	enum page_transition notify;   /* what to tell people now */
	bool close;               /* resolved or one-shot: the page is done */
	bool muted_now;           /* firing members exist, all muted: record it once */
	long long wait_until_us;  /* nothing now; look again then (0 = only on change) */
};

/* Is this member muted right now, and why (a silence id, "inhibited by KEY")?
 * why may be left empty. */
typedef bool (*page_mute_fn)(void *arg, json_object *page, json_object *member, char *why, size_t size);

/* A new page (state pending, notify at now + group_wait). */
json_object *page_new(const char *key, long long inst, const char *rule, json_object *labels, long long now_us,
		      long long group_wait_us, bool one_shot);
/* A fired decision joins: a new member, or a member firing again.
 * member: host, hosts[], vm, vm_uuid, type, alert_id, summary, severity. */
void page_join(json_object *page, json_object *member, long long now_us);
/* Resolve the members of vm (uuid or name), or of host when they have no
 * VM; true when one changed. */
bool page_resolve(json_object *page, const char *vm_uuid, const char *vm_name, const char *host,
		  const char *by_event, long long now_us);
/* Decide what is due at now. */
void page_plan(json_object *page, long long now_us, long long group_interval_us, page_mute_fn muted, void *arg,
	       struct page_plan *plan);
/* Record that plan was carried out at now (notified set, state). */
void page_apply(json_object *page, const struct page_plan *plan, long long now_us, page_mute_fn muted, void *arg);
/* Acknowledge; false when it already was. */
bool page_ack(json_object *page, json_object *by, const char *comment, long long now_us);

/* Accessors. */
const char *page_str(json_object *page, const char *key);
long long page_int(json_object *page, const char *key);
json_object *page_members(json_object *page);
/* The members that are firing and not muted, and how many firing there are. */
int page_active(json_object *page, page_mute_fn muted, void *arg, json_object **active);
/* The key of a member: "host\x1fvm". */
char *page_member_key(const char *host, const char *vm_uuid, const char *vm_name);

#endif
