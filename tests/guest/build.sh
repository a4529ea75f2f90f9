#!/bin/sh
# build.sh OUT.img [DIRTY_MB] - assemble tests/guest/guest.S into a 512-byte
# boot sector and pad it to a 1 MiB raw disk image (POSIX sh; needs GNU as
# and ld).  DIRTY_MB (default 16) is how much guest RAM, from 2 MiB up, is
# dirtied on every timer tick; give the VM at least DIRTY_MB + 4 MiB of RAM.
set -eu
out=${1:?usage: build.sh OUT.img [DIRTY_MB]}
mb=${2:-16}
here=$(cd "$(dirname "$0")" && pwd)
case $mb in
''|*[!0-9]*) echo "build.sh: DIRTY_MB must be a number of MiB" >&2; exit 64 ;;
esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hvt-guest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
as --32 --defsym DIRTY_MB="$mb" -o "$tmp/guest.o" "$here/guest.S"
ld -m elf_i386 --oformat binary -Ttext 0x7c00 -o "$tmp/guest.bin" "$tmp/guest.o"
size=$(wc -c <"$tmp/guest.bin")
if [ "$size" -ne 512 ]; then
	echo "build.sh: boot sector is $size bytes, not 512" >&2
	exit 1
fi
cp "$tmp/guest.bin" "$out"
truncate -s 1M "$out"
