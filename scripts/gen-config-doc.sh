#!/bin/sh
# gen-config-doc.sh BUILDDIR - print the generated part of docs/config.md:
# every key of both daemons and all their plugins, from the code itself
# (--print-schema).  tests/config-doc.test compares it with docs/config.md.
set -eu
b=${1:?usage: gen-config-doc.sh BUILDDIR}
HVTRAIL_PLUGIN_PATH=$(ls -d "$b"/plugins/*/.libs | tr '\n' ':')
export HVTRAIL_PLUGIN_PATH
echo "## hvtrail-forwarder (forwarder.conf)"
echo
"$b/forwarder/hvtrail-forwarder" --print-schema
echo "## hvtrail-collector (collector.conf)"
echo
"$b/collector/hvtrail-collector" --print-schema
