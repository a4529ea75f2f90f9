#!/bin/sh
# install-deps.sh - install, from Debian 12 packages, everything hvtrail needs
# to build, test, benchmark and run its demo.  Idempotent; needs root.
#
#   scripts/install-deps.sh [build|test|all]      (default: all)
#
# build : compilers, autotools and the -dev libraries the daemons link
# test  : build + what the test suite drives for real (QEMU, certtool,
#         systemd-journal-remote, rsyslog, clang for fuzzing/sanitizers,
#         ClickHouse and ZooKeeper for the scale-out tests, libvirtd for
#         in_libvirt's: the tests start private instances; the -system package
#         only makes QEMU's user libvirt-qemu, which a privileged libvirtd needs)
set -eu
what=${1:-all}

build_pkgs="build-essential autoconf automake libtool pkg-config
  librelp-dev libgnutls28-dev libestr-dev libjson-c-dev libsystemd-dev
  libsqlite3-dev libinih-dev libcurl4-gnutls-dev libmicrohttpd-dev check
  libvirt-dev libxml2-dev"
test_pkgs="gnutls-bin qemu-system-x86 qemu-utils systemd-journal-remote
  rsyslog rsyslog-relp python3 sqlite3 iproute2 procps psmisc curl
  clang libclang-rt-14-dev man-db groff-base
  clickhouse-server clickhouse-client zookeeper binutils util-linux
  chromium chromium-driver prometheus prometheus-alertmanager
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon-system"

case $what in
  build) pkgs=$build_pkgs ;;
  test|all) pkgs="$build_pkgs $test_pkgs" ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
    missing="$missing $p"
done
[ -z "$missing" ] && { echo "install-deps: all packages present"; exit 0; }

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing; run as root" >&2
  exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Never let a package's postinst start a daemon (rsyslog, clickhouse,
# zookeeper, libvirtd): tests start their own private instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get -o DPkg::Lock::Timeout=600 update -q
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
