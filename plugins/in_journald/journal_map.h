/* journal_map.h - one journal entry in, one hvtrail event out.
 *
 * Pure: no sd-journal, no clock, no I/O.  The entry is a jd_entry (field
 * name/value pairs, its realtime stamp and cursor); the event is complete
 * except for the identity the forwarder assigns.  Which entry becomes
 * which event (docs/events.md, "Journal input"):
 *   audit VIRT_CONTROL (and libvirt's log copy of it) -> vm.started,
 *     vm.stopped, vm.start_failed, snapshot.reverted, migration.incoming.failed ...
 *   audit VIRT_RESOURCE / VIRT_MACHINE_ID -> vm.resource / vm.security_label
 *   systemd-machined's machine start/stop -> vm.registered / vm.unregistered
 *   a libvirt error about a migration -> migration.failed
 *   anything else -> journal.message with the carried fields
 * Every event has source "journald", ts = the entry's realtime stamp and
 * data.cursor = its journal cursor. */
#ifndef HVT_JOURNAL_MAP_H
#define HVT_JOURNAL_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "journal_fields.h"
#include "journal_jcache.h"

#define JD_MSG_MAX_DEFAULT 1024

struct jd_map_opts {
	/* libvirt logs a copy of each audit record it writes (log source
	 * conf.domain_audit, at info level; failures at warning).  true: map
	 * them like the audit records; false: journal.message, because the
	 * kernel audit records are in the journal too and would double them. */
	bool libvirt_audit_events;
	size_t max_msg;                 /* bytes of the event's one-line msg */
	struct jd_jcache *cache;        /* optional: share repeating values (one thread only) */
};

void jd_map_opts_default(struct jd_map_opts *o);

/* Never NULL. */
struct hvt_event *jd_map(const struct jd_entry *e, const struct jd_map_opts *o);

/* Is this a kernel audit record of libvirt's (VIRT_*)? */
bool jd_entry_is_virt_audit(const struct jd_entry *e);

#endif
