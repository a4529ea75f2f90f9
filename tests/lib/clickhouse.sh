# tests/lib/clickhouse.sh - ClickHouse (Debian's 18.16) and ZooKeeper started
# by hand on 127.0.0.1 from a test, each with a private config and a fresh
# data directory under $WORK (bash; source after common.sh).
#
#   require_clickhouse             skip (77) unless clickhouse-server, curl and the
#                                  idx_clickhouse plugin of this build exist
#   require_zookeeper              skip unless ZooKeeper's jar and java exist
#   ch_node NAME...                reserve ports and a directory for each node; every
#                                  node reserved so far is one shard of the cluster
#                                  "hvt_shards" and one replica of "hvt_replicas"
#   ch_start NAME                  write NAME's config and start it; wait for /ping.
#                                  With CH_TLS_CERT/CH_TLS_KEY set it also serves HTTPS
#                                  (ch_https_url NAME); CH_PASSWORD sets default's password
#   ch_stop NAME [SIGNAL]          stop it (TERM; KILL after 20 s); data stays
#   ch_url NAME                    its HTTP URL; ch_q NAME SQL: run SQL, print the answer
#   zk_start [NAME]                a standalone ZooKeeper (ZK_PORT); nodes started
#                                  afterwards use it (ReplicatedMergeTree)
#   zk_stop [NAME]
#
# Why a fresh data directory per test and never TRUNCATE: on 18.16 rows
# removed by TRUNCATE or DROP PARTITION come back after a restart while the
# merged-away parts are still on disk (shared/lab/scaleout, ClickHouse#8584).
# shellcheck shell=bash

CH_SERVER=${CH_SERVER:-/usr/sbin/clickhouse-server}
ZK_JAR=${ZK_JAR:-/usr/share/java/zookeeper.jar}
declare -A CH_HTTP=() CH_HTTPS=() CH_TCP=() CH_ISP=() CH_NUM=()
CH_NODES=()
ZK_PORT=

require_clickhouse() {
	[ -x "$CH_SERVER" ] || skip "clickhouse-server is not installed (apt-get install clickhouse-server)"
	[ -e "$HVT_BUILDDIR/plugins/idx_clickhouse/idx_clickhouse.la" ] ||
		skip "idx_clickhouse is not built (configure found no libcurl)"
	require_cmd curl
}

require_zookeeper() {
	[ -f "$ZK_JAR" ] || skip "ZooKeeper is not installed (apt-get install zookeeper)"
	require_cmd java
}

ch_node() {
	local name
	for name in "$@"; do
		CH_NODES+=("$name")
		CH_NUM[$name]=${#CH_NODES[@]}
		CH_HTTP[$name]=$(free_port)
		CH_HTTPS[$name]=$(free_port)
		CH_TCP[$name]=$(free_port)
		CH_ISP[$name]=$(free_port)
		mkdir -p "$WORK/$name"/{data,tmp,user_files,format_schemas}
	done
}

ch_url() { printf 'http://127.0.0.1:%s/\n' "${CH_HTTP[$1]}"; }
ch_https_url() { printf 'https://127.0.0.1:%s/\n' "${CH_HTTPS[$1]}"; }

# ch_q NAME SQL: the answer on stdout; non-zero (and the server's message on
# stderr) when the server refuses.
ch_q() {
	curl -sS --fail-with-body ${CH_PASSWORD:+-H "X-ClickHouse-Key: $CH_PASSWORD"} "$(ch_url "$1")" --data-binary "$2"
}

# The cluster definitions every node gets: all reserved nodes as shards,
# and the same nodes as the replicas of one shard.
_ch_clusters() {
	local n
	printf '<remote_servers><hvt_shards>\n'
	for n in "${CH_NODES[@]}"; do
		printf '<shard><replica><host>127.0.0.1</host><port>%s</port></replica></shard>\n' "${CH_TCP[$n]}"
	done
	printf '</hvt_shards><hvt_replicas><shard><internal_replication>true</internal_replication>\n'
	for n in "${CH_NODES[@]}"; do
		printf '<replica><host>127.0.0.1</host><port>%s</port></replica>\n' "${CH_TCP[$n]}"
	done
	printf '</shard></hvt_replicas></remote_servers>\n'
}

_ch_config() {
	local name=$1 d=$WORK/$1
	cat <<-XML
	<?xml version="1.0"?>
	<yandex>
	  <logger><level>warning</level><log>$d/server.log</log><errorlog>$WORK/$name.err.log</errorlog></logger>
	  <listen_host>127.0.0.1</listen_host>
	  <http_port>${CH_HTTP[$name]}</http_port>
	  <tcp_port>${CH_TCP[$name]}</tcp_port>
	  <interserver_http_port>${CH_ISP[$name]}</interserver_http_port>
	  <interserver_http_host>127.0.0.1</interserver_http_host>
	  <path>$d/data/</path><tmp_path>$d/tmp/</tmp_path>
	  <user_files_path>$d/user_files/</user_files_path><format_schema_path>$d/format_schemas/</format_schema_path>
	  <users_config>$d/users.xml</users_config>
	  <default_profile>default</default_profile><default_database>default</default_database>
	  <mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>0</uncompressed_cache_size>
	  <timezone>UTC</timezone><mlock_executable>false</mlock_executable>
	  <keep_alive_timeout>10</keep_alive_timeout>
	  $(_ch_clusters)
	XML
	if [ -n "${CH_TLS_CERT:-}" ]; then
		cat <<-XML
		  <https_port>${CH_HTTPS[$name]}</https_port>
		  <openSSL><server><certificateFile>$CH_TLS_CERT</certificateFile><privateKeyFile>$CH_TLS_KEY</privateKeyFile>
		    <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>
		    <cacheSessions>true</cacheSessions><disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
		    <preferServerCiphers>true</preferServerCiphers></server></openSSL>
		XML
	fi
	if [ -n "$ZK_PORT" ]; then
		printf '  <zookeeper><node><host>127.0.0.1</host><port>%s</port></node><session_timeout_ms>10000</session_timeout_ms></zookeeper>\n' "$ZK_PORT"
		# One shard, this node's replica name; the sharded cluster never uses them.
		printf '  <macros><shard>01</shard><replica>r%s</replica></macros>\n' "${CH_NUM[$name]}"
	fi
	printf '</yandex>\n'
}

_ch_users() {
	cat <<-XML
	<?xml version="1.0"?>
	<yandex>
	  <profiles><default><background_pool_size>4</background_pool_size><max_memory_usage>2000000000</max_memory_usage></default></profiles>
	  <users><default><password>${CH_PASSWORD:-}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
	  <quotas><default/></quotas>
	</yandex>
	XML
}

ch_up() { curl -sf "$(ch_url "$1")ping" >/dev/null 2>&1; }

ch_start() {
	local name=$1
	_ch_config "$name" >"$WORK/$name/config.xml"
	_ch_users >"$WORK/$name/users.xml"
	start_bg "$name" "$CH_SERVER" --config-file="$WORK/$name/config.xml"
	wait_until 60 "clickhouse $name answers on port ${CH_HTTP[$name]}" ch_up "$name"
}

ch_stop() { stop_bg "$1" "${2:-TERM}" 20 || true; }

# A ZooKeeper still starting may accept and not answer: bound the probe.
zk_ok() {
	[ "$(timeout "$(scaled 2)" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && echo ruok >&3 && cat <&3' _ "$ZK_PORT" 2>/dev/null)" = imok ]
}

zk_start() {
	local name=${1:-zk} d=$WORK/${1:-zk}
	[ -n "$ZK_PORT" ] || ZK_PORT=$(free_port)
	mkdir -p "$d/data" "$d/conf"
	cat >"$d/conf/zoo.cfg" <<-CFG
	tickTime=500
	dataDir=$d/data
	clientPort=$ZK_PORT
	clientPortAddress=127.0.0.1
	admin.enableServer=false
	4lw.commands.whitelist=ruok
	maxSessionTimeout=20000
	CFG
	# Logging: warnings only, on stdout (the test's $WORK/NAME.log).
	printf 'log4j.rootLogger=WARN, C\nlog4j.appender.C=org.apache.log4j.ConsoleAppender\nlog4j.appender.C.layout=org.apache.log4j.PatternLayout\nlog4j.appender.C.layout.ConversionPattern=%%d %%p %%c{1}: %%m%%n\n' >"$d/conf/log4j.properties"
	start_bg "$name" java -Xmx256m -Dzookeeper.log.dir="$d" -cp "$d/conf:$ZK_JAR" \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/conf/zoo.cfg"
	wait_until 60 "zookeeper answers on port $ZK_PORT" zk_ok
}

zk_stop() { stop_bg "${1:-zk}" TERM 20 || true; }

# ---- hvtrail on top (source tests/lib/pki.sh and hvtrail.sh first) --------
#
#   start_ch_collector NAME URLS [CONF...]
#                                  a collector like start_collector's, storing into
#                                  [idx_clickhouse] url = URLS with collector_id NAME;
#                                  extra lines go at the end of [idx_clickhouse]
#                                  (more keys) or open sections of their own
#   restart_collector NAME         start NAME again with the same config and port
#   trail_ch URL [QUERY OPTIONS]   hvtrail query --clickhouse URL -o json
#   start_load_forwarder NAME CERT TARGETS [OUT_RELP LINES...]
#                                  a forwarder with an [in_local] socket for emit_load
#   emit_load FWD N [EMIT OPTIONS] N numbered load.event events (data.n from 1, or
#                                  --start K) into forwarder FWD's in_local socket
#                                  ($WORK/FWD.sock), in the background as process emit-FWD
#   check_exactly_once URL HOST N  the N load.event events of HOST are each in the
#                                  index once (data.n = 1..N, no id twice, no gaps)

ch_collector_conf() {
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
	permitted_peers = hv1.test, hv2.test
	[idx_clickhouse]
	url = $3
	collector_id = $1
	flush_interval = 200ms
	CONF
}

start_ch_collector() {
	local name=$1 urls=$2 port; shift 2
	hvt_pki
	port=$(free_port)
	{ ch_collector_conf "$name" "$port" "$urls"; printf '%s\n' "$@"; } | conf_merge >"$WORK/$name.conf"
	COL_PORT[$name]=$port
	restart_collector "$name"
}

# The collector binds its port before the privilege drop and opens its index
# (creating the tables on every url) after it: "started" is logged once the
# index is ready, and the tests look at the tables next.
restart_collector() {
	local before
	before=$(grep -c "notice: started: inbox" "$WORK/$1.log" 2>/dev/null || true)
	start_bg "$1" "$COLLECTOR" -c "$WORK/$1.conf"
	wait_until 30 "collector $1 listens on port ${COL_PORT[$1]}" port_open "${COL_PORT[$1]}"
	wait_until 30 "collector $1 has its index open" \
		eval '[ "$(grep -c "notice: started: inbox" "$WORK/'"$1"'.log" 2>/dev/null || true)" -gt '"${before:-0}"' ]'
}

trail_ch() {
	local url=$1; shift
	"$HVTRAIL" query --clickhouse "$url" -o json "$@"
}

# start_load_forwarder NAME CERT TARGETS [OUT_RELP LINES...]: a forwarder as
# start_forwarder's (extra lines go into its [out_relp]) with an [in_local]
# socket $WORK/NAME.sock for emit_load.
start_load_forwarder() {
	local name=$1 cert=$2 targets=$3; shift 3
	hvt_pki
	{ forwarder_conf "$name" "$cert" "$targets"; printf '%s\n' "$@" "[in_local]" "socket = $WORK/$name.sock"; } |
		conf_merge >"$WORK/$name.conf"
	start_bg "$name" "$FORWARDER" -c "$WORK/$name.conf"
	wait_until 10 "forwarder $name's local socket exists" test -S "$WORK/$name.sock"
}

emit_load() {
	local fwd=$1 n=$2 start=(--start 1); shift 2
	case " $* " in *" --start "*) start=() ;; esac     # data.n from 1 unless told
	start_bg --may-exit "emit-$fwd" "$HVTRAIL" emit --socket "$WORK/$fwd.sock" --count "$n" "${start[@]}" \
		--type load.event "$@"
}

# load_count URL HOST: how many distinct load.event events of HOST the CLI shows.
load_count() { trail_ch "$1" --host "$2" --type load.event | wc -l; }
has_load() { [ "$(load_count "$1" "$2")" -ge "$3" ]; }

check_exactly_once() {
	local url=$1 host=$2 n=$3 got dups
	trail_ch "$url" --host "$host" >"$WORK/check-$host.json"
	got=$(grep -c '"type":"load.event"' "$WORK/check-$host.json" || true)
	[ "$got" -eq "$n" ] || fail "$host: $got load events in the index, want $n"
	dups=$(json_field 'e["id"]' <"$WORK/check-$host.json" | sort | uniq -d | head -3)
	[ -z "$dups" ] || fail "$host: ids shown more than once: $dups"
	grep '"type":"load.event"' "$WORK/check-$host.json" | json_field 'e["data"]["n"]' | sort -n >"$WORK/check-$host.n"
	seq 1 "$n" | cmp -s - "$WORK/check-$host.n" || fail "$host: data.n is not exactly 1..$n"
	"$HVTRAIL" gaps --clickhouse "$url" --host "$host" >"$WORK/gaps-$host.txt" ||
		fail "$host: gaps: $(cat "$WORK/gaps-$host.txt")"
}

# start_follow URL [QUERY OPTIONS]: `hvtrail query -f -n all -o json` in the
# background as process "follow" (its lines in $WORK/follow.log).  `-n all`:
# follow prints from the first stored event however late it starts (with -f's
# default of the newest 10 it raced the emitter started beside it).
start_follow() {
	local url=$1; shift
	start_bg follow "$HVTRAIL" query --clickhouse "$url" -f -n all -o json "$@"
}

# check_follow N: follow printed the load events 1..N, each once.
check_follow() {
	local n=$1
	wait_until $((30 + n / 1000)) "query -f printed all $n events" eval "[ \$(grep -c '\"type\":\"load.event\"' \"\$WORK/follow.log\") -ge $n ]"
	grep '"type":"load.event"' "$WORK/follow.log" | json_field 'e["data"]["n"]' | sort -n >"$WORK/follow.n"
	seq 1 "$n" | cmp -s - "$WORK/follow.n" ||
		fail "query -f printed $(wc -l <"$WORK/follow.n") load events, not each of 1..$n once"
	stop_bg follow || fail "query -f exited with an error: $(tail -3 "$WORK/follow.log")"
}
