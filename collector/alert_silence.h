/* alert_silence.h - silences and maintenance windows.
 *
 * A silence mutes the members of alerts its matchers select (shell globs on
 * the rule, a host the member involves, its VM by name or UUID, its event
 * type; every matcher given must hold) from its start to its end.  A
 * maintenance window is a silence that starts later.  Muted members are
 * decided and recorded like any other; only the notification is withheld
 * (alert.muted says which silence), and when the silence ends a member
 * still firing is notified then.
 *
 * Silences come from `hvtrail silence add` through the collector's control
 * socket (alert_control.c), which records who asked (the socket peer's
 * uid, from the kernel) in a silence.created event in the collector's
 * stream, before it answers; `silence expire` and the silence's end are
 * silence.expired events.  Pure functions here; the store and the control
 * socket do the writing. */
#ifndef HVT_COL_ALERT_SILENCE_H
#define HVT_COL_ALERT_SILENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#define SILENCE_MAX_US (366LL * 86400 * 1000000)   /* longest silence */
#define SILENCE_REASON_MAX 1000
#define SILENCE_MATCHER_MAX 256
#define SILENCES_ACTIVE_MAX 10000

/* Does the silence mute this member of this page? */
bool silence_matches(json_object *silence, json_object *page, json_object *member);
/* A silence from a control request {"matchers": {...}, "starts": us|absent,
 * "ends": us | "duration_s": s, "reason", "author"} made by `by` (the
 * requester, owned by the result).  NULL with err when the request is not
 * a valid silence. */
json_object *silence_from_request(json_object *req, const char *id, json_object *by, long long now_us, char *err,
				  size_t errsize);
/* "vm=web01 host=hv1*" */
char *silence_matchers_text(json_object *silence);

#endif
