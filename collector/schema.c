/* schema.c - every key of [collector], [listen], [inbox], [alerting] and [alert:NAME]. */
#include "config.h"

#include "schema.h"
#include "tlscheck.h"

const struct hvt_conf_key col_schema_collector[] = {
	{ "state_dir", HVT_CONF_PATH, "/var/lib/hvtrail/collector", "where the inbox and state live",
	  NULL, 0, 0, 0 },
	{ "plugin_dir", HVT_CONF_STRING, "", "colon-separated plugin directories (default: the built-in "
	  "plugin directory)", NULL, 0, 0, 0 },
	{ "log_level", HVT_CONF_ENUM, "info", "least severe message logged",
	  "emerg|alert|crit|err|error|warning|notice|info|debug", 0, 0, 0 },
	{ "user", HVT_CONF_STRING, "", "drop privileges to this user after binding (empty: stay)",
	  NULL, 0, 0, 0 },
	{ "group", HVT_CONF_STRING, "", "group to drop to (default: the user's primary group)", NULL, 0, 0, 0 },
	{ "batch_size", HVT_CONF_INT, "10000", "most events indexed in one transaction", NULL, 1, 1000000, 0 },
	{ "batch_delay", HVT_CONF_DURATION, "20ms", "longest wait for more events before a partial batch "
	  "is indexed (latency vs. throughput)", NULL, 0, 10000, 0 },
	{ "max_message_size", HVT_CONF_SIZE, "64K", "largest single event JSON accepted; agree with the "
	  "forwarders' max_event_size", NULL, 1024, 16 << 20, 0 },
	{ "max_json_depth", HVT_CONF_INT, "32", "deepest JSON nesting accepted in an event", NULL, 2, 1000, 0 },
	{ "max_field_length", HVT_CONF_INT, "256", "longest host, type, VM name/UUID, source or id", NULL,
	  16, 65536, 0 },
	{ "identity", HVT_CONF_ENUM, "refuse", "events of a stream that no valid seal binds to the host "
	  "they claim: refuse, quarantine (kept out of the trail), or off (accept; for plaintext or "
	  "forwarders that cannot sign)", "refuse|quarantine|off", 0, 0, 0 },
	{ "host_map", HVT_CONF_LIST, "", "certificate names allowed to speak for other host names, as "
	  "certname:host items (default: a certificate speaks for the names in it)", NULL, 0, 0, 0 },
	HVT_CONF_END
};

const struct hvt_conf_key col_schema_listen[] = {
	{ "address", HVT_CONF_STRING, "0.0.0.0", "address to listen on", NULL, 0, 0, 0 },
	{ "port", HVT_CONF_INT, "2514", "TCP port", NULL, 1, 65535, 0 },
	{ "tls", HVT_CONF_BOOL, "yes", "require RELP over TLS; 'no' accepts plaintext and is logged loudly",
	  NULL, 0, 0, 0 },
	{ "tls_ca", HVT_CONF_PATH, "/etc/hvtrail/tls/ca.pem", "CA certificate(s) forwarder certificates must "
	  "chain to", NULL, 0, 0, 0 },
	{ "tls_cert", HVT_CONF_PATH, "/etc/hvtrail/tls/collector.pem", "this collector's certificate", NULL, 0, 0, 0 },
	{ "tls_key", HVT_CONF_PATH, "/etc/hvtrail/tls/collector.key", "its private key", NULL, 0, 0, 0 },
	{ "permitted_peers", HVT_CONF_LIST, "", "forwarder certificate names (wildcards like *.hv.example.org) "
	  "or SHA-1 fingerprints allowed to connect", NULL, 0, 0, 0 },
	{ "auth_mode", HVT_CONF_ENUM, "name", "how forwarder certificates are checked",
	  "name|fingerprint|certvalid", 0, 0, 0 },
	{ "tls_priority", HVT_CONF_STRING, HVT_TLS_PRIORITY_DEFAULT, "GnuTLS priority string (see docs/security.md)",
	  NULL, 0, 0, 0 },
	{ "max_frame_size", HVT_CONF_SIZE, "1M", "largest RELP frame; a bigger one aborts its session "
	  "(it is never acknowledged)", NULL, 4096, 256 << 20, 0 },
	{ "keepalive", HVT_CONF_BOOL, "yes", "TCP keepalive on sessions", NULL, 0, 0, 0 },
	HVT_CONF_END
};

const struct hvt_conf_key col_schema_inbox[] = {
	{ "dir", HVT_CONF_PATH, "", "inbox directory (default: STATE_DIR/inbox)", NULL, 0, 0, 0 },
	{ "max_size", HVT_CONF_SIZE, "1G", "received but not yet indexed events kept at most; beyond it "
	  "the collector stops acknowledging (forwarders keep their spools)", NULL, 1 << 20, 0, 0 },
	{ "fsync", HVT_CONF_ENUM, "always", "when a received frame is forced to disk before it is "
	  "acknowledged: always (every frame), interval, never (survives a collector crash, not a "
	  "machine crash)", "never|interval|always", 0, 0, 0 },
	{ "fsync_interval", HVT_CONF_DURATION, "1s", "with fsync = interval, the longest time an "
	  "acknowledged event stays only in the page cache", NULL, 1, 3600 * 1000, 0 },
	{ "segment_size", HVT_CONF_SIZE, "16M", "size of one inbox segment file", NULL, 64 << 10, 1 << 30, 0 },
	HVT_CONF_END
};

/* [alerting]: what every rule shares (docs/alerting.md). */
const struct hvt_conf_key col_schema_alerting[] = {
	{ "retry_min", HVT_CONF_DURATION, "1s", "wait after a failed delivery before the next attempt; "
	  "doubles with each failure (+-20 % jitter)", NULL, 10, 3600 * 1000, 0 },
	{ "retry_max", HVT_CONF_DURATION, "5m", "longest wait between two attempts of one delivery",
	  NULL, 10, 86400 * 1000, 0 },
	{ "retention", HVT_CONF_DURATION, "30d", "how long a decided alert is remembered: an event "
	  "resent within this time never fires again (STATE_DIR/alerts.db)", NULL, 3600 * 1000,
	  3650LL * 86400 * 1000, 0 },
	{ "check_interval", HVT_CONF_DURATION, "1s", "how often host-silence rules look at the hosts",
	  NULL, 100, 600 * 1000, 0 },
	{ "control_socket", HVT_CONF_PATH, "", "the unix socket `hvtrail silence` and `hvtrail alerts ack` "
	  "talk to (default: STATE_DIR/control.sock); every request is recorded with the uid that made it",
	  NULL, 0, 0, 0 },
	{ "control_group", HVT_CONF_STRING, "", "group that may use the control socket (mode 0660; default: "
	  "the collector's group)", NULL, 0, 0, 0 },
	{ "incidents", HVT_CONF_BOOL, "yes", "record incidents: what the collector concludes from several "
	  "hosts' events (colo.split_brain, colo.protection_lost/_restored, migration.failed with both "
	  "sides), also when no rule fires on them", NULL, 0, 0, 0 },
	{ "incident_wait", HVT_CONF_DURATION, "5s", "how long an incident waits for the other host's side "
	  "(the other half of a COLO pair, a migration's other end) before it is recorded without it", NULL,
	  0, 600 * 1000, 0 },
	HVT_CONF_END
};

/* [alert:NAME]: one rule (collector/alert_rules.h). */
const struct hvt_conf_key col_schema_alert[] = {
	{ "enabled", HVT_CONF_BOOL, "yes", "'no' keeps the rule in the file without evaluating it",
	  NULL, 0, 0, 0 },
	{ "type", HVT_CONF_LIST, "", "event types the rule fires on, as shell globs (colo.failover, "
	  "migration.*); required unless silent_after is set", NULL, 0, 0, 0 },
	{ "host", HVT_CONF_STRING, "*", "hosts (shell glob) the rule applies to; an incident applies when "
	  "any host it involves matches", NULL, 0, 0, 0 },
	{ "source", HVT_CONF_LIST, "", "inputs (shell globs) whose events the rule fires on: qmp, journald, "
	  "local, ... or collector for the collector's incidents; empty: any", NULL, 0, 0, 0 },
	{ "vm", HVT_CONF_STRING, "", "VM name or UUID (shell glob); empty: any event, with or without a VM",
	  NULL, 0, 0, 0 },
	{ "match", HVT_CONF_LIST, "", "conditions on the event's data, all of which must hold: "
	  "FIELD=GLOB or FIELD!=GLOB, FIELD a dotted path below data (side=secondary)", NULL, 0, 0, HVT_CONF_BLANKS },
	{ "severity", HVT_CONF_STRING, "", "only events at least this severe (emerg .. debug); empty: any",
	  NULL, 0, 0, 0 },
	{ "actions", HVT_CONF_LIST, "", "action instances to notify: their section names (act_webhook:pager, "
	  "or webhook:pager); none: the alert is only recorded", NULL, 0, 0, 0 },
	{ "dedup_window", HVT_CONF_DURATION, "0", "a match with the same host, VM and type as an alert "
	  "fired less than this ago is counted, not fired (0 = off)", NULL, 0, 30LL * 86400 * 1000, 0 },
	{ "rate_limit", HVT_CONF_STRING, "", "at most N alerts of this rule per period, as N/PERIOD "
	  "(10/1m); further matches are counted, not fired (empty = no limit)", NULL, 0, 0, 0 },
	{ "expire", HVT_CONF_DURATION, "1d", "a delivery not done this long after the alert fired is "
	  "given up (alert.failed, final)", NULL, 1000, 365LL * 86400 * 1000, 0 },
	{ "silent_after", HVT_CONF_DURATION, "0", "makes this a host-silence rule: fire when a host "
	  "matching host has sent nothing (events, stats reports) for this long; once per silence "
	  "(0 = an event rule)", NULL, 0, 365LL * 86400 * 1000, 0 },
	{ "group_by", HVT_CONF_LIST, "host, vm", "labels whose values make one alert (one page): host, vm, "
	  "type, source, data.FIELD; group_by = host pages once per host, listing its VMs", NULL, 0, 0, 0 },
	{ "group_wait", HVT_CONF_DURATION, "0", "how long a new alert gathers members before its first "
	  "notification (a host failing over 40 VMs is one page)", NULL, 0, 3600 * 1000, 0 },
	{ "group_interval", HVT_CONF_DURATION, "1m", "least time between two notifications of one alert "
	  "whose members changed", NULL, 0, 86400 * 1000, 0 },
	{ "resolve", HVT_CONF_LIST, "", "event types (globs) that resolve a member: an event of the same VM "
	  "(or host, for members without a VM); empty: the alert is one-shot, done once sent (a "
	  "host-silence rule resolves when the host speaks again)", NULL, 0, 0, 0 },
	{ "inhibited_by", HVT_CONF_LIST, "", "rules whose firing alerts mute this rule's members that share "
	  "a host (or VM) with theirs: host_silent mutes the pages of a silent host's VMs", NULL, 0, 0, 0 },
	{ "summary", HVT_CONF_STRING, "", "one line for people; {host} {vm} {type} {time} {severity} "
	  "{rule} {id} {msg} and {data.FIELD} are replaced (default: TYPE on HOST: VM NAME)", NULL, 0, 0, 0 },
	HVT_CONF_END
};

/* The optional HTTPS endpoint (collector/http.h): off unless [http] is there. */
const struct hvt_conf_key col_schema_http[] = {
	{ "address", HVT_CONF_STRING, "127.0.0.1", "address to serve the web UI, the JSON API and /metrics on "
	  "(loopback unless you say otherwise)", NULL, 0, 0, 0 },
	{ "port", HVT_CONF_INT, "8443", "TCP port", NULL, 1, 65535, 0 },
	{ "tls_cert", HVT_CONF_PATH, NULL, "the endpoint's certificate (PEM); HTTPS only", NULL, 0, 0,
	  HVT_CONF_REQUIRED },
	{ "tls_key", HVT_CONF_PATH, NULL, "its private key (0600, or 0640 with the daemon's group)", NULL, 0,
	  0, HVT_CONF_REQUIRED },
	{ "tls_priority", HVT_CONF_STRING, HVT_TLS_PRIORITY_DEFAULT, "GnuTLS priority string", NULL, 0, 0, 0 },
	{ "client_ca", HVT_CONF_PATH, "", "admit clients with a certificate this CA issued (Prometheus, "
	  "scripts)", NULL, 0, 0, 0 },
	{ "permitted_clients", HVT_CONF_LIST, "", "with client_ca: only certificates with one of these "
	  "names: the certificate's DNS names (subjectAltName), its CN only when it has none; shell globs "
	  "matched label by label (*.ops.example is not a.b.ops.example); empty: any the CA issued", NULL, 0, 0, 0 },
	{ "token_file", HVT_CONF_PATH, "", "admit requests with 'Authorization: Bearer TOKEN', TOKEN the "
	  "file's first line (a browser: open https://HOST:PORT/#token=TOKEN)", NULL, 0, 0, 0 },
	{ "max_connections", HVT_CONF_INT, "32", "connections served at once", NULL, 1, 10000, 0 },
	{ "max_per_ip", HVT_CONF_INT, "8", "connections from one address at once", NULL, 1, 10000, 0 },
	{ "timeout", HVT_CONF_DURATION, "10s", "an idle connection is closed after this, and one whose "
	  "request (TLS handshake and headers) is not in full within it", NULL, 1000,
	  3600000, 0 },
	{ "max_rows", HVT_CONF_INT, "1000", "most events one API request returns (limit= asks for fewer)",
	  NULL, 1, 100000, 0 },
	HVT_CONF_END
};

const struct hvt_core_section col_core_sections[] = {
	{ "http", col_schema_http, false },
	{ "collector", col_schema_collector, false },
	{ "listen", col_schema_listen, true },
	{ "inbox", col_schema_inbox, false },
	{ "alerting", col_schema_alerting, false },
	{ "alert", col_schema_alert, true },
	{ NULL, NULL, false }
};
