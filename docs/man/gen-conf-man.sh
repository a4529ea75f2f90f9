#!/bin/sh
# gen-conf-man.sh TEMPLATE BUILDDIR - hvtrail.conf(5) on standard output:
# the hand-written TEMPLATE with its @SCHEMA_FORWARDER@ and
# @SCHEMA_COLLECTOR@ lines replaced by the key lists the daemons of
# BUILDDIR print (--print-schema=man) with the plugins built there, so the
# manual lists exactly the keys the code understands.
set -eu
tmpl=${1:?usage: gen-conf-man.sh TEMPLATE BUILDDIR}
b=${2:?usage: gen-conf-man.sh TEMPLATE BUILDDIR}
HVTRAIL_PLUGIN_PATH=$(ls -d "$b"/plugins/*/.libs 2>/dev/null | tr '\n' ':')
export HVTRAIL_PLUGIN_PATH
HVT_FWD=$("$b/forwarder/hvtrail-forwarder" --print-schema=man)
HVT_COL=$("$b/collector/hvtrail-collector" --print-schema=man)
export HVT_FWD HVT_COL
# ENVIRON, not awk -v: -v would turn troff's \f escapes into form feeds
awk '$0 == "@SCHEMA_FORWARDER@" { print ENVIRON["HVT_FWD"]; next }
     $0 == "@SCHEMA_COLLECTOR@" { print ENVIRON["HVT_COL"]; next }
     { print }' "$tmpl"
