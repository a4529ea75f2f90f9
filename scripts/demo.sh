#!/bin/bash
# demo.sh - the README's first command: see hvtrail record a live migration.
#
# Installs what is needed (Debian packages, as root), builds hvtrail, makes
# a throwaway PKI, starts a collector and two forwarders (hosts hv1 and hv2),
# starts real QEMU VMs each with an extra -qmp monitor in the watched
# directory, live-migrates one VM from hv1 to hv2, and prints the trail.
# Everything runs on 127.0.0.1 and stays in one directory (printed at the
# end); only the processes started here are stopped.
#
#   ACCEL=kvm ./scripts/demo.sh     use KVM (default: TCG, which boots faster here)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

step "installing dependencies (Debian packages)"
./scripts/install-deps.sh all
step "building"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build-demo
( cd build-demo && { [ -f Makefile ] || ../configure >configure.log; } && make -j2 >make.log ) ||
	{ echo "build failed; see build-demo/make.log" >&2; exit 1; }
B=$top/build-demo
export HVTRAIL_PLUGIN_PATH=$(ls -d "$B"/plugins/*/.libs | tr '\n' ':')
HVTRAIL="$B/cli/hvtrail"
PY=/usr/bin/python3
QMP="$PY $top/tests/lib/qmp.py"

D=$(mktemp -d /tmp/hvtrail-demo.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
bg() { local log=$1; shift; "$@" >"$D/$log.log" 2>&1 & PIDS+=($!); }
wait_for() {   # wait_for SECONDS DESCRIPTION CMD...
	local t=$1 what=$2 i; shift 2
	for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "timed out waiting until $what; logs in $D" >&2; exit 1
}

step "a throwaway PKI in $D/pki (certtool)"
source "$top/tests/lib/pki.sh"
make_pki "$D/pki"
ls "$D/pki"/{ca,collector,hv1,hv2}.pem

step "collector on 127.0.0.1:6514, index $D/collector/trail.db"
cat >"$D/collector.conf" <<CONF
[collector]
state_dir = $D/collector
[listen]
address = 127.0.0.1
port = 6514
tls_ca = $D/pki/ca.pem
tls_cert = $D/pki/collector.pem
tls_key = $D/pki/collector.key
permitted_peers = hv1.test, hv2.test
[idx_sqlite]
path = $D/collector/trail.db
CONF
bg collector "$B/collector/hvtrail-collector" -c "$D/collector.conf"
wait_for 10 "the collector listens" bash -c 'exec 3<>/dev/tcp/127.0.0.1/6514'

for h in hv1 hv2; do
	step "forwarder for host $h.test, watching $D/qmp-$h/"
	cat >"$D/forwarder-$h.conf" <<CONF
[forwarder]
host = $h.test
state_dir = $D/forwarder-$h
[in_qmp]
socket_dir = $D/qmp-$h
[in_local]
socket = $D/local-$h.sock
[out_relp]
target = 127.0.0.1:6514
permitted_peers = collector.test
tls_ca = $D/pki/ca.pem
tls_cert = $D/pki/$h.pem
tls_key = $D/pki/$h.key
CONF
	bg "forwarder-$h" "$B/forwarder/hvtrail-forwarder" -c "$D/forwarder-$h.conf"
done

step "QEMU VMs (accel ${ACCEL:-tcg}), each with an extra -qmp monitor in the watched directory"
"$top/tests/guest/build.sh" "$D/guest.img" 16
mkdir -p "$D/ctl"
vm() {   # vm NAME WATCHED_DIR QEMU_ARGS...
	local name=$1 dir=$2; shift 2
	mkdir -p "$dir"
	bg "qemu-$name" qemu-system-x86_64 -name "$name" -accel "${ACCEL:-tcg}" -display none -nodefaults \
		-m 64 -drive "file=$D/guest.img,format=raw,if=ide,snapshot=on" -serial "file:$D/$name.serial" \
		-qmp "unix:$dir/$name.sock,server=on,wait=off" \
		-qmp "unix:$D/ctl/$name.sock,server=on,wait=off" "$@"
	echo "  $name: -qmp unix:$dir/$name.sock,server=on,wait=off ${*}"
}
vm web01 "$D/qmp-hv1" -uuid 7d1b2c9e-4f6a-4c1b-9a3e-0c5d8e2f1a11
vm db01 "$D/qmp-hv1" -uuid 0e3f5a7c-2b4d-4e6f-8a1c-3d5e7f9b2c44
vm web01-incoming "$D/qmp-hv2" -name web01 -uuid 7d1b2c9e-4f6a-4c1b-9a3e-0c5d8e2f1a11 -incoming defer
wait_for 30 "web01 boots" grep -q "HVTGUEST READY" "$D/web01.serial"
wait_for 15 "the forwarders saw three VMs" bash -c \
	"[ \$('$HVTRAIL' query --db '$D/collector/trail.db' -t vm.started -o json | wc -l) -ge 3 ]"

step "live migration of web01 from hv1 to hv2 (driven through the VMs' own control monitors)"
caps='{"capabilities":[{"capability":"events","state":true}]}'
$QMP "$D/ctl/web01-incoming.sock" migrate-set-capabilities "$caps" >/dev/null
$QMP "$D/ctl/web01-incoming.sock" migrate-incoming '{"uri":"tcp:127.0.0.1:6600"}' >/dev/null
$QMP "$D/ctl/web01.sock" migrate '{"uri":"tcp:127.0.0.1:6600"}' >/dev/null
wait_for 60 "the migration completes and reaches the collector" bash -c \
	"[ \$('$HVTRAIL' query --db '$D/collector/trail.db' -t 'migration.*completed' -o json | wc -l) -ge 2 ]"
$QMP "$D/ctl/db01.sock" stop >/dev/null
$QMP "$D/ctl/db01.sock" cont >/dev/null
wait_for 10 "db01's pause and resume are indexed" bash -c \
	"[ \$('$HVTRAIL' query --db '$D/collector/trail.db' --vm db01 -t vm.resumed -o json | wc -l) -ge 1 ]"

step "the trail: hvtrail query --db $D/collector/trail.db"
"$HVTRAIL" query --db "$D/collector/trail.db"
step "the migration as one row, both hosts' records linked: hvtrail migrations --db ..."
"$HVTRAIL" migrations --db "$D/collector/trail.db"
step "one event in full: hvtrail query --db ... -t migration.completed -o json"
"$HVTRAIL" query --db "$D/collector/trail.db" -t migration.completed -o json
step "per host: hvtrail stats --db ..."
"$HVTRAIL" stats --db "$D/collector/trail.db" || true
step "done"
echo "Everything is in $D (configs, logs, PKI, index); the processes started here are stopped now."
# a short way back in: this build's hvtrail, its plugins and this index
cat >"$D/hvtrail" <<SH
#!/bin/sh
# hvtrail on the demo's index (made by scripts/demo.sh): $D/hvtrail query|migrations|stats|gaps|verify
HVTRAIL_PLUGIN_PATH='$HVTRAIL_PLUGIN_PATH' exec '$HVTRAIL' "\$@" --db '$D/collector/trail.db'
SH
chmod +x "$D/hvtrail"
echo "Look again with: $D/hvtrail query"
