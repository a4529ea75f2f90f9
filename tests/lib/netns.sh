# tests/lib/netns.sh - two network namespaces joined by a veth pair, made by
# the test itself, so a test can cut "the network" between a forwarder and
# its collector (bash; source after common.sh).
#
#   netns_setup            NS_COL and NS_FWD, addresses COL_IP and FWD_IP
#   in_ns NS CMD...        run CMD inside NS (same PID: ip netns exec execs)
#   link_down / link_up    cut / restore the link
# Everything is removed at exit.  Needs root and iproute2; skips otherwise.
# shellcheck shell=bash

netns_setup() {
	[ "$(id -u)" = 0 ] || skip "network namespaces need root"
	require_cmd ip
	local tag=$$ n=$(( $$ % 250 + 1 ))
	NS_COL=hvtc$tag NS_FWD=hvtf$tag
	VETH_COL=vc$tag VETH_FWD=vf$tag
	COL_IP=10.231.$n.1 FWD_IP=10.231.$n.2
	ip netns add "$NS_COL" || skip "cannot create network namespaces here"
	at_exit ip netns del "$NS_COL"
	ip netns add "$NS_FWD"
	at_exit ip netns del "$NS_FWD"
	ip link add "$VETH_COL" type veth peer name "$VETH_FWD"
	ip link set "$VETH_COL" netns "$NS_COL"
	ip link set "$VETH_FWD" netns "$NS_FWD"
	ip -n "$NS_COL" addr add "$COL_IP/30" dev "$VETH_COL"
	ip -n "$NS_FWD" addr add "$FWD_IP/30" dev "$VETH_FWD"
	ip -n "$NS_COL" link set lo up
	ip -n "$NS_FWD" link set lo up
	ip -n "$NS_COL" link set "$VETH_COL" up
	ip -n "$NS_FWD" link set "$VETH_FWD" up
	say "network: collector namespace $NS_COL ($COL_IP), forwarder namespace $NS_FWD ($FWD_IP)"
}

# in_ns NS CMD...: run CMD inside NS.  For a background process give
# start_bg "ip netns exec NS CMD" directly (ip execs CMD, so the recorded
# PID is the process itself; a shell function would add a subshell).
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

link_down() { ip -n "$NS_FWD" link set "$VETH_FWD" down; }
link_up() { ip -n "$NS_FWD" link set "$VETH_FWD" up; }

# ns_port_open NS IP PORT: something accepts TCP on IP:PORT inside NS.
ns_port_open() { ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
