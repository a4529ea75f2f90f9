# tests/lib/qemu.sh - real QEMU guests for the integration tests (bash;
# source after common.sh).
#
# Every VM NAME gets two QMP monitors: SOCKDIR/NAME.sock, the one the
# forwarder watches (hvtrail's own monitor), and $WORK/ctl/NAME.sock, the
# test's control monitor, which drives the VM (migration, status) without
# ever touching the forwarder's.  Its serial port is $WORK/NAME.serial and
# its QEMU log $WORK/qemu-NAME.log.
# shellcheck shell=bash

QEMU=${QEMU:-qemu-system-x86_64}
VM_MEM=${VM_MEM:-64}                    # MiB; the guest needs DIRTY_MB + 4
GUEST_BANNER="HVTGUEST READY"

# detect_accel: "kvm" if /dev/kvm is usable and QEMU can open it, else
# "tcg"; ACCEL=... in the environment wins.
detect_accel() {
	if [ -n "${ACCEL:-}" ]; then
		printf '%s\n' "$ACCEL"
	elif [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		printf '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' |
		timeout 10 "$QEMU" -accel kvm -machine none -display none -nodefaults \
			-qmp stdio >/dev/null 2>&1; then
		echo kvm
	else
		echo tcg
	fi
}

# build_guest OUT.img [DIRTY_MB]: the boot-sector guest (tests/guest/).
build_guest() {
	"$HVT_SRCDIR/tests/guest/build.sh" "$1" "${2:-16}" ||
		hard_error "cannot build the test guest"
}

# ctl_sock NAME: the test's control monitor of VM NAME.
ctl_sock() { printf '%s/ctl/%s.sock\n' "$WORK" "$1"; }

# start_vm NAME SOCKDIR [QEMU ARGS...]: boot $GUEST_IMG (see build_guest)
# under $ACCEL.  Add "-incoming defer" for a migration destination.
start_vm() {
	local name=$1 sockdir=$2; shift 2
	: "${GUEST_IMG:?build_guest first and set GUEST_IMG}"
	: "${ACCEL:=$(detect_accel)}"
	mkdir -p "$sockdir" "$WORK/ctl"
	start_bg "qemu-$name" "$QEMU" -name "$name" -accel "$ACCEL" -display none -nodefaults \
		-m "$VM_MEM" -smp 1 \
		-drive "file=$GUEST_IMG,format=raw,if=ide,snapshot=on" \
		-serial "file:$WORK/$name.serial" \
		-qmp "unix:$sockdir/$name.sock,server=on,wait=off" \
		-qmp "unix:$(ctl_sock "$name"),server=on,wait=off" \
		"$@"
}

# qmp NAME CMD [JSON-ARGS] [--wait-event ...]: through the control monitor;
# prints the reply's "return" value.
qmp() {
	local name=$1; shift
	"$PYTHON" "$HVT_TESTLIB/qmp.py" "$(ctl_sock "$name")" "$@"
}

# qmp_field NAME CMD PYEXPR: one field of a reply, e.g.
#   qmp_field src query-migrate 'r["ram"]["dirty-sync-count"]'
qmp_field() {
	local reply
	reply=$(qmp "$1" "$2") || return 1
	"$PYTHON" -c 'import json, sys; r = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
		"$reply" "$3"
}

vm_status() { qmp_field "$1" query-status 'r["status"]'; }
migration_status() { qmp_field "$1" query-migrate 'r.get("status", "none")'; }

# vm_status_is NAME STATUS / guest_ready NAME: conditions for wait_until.
vm_status_is() { [ "$(vm_status "$1")" = "$2" ]; }
guest_ready() { grep -q "$GUEST_BANNER" "$WORK/$1.serial" 2>/dev/null; }

# wait_guest_ready NAME [TIMEOUT_S]: the guest printed its banner.
wait_guest_ready() {
	wait_until "${2:-60}" "guest $1 printed its banner" guest_ready "$1"
}

# guest_counter NAME: the pass counter the guest writes at 2 MiB (grows with
# every timer tick while the guest runs).
guest_counter() {
	local out
	out=$(qmp "$1" human-monitor-command '{"command-line":"xp /1wd 0x200000"}') || return 1
	# the reply is a JSON string: "0000000000200000:       1234\r\n"
	"$PYTHON" -c 'import json, sys; print(int(json.loads(sys.argv[1]).split(":")[1]))' "$out"
}

# guest_counter_above NAME N: condition for wait_until.
guest_counter_above() {
	local c
	c=$(guest_counter "$1") || return 1
	[ "$c" -gt "$2" ]
}

_migration_done() {
	local s
	s=$(migration_status "$1") || return 1
	case $s in
	completed) return 0 ;;
	failed|cancelled) fail "migration from $1 ended '$s'" ;;
	esac
	return 1
}

# migrate_vm SRC DST [TIMEOUT_S]: live-migrate SRC into DST (started with
# -incoming defer) over TCP on 127.0.0.1, with migration events enabled on
# both sides, and wait until the source reports "completed".
migrate_vm() {
	local src=$1 dst=$2 t=${3:-60} port caps
	port=$(free_port)
	caps='{"capabilities":[{"capability":"events","state":true}]}'
	qmp "$dst" migrate-set-capabilities "$caps" >/dev/null || fail "migrate-set-capabilities on $dst"
	qmp "$dst" migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null ||
		fail "migrate-incoming on $dst"
	qmp "$src" migrate-set-capabilities "$caps" >/dev/null || fail "migrate-set-capabilities on $src"
	qmp "$src" migrate "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null || fail "migrate on $src"
	wait_until "$t" "migration $src -> $dst completed" _migration_done "$src"
}
