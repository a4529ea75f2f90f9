# tests/lib/libvirt.sh - private, real libvirtd instances for the tests
# (bash; source after common.sh).  The recipe is /work/shared/lab/libvirt's
# (REPORT.md), made test-safe: every path under $WORK, every process started
# with start_bg and stopped by PID.
#
# A privileged libvirtd hard-codes /etc/libvirt, /run/libvirt,
# /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, so each instance
# runs in a mount (and UTS) namespace of its own, held open by a "holder"
# process, with its own directories bound over those paths; /run itself is
# replaced (its libvirt directory does not exist outside a running system
# libvirtd, and the host's D-Bus and systemd sockets are better out of
# sight).  The RPC sockets live outside the bound paths, in $WORK, so clients
# in the test's own namespace (virsh, the forwarder) reach them.  Only the
# host UUID must differ between two instances that migrate to each other.
#
#   lv_require                       skip unless root, libvirtd, virsh, unshare and
#                                    libvirt-qemu (libvirt-daemon-system) are there
#   lv_start NAME HOSTUUID [HOSTNAME]
#                                    start instance NAME; LV_DIR[NAME] is its root
#   lv_uri NAME [ro]                 qemu:///system?socket=... (read-only socket with ro)
#   lv_virsh NAME ARGS...            virsh on NAME's read-write socket
#   lv_kill NAME                     SIGKILL the daemon (QEMU keeps running)
#   lv_restart NAME                  start NAME's daemon again in the same namespace
#   lv_domain_xml NAME UUID [DISK]   a 64 MiB diskless TCG domain (with a qcow2 DISK)
#   lv_qemu_pid NAME DOM             the pid of DOM's QEMU on instance NAME
# shellcheck shell=bash

declare -A LV_DIR=() LV_HOLDER=()
LV_QEMU_BIN=${LV_QEMU_BIN:-/usr/bin/qemu-system-x86_64}

lv_require() {
	[ "$(id -u)" = 0 ] || skip "a private libvirtd needs root (mount namespaces)"
	require_cmd unshare nsenter virsh qemu-img
	[ -x /usr/sbin/libvirtd ] || skip "libvirtd is not installed (libvirt-daemon)"
	[ -x "$LV_QEMU_BIN" ] || skip "$LV_QEMU_BIN is not installed"
	# a privileged libvirtd resolves its compiled-in QEMU user before it
	# reads qemu.conf (libvirt-daemon-system makes it)
	getent passwd libvirt-qemu >/dev/null || skip "no user libvirt-qemu (install libvirt-daemon-system)"
	local d
	for d in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		[ -d "$d" ] || skip "$d does not exist to bind a private one over (install libvirt-daemon-system)"
	done
	_lv_asan_forwarder
}

# In an ASan build, ASan's interceptors of the XDR functions glibc used to
# have find no glibc function behind them (Debian 12's glibc moved XDR to
# libtirpc), and libvirt's RPC, which calls them, jumps to address 0.
# libtirpc loaded first wins over the interceptors: the forwarder of such a
# build runs with it preloaded (and ASan told that it does not come first).
_lv_asan_forwarder() {
	local bin tirpc
	bin=$(dirname "$FORWARDER")/.libs/$(basename "$FORWARDER")
	[ -x "$bin" ] || bin=$FORWARDER
	ldd "$bin" 2>/dev/null | grep -q libasan || return 0
	tirpc=$(ldd /usr/lib/*/libvirt.so.0 /lib/*/libvirt.so.0 2>/dev/null |
		awk '/libtirpc/ { print $3; exit }')
	[ -n "$tirpc" ] || return 0
	cat >"$WORK/forwarder-asan" <<-EOF
	#!/bin/sh
	LD_PRELOAD=$tirpc ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0" exec "$FORWARDER" "\$@"
	EOF
	chmod +x "$WORK/forwarder-asan"
	FORWARDER=$WORK/forwarder-asan
}

lv_uri() {
	local sock=libvirt-sock
	[ "${2:-}" = ro ] && sock=libvirt-sock-ro
	printf 'qemu:///system?socket=%s/sock/%s\n' "${LV_DIR[$1]}" "$sock"
}

lv_virsh() {
	local name=$1; shift
	virsh -q -c "$(lv_uri "$name")" "$@"
}

_lv_answers() { virsh -q -c "$(lv_uri "$1")" version >/dev/null 2>&1; }

_lv_daemon() {
	local name=$1 r=${LV_DIR[$1]}
	start_bg "lvd-$name" nsenter -t "${LV_HOLDER[$name]}" -m -u -- /usr/sbin/libvirtd \
		--config "$r/etc/libvirtd.conf" --pid-file "$r/libvirtd.pid"
	# a fresh daemon probes QEMU's capabilities first (~4 s of CPU here)
	wait_until 60 "libvirtd $name answers" _lv_answers "$name"
}

# lv_start NAME HOSTUUID [HOSTNAME]
lv_start() {
	local name=$1 uuid=$2 host=${3:-lv-$1} r=$WORK/lv-$1 port
	LV_DIR[$name]=$r
	mkdir -p "$r/etc/qemu" "$r/runroot/libvirt" "$r/lib" "$r/cache" "$r/log/qemu" "$r/sock"
	chmod 0755 "$r" "$r/sock"
	cat >"$r/etc/libvirtd.conf" <<-EOC
	unix_sock_dir = "$r/sock"
	unix_sock_group = "root"
	unix_sock_ro_perms = "0777"
	unix_sock_rw_perms = "0770"
	auth_unix_ro = "none"
	auth_unix_rw = "none"
	host_uuid = "$uuid"
	log_level = 3
	log_outputs = "3:file:$r/libvirtd.log"
	EOC
	# migration ports: a range of the ephemeral ports nothing uses right now
	port=$(free_port)
	cat >"$r/etc/qemu.conf" <<-EOC
	user = "root"
	group = "root"
	dynamic_ownership = 0
	remember_owner = 0
	security_driver = "none"
	cgroup_controllers = [ ]
	namespaces = [ ]
	stdio_handler = "file"
	migration_port_min = $port
	migration_port_max = $((port + 31 > 65535 ? 65535 : port + 31))
	EOC
	printf '127.0.0.1 localhost %s\n::1 localhost\n' "$host" >"$r/hosts"
	start_bg "lvns-$name" unshare --mount --uts --propagation private sh -c "
		set -e
		hostname $host
		mount --bind $r/hosts /etc/hosts
		mount --bind $r/etc /etc/libvirt
		mount --bind $r/runroot /run
		mount --bind $r/lib /var/lib/libvirt
		mount --bind $r/cache /var/cache/libvirt
		mount --bind $r/log /var/log/libvirt
		touch $r/ns-ready
		exec sleep infinity"
	LV_HOLDER[$name]=$(pid_of "lvns-$name")
	wait_until 10 "namespace of libvirtd $name is set up" test -e "$r/ns-ready"
	_lv_daemon "$name"
	# QEMU daemonises out of our process tree: destroy what is left at the end
	at_exit "_lv_reap_qemu $name"
}

lv_kill() {
	stop_bg "lvd-$1" KILL >/dev/null 2>&1 || true
}

lv_restart() {
	_lv_daemon "$1"
}

# The QEMU processes of instance NAME (their pid files are in its private
# /run), killed at the end of the test: only ours, found by their pid files.
_lv_reap_qemu() {
	local f pid
	for f in "${LV_DIR[$1]}"/runroot/libvirt/qemu/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -n "$pid" ] && grep -q qemu "/proc/$pid/comm" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	done
}

lv_qemu_pid() { cat "${LV_DIR[$1]}/runroot/libvirt/qemu/$2.pid"; }

# lv_domain_xml NAME UUID [DISK]: a 64 MiB TCG guest with no OS (SeaBIOS finds
# nothing to boot and idles: enough to start, pause, save and migrate), with
# an optional qcow2 disk on a virtio-scsi controller (snapshots, hot-plug).
lv_domain_xml() {
	local disk=""
	if [ -n "${3:-}" ]; then
		disk="<controller type='scsi' model='virtio-scsi' index='0'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$3'/><target dev='sda' bus='scsi'/></disk>"
	fi
	cat <<-EOX
	<domain type='qemu'>
	  <name>$1</name>
	  <uuid>$2</uuid>
	  <memory unit='MiB'>64</memory>
	  <vcpu>1</vcpu>
	  <os><type arch='x86_64' machine='pc'>hvm</type></os>
	  <on_poweroff>destroy</on_poweroff>
	  <on_reboot>restart</on_reboot>
	  <on_crash>destroy</on_crash>
	  <devices>
	    <emulator>$LV_QEMU_BIN</emulator>
	    <controller type='usb' model='none'/>
	    <memballoon model='none'/>
	    $disk
	  </devices>
	</domain>
	EOX
}
