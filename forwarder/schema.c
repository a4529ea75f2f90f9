/* schema.c - every key of [forwarder] and [spool], with defaults and the
 * one-line help that docs/config.md is checked against. */
#include "config.h"

#include "schema.h"

const struct hvt_conf_key fwd_schema_forwarder[] = {
	{ "host", HVT_CONF_STRING, "", "host identity stamped on every event (default: the system host name); "
	  "must match this forwarder's certificate name", NULL, 0, 0, 0 },
	{ "state_dir", HVT_CONF_PATH, "/var/lib/hvtrail/forwarder", "where the spool and the inputs' state (journal "
	  "cursors, VM state) live", NULL, 0, 0, 0 },
	{ "plugin_dir", HVT_CONF_STRING, "", "colon-separated plugin directories (default: the built-in "
	  "plugin directory)", NULL, 0, 0, 0 },
	{ "log_level", HVT_CONF_ENUM, "info", "least severe message logged",
	  "emerg|alert|crit|err|error|warning|notice|info|debug", 0, 0, 0 },
	{ "facility", HVT_CONF_STRING, "daemon", "syslog facility in the PRI of each RFC 5424 message",
	  NULL, 0, 0, 0 },
	{ "max_event_size", HVT_CONF_SIZE, "64K", "largest event JSON; bigger events keep their identity "
	  "and lose their data (flagged truncated)", NULL, 1024, 16 << 20, 0 },
	{ "user", HVT_CONF_STRING, "", "drop privileges to this user after start-up (empty: stay)",
	  NULL, 0, 0, 0 },
	{ "group", HVT_CONF_STRING, "", "group to drop to (default: the user's primary group)",
	  NULL, 0, 0, 0 },
	HVT_CONF_END
};

const struct hvt_conf_key fwd_schema_spool[] = {
	{ "dir", HVT_CONF_PATH, "", "spool directory (default: STATE_DIR/spool)", NULL, 0, 0, 0 },
	{ "max_size", HVT_CONF_SIZE, "1G", "bound on the spool's disk use", NULL, 1 << 20, 0, 0 },
	{ "full_policy", HVT_CONF_ENUM, "block", "at max_size: block = pause inputs, lose nothing; "
	  "drop-oldest = delete the oldest unsent events, counted and reported as a spool.dropped event",
	  "block|drop-oldest", 0, 0, 0 },
	{ "fsync", HVT_CONF_ENUM, "interval", "when spooled events are forced to disk: never (survives a "
	  "crash of the forwarder, not of the machine), interval, always (every batch)",
	  "never|interval|always", 0, 0, 0 },
	{ "fsync_interval", HVT_CONF_DURATION, "1s", "with fsync = interval, the longest time an event "
	  "stays only in the page cache", NULL, 1, 3600 * 1000, 0 },
	{ "segment_size", HVT_CONF_SIZE, "16M", "size of one spool segment file", NULL, 64 << 10, 1 << 30, 0 },
	{ "key_window", HVT_CONF_INT, "65536", "idempotency keys remembered (hvtrail emit, hook scripts): a "
	  "keyed event whose key is among the last key_window keys is dropped as a repeat; kept with the "
	  "spool across restarts and crashes (docs/delivery.md)", NULL, 1024, 16 << 20, 0 },
	HVT_CONF_END
};

const struct hvt_core_section fwd_core_sections[] = {
	{ "forwarder", fwd_schema_forwarder, false },
	{ "spool", fwd_schema_spool, false },
	{ NULL, NULL, false }
};
