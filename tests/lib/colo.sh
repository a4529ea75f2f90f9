# tests/lib/colo.sh - a real COLO primary/secondary pair on one host, after
# QEMU's docs/COLO-FT.txt (bash; source after common.sh and qemu.sh).
# All TCP is on 127.0.0.1 (ports picked at run time) and the NIC is
# -netdev user,restrict=on instead of a tap.  COLO needs -accel kvm: under
# TCG, QEMU 7.2's primary deadlocks at the first checkpoint.
#
#   require_colo_kvm                 skip the test (77) unless KVM is usable
#   start_colo_pair NAME UUID SOCKDIR1 SOCKDIR2
#                                    the primary "pri" (watched in SOCKDIR1,
#                                    -S) and the secondary "sec" (SOCKDIR2,
#                                    -incoming), both -name NAME -uuid UUID;
#                                    control monitors via `qmp pri|sec`; the
#                                    secondary also has a spare qcow2 drive
#                                    (if=none, id "spare") outside COLO
#   colo_enter [DELAY_MS]            replication + migrate with x-colo; returns
#                                    once both sides report MIGRATION colo
#   colo_checkpoints N               returns after N more checkpoints (RESUME
#                                    on the primary)
# shellcheck shell=bash

COLO_MEM=${COLO_MEM:-64}

require_colo_kvm() {
	ACCEL=$(detect_accel)
	if [ "$ACCEL" != kvm ] && [ "${FORCE_TCG_COLO:-0}" != 1 ]; then
		skip "COLO needs -accel kvm and KVM is not usable here (or ACCEL=$ACCEL was asked for; under TCG, QEMU 7.2's COLO primary deadlocks at the first checkpoint); FORCE_TCG_COLO=1 tries anyway; $TEST_NAME-replay.test replays a real pair's recorded transcripts instead"
	fi
	ACCEL=${ACCEL:-kvm}
}

# _colo_qemu NAME SOCKDIR ARGS...: like start_vm, without its disk
_colo_qemu() {
	local name=$1 sockdir=$2; shift 2
	mkdir -p "$sockdir" "$WORK/ctl"
	start_bg "qemu-$name" "$QEMU" -accel "$ACCEL" -display none -nodefaults \
		-m "$COLO_MEM" -smp 1 \
		-serial "file:$WORK/$name.serial" \
		-qmp "unix:$sockdir/$COLO_NAME.sock,server=on,wait=off" \
		-qmp "unix:$(ctl_sock "$name"),server=on,wait=off" \
		"$@"
}

start_colo_pair() {
	COLO_NAME=$1
	local uuid=$2 dir1=$3 dir2=$4 d=$WORK/colo
	mkdir -p "$d/pri" "$d/sec"
	build_guest "$d/guest.img" 1
	qemu-img convert -q -f raw -O qcow2 "$d/guest.img" "$d/pri/disk.qcow2"
	qemu-img resize -q "$d/pri/disk.qcow2" 16M
	cp "$d/pri/disk.qcow2" "$d/sec/disk.qcow2"          # the same image on both hosts
	qemu-img create -q -f qcow2 "$d/sec/active.qcow2" 16M
	qemu-img create -q -f qcow2 "$d/sec/hidden.qcow2" 16M
	qemu-img create -q -f qcow2 "$d/sec/spare.qcow2" 1M
	COLO_P_COMPARE0=$(free_port) COLO_P_MIRROR=$(free_port) COLO_P_COMPARE1=$(free_port)
	COLO_P_OUT=$(free_port) COLO_P_MIGRATE=$(free_port) COLO_P_NBD=$(free_port)
	local nic=(-netdev user,id=hn0,restrict=on -device e1000,id=e0,netdev=hn0,romfile=)
	_colo_qemu pri "$dir1" -name "$COLO_NAME" -uuid "$uuid" "${nic[@]}" \
		-chardev "socket,id=mirror0,host=127.0.0.1,port=$COLO_P_MIRROR,server=on,wait=off" \
		-chardev "socket,id=compare1,host=127.0.0.1,port=$COLO_P_COMPARE1,server=on,wait=off" \
		-chardev "socket,id=compare0,host=127.0.0.1,port=$COLO_P_COMPARE0,server=on,wait=off" \
		-chardev "socket,id=compare0-0,host=127.0.0.1,port=$COLO_P_COMPARE0" \
		-chardev "socket,id=compare_out,host=127.0.0.1,port=$COLO_P_OUT,server=on,wait=off" \
		-chardev "socket,id=compare_out0,host=127.0.0.1,port=$COLO_P_OUT" \
		-object filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0 \
		-object filter-redirector,netdev=hn0,id=redire0,queue=rx,indev=compare_out \
		-object filter-redirector,netdev=hn0,id=redire1,queue=rx,outdev=compare0 \
		-object iothread,id=iothread1 \
		-object colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,outdev=compare_out0,iothread=iothread1 \
		-drive "if=ide,id=colo-disk0,driver=quorum,read-pattern=fifo,vote-threshold=1,children.0.file.filename=$d/pri/disk.qcow2,children.0.driver=qcow2" \
		-S
	wait_until 15 "the primary's control monitor is up" test -S "$(ctl_sock pri)"
	_colo_qemu sec "$dir2" -name "$COLO_NAME" -uuid "$uuid" "${nic[@]}" \
		-chardev "socket,id=red0,host=127.0.0.1,port=$COLO_P_MIRROR,reconnect=1" \
		-chardev "socket,id=red1,host=127.0.0.1,port=$COLO_P_COMPARE1,reconnect=1" \
		-object filter-redirector,id=f1,netdev=hn0,queue=tx,indev=red0 \
		-object filter-redirector,id=f2,netdev=hn0,queue=rx,outdev=red1 \
		-object filter-rewriter,id=rew0,netdev=hn0,queue=all \
		-drive "if=none,id=parent0,file.filename=$d/sec/disk.qcow2,driver=qcow2" \
		-drive "if=none,id=childs0,driver=replication,mode=secondary,file.driver=qcow2,top-id=colo-disk0,file.file.filename=$d/sec/active.qcow2,file.backing.driver=qcow2,file.backing.file.filename=$d/sec/hidden.qcow2,file.backing.backing=parent0" \
		-drive if=ide,id=colo-disk0,driver=quorum,read-pattern=fifo,vote-threshold=1,children.0=childs0 \
		-drive "if=none,id=spare,driver=qcow2,file.filename=$d/sec/spare.qcow2" \
		-incoming "tcp:127.0.0.1:$COLO_P_MIGRATE"
	wait_until 15 "the secondary's control monitor is up" test -S "$(ctl_sock sec)"
}

_colo_status_is() { [ "$(migration_status "$1")" = colo ]; }

colo_enter() {
	local delay=${1:-300} r
	qmp sec migrate-set-capabilities '{"capabilities":[{"capability":"events","state":true}]}' >/dev/null &&
	qmp sec nbd-server-start "{\"addr\":{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\",\"port\":\"$COLO_P_NBD\"}}}" >/dev/null &&
	qmp sec nbd-server-add '{"device":"parent0","writable":true}' >/dev/null ||
		fail "setting up the secondary"
	r=$(qmp pri human-monitor-command "{\"command-line\":\"drive_add -n buddy driver=replication,mode=primary,file.driver=nbd,file.host=127.0.0.1,file.port=$COLO_P_NBD,file.export=parent0,node-name=replication0\"}") ||
		fail "drive_add on the primary"
	[ "$r" = '""' ] || fail "drive_add on the primary: $r"
	qmp pri x-blockdev-change '{"parent":"colo-disk0","node":"replication0"}' >/dev/null &&
	qmp pri migrate-set-capabilities '{"capabilities":[{"capability":"x-colo","state":true},{"capability":"events","state":true}]}' >/dev/null &&
	qmp pri migrate-set-parameters "{\"x-checkpoint-delay\":$delay}" >/dev/null &&
	qmp pri migrate "{\"uri\":\"tcp:127.0.0.1:$COLO_P_MIGRATE\"}" >/dev/null ||
		fail "starting COLO on the primary"
	wait_until 30 "the primary is in COLO" _colo_status_is pri
	wait_until 30 "the secondary is in COLO" _colo_status_is sec
}

colo_checkpoints() {
	local i
	for ((i = 0; i < $1; i++)); do
		qmp pri --wait-event RESUME --timeout 30 >/dev/null || fail "no COLO checkpoint on the primary"
	done
}
