# tests/lib/hvtrail.sh - start real collectors and forwarders of this build
# with certificates from pki.sh (bash; source after common.sh and pki.sh).
#
#   hvt_pki                          the test PKI in $PKI ($WORK/pki)
#   start_collector NAME [CONF...]   a collector on 127.0.0.1; extra lines are
#                                    appended to its config.  Sets NAME's port
#                                    in COL_PORT[NAME], its index in COL_DB[NAME]
#   start_forwarder NAME CERT TARGETS [CONF...]
#                                    a forwarder with host CERT.test whose
#                                    certificate is $PKI/CERT.pem; TARGETS is
#                                    the out_relp target list; extra lines
#                                    (input sections) are appended
#   trail NAME [QUERY OPTIONS]       hvtrail query -o json on NAME's index
# shellcheck shell=bash

declare -A COL_PORT=() COL_DB=()
PKI=$WORK/pki

# bench_prologue: what a benchmark run outside `make check` needs - QEMU,
# certtool, this build's programs, and its plugins on HVTRAIL_PLUGIN_PATH
# (unless the caller set one).
bench_prologue() {
	require_cmd "${QEMU:-qemu-system-x86_64}" certtool
	require_bin "$COLLECTOR" "$FORWARDER" "$HVTRAIL"
	if [ -z "${HVTRAIL_PLUGIN_PATH:-}" ]; then
		HVTRAIL_PLUGIN_PATH=$(ls -d "$HVT_BUILDDIR"/plugins/*/.libs | tr '\n' ':')
		export HVTRAIL_PLUGIN_PATH
	fi
}

hvt_pki() { [ -f "$PKI/ca.pem" ] || make_pki "$PKI"; }

# collector_conf NAME PORT PEERS: the standard collector configuration.
collector_conf() {
	cat <<-CONF
	[collector]
	state_dir = $WORK/$1
	batch_delay = 5ms
	[listen]
	address = 127.0.0.1
	port = $2
	tls_ca = $PKI/ca.pem
	tls_cert = $PKI/collector.pem
	tls_key = $PKI/collector.key
	permitted_peers = ${3:-hv1.test, hv2.test}
	[idx_sqlite]
	path = $WORK/$1/trail.db
	CONF
}

# conf_merge: a configuration on stdin with each repeated [section] folded
# into its first appearance (a section may appear once per file), so the
# extra lines given to start_collector/start_forwarder may add keys to the
# standard sections.
conf_merge() {
	awk '
	/^[ \t]*\[[^]]+\][ \t]*$/ {
		name = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", name)
		if (!(name in body)) { order[++n] = name; body[name] = "" }
		cur = name; next
	}
	{ if (cur == "") pre = pre $0 "\n"; else body[cur] = body[cur] $0 "\n" }
	END {
		printf "%s", pre
		for (i = 1; i <= n; i++) printf "[%s]\n%s", order[i], body[order[i]]
	}'
}

start_collector() {
	local name=$1; shift
	local port
	hvt_pki
	port=$(free_port)
	{ collector_conf "$name" "$port"; printf '%s\n' "$@"; } | conf_merge >"$WORK/$name.conf"
	start_bg "$name" "$COLLECTOR" -c "$WORK/$name.conf"
	COL_PORT[$name]=$port
	COL_DB[$name]=$WORK/$name/trail.db
	wait_until 10 "collector $name listens on port $port" port_open "$port"
}

# forwarder_conf NAME CERT TARGETS: the standard forwarder configuration.
forwarder_conf() {
	cat <<-CONF
	[forwarder]
	host = ${2%%-*}.test
	state_dir = $WORK/$1
	[spool]
	fsync = never
	[out_relp]
	target = $3
	permitted_peers = collector.test
	tls_ca = $PKI/ca.pem
	tls_cert = $PKI/$2.pem
	tls_key = $PKI/$2.key
	reconnect_max = 2s
	flush_idle = 50ms
	CONF
}

start_forwarder() {
	local name=$1 cert=$2 targets=$3; shift 3
	hvt_pki
	{ forwarder_conf "$name" "$cert" "$targets"; printf '%s\n' "$@"; } | conf_merge >"$WORK/$name.conf"
	start_bg "$name" "$FORWARDER" -c "$WORK/$name.conf"
}

trail() {
	local name=$1; shift
	"$HVTRAIL" query --db "${COL_DB[$name]}" -o json "$@"
}

# trail_count NAME [QUERY OPTIONS]: how many events match.
trail_count() { trail "$@" | wc -l; }

# has_events NAME N [QUERY OPTIONS]: at least N events match (wait_until).
has_events() {
	local name=$1 n=$2; shift 2
	[ -f "${COL_DB[$name]}" ] && [ "$(trail_count "$name" "$@")" -ge "$n" ]
}

# has_final_seal NAME: the collector stored a valid final seal (wait_until).
has_final_seal() {
	[ -f "${COL_DB[$1]}" ] &&
		[ "$(sqlite3 "${COL_DB[$1]}" 'select count(*) from seals where final = 1 and valid = 1')" -ge 1 ]
}

# jq-like field extraction without jq: json_field 'e["vm"]["name"]' < lines
json_field() {
	"$PYTHON" -c '
import json, sys
expr = sys.argv[1]
for line in sys.stdin:
    e = json.loads(line)
    try:
        print(eval(expr))
    except (KeyError, TypeError):
        print("")' "$1"
}
