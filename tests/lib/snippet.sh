# tests/lib/snippet.sh - run the configurations the documentation shows
# (bash; source it).  A page marks a fenced block with a comment line
#     <!-- snippet: NAME -->
# right before it; doc_snippet prints the block's lines, so a test starts
# daemons with exactly the text an operator copies.
# shellcheck shell=bash

# doc_snippet FILE NAME: the fenced block after the NAME marker in FILE.
# Fails (status 1, nothing printed) when there is no such block.
doc_snippet() {
	awk -v name="$2" '
	$0 == "<!-- snippet: " name " -->" { armed = 1; next }
	armed == 1 && /^```/ { armed = 2; next }
	armed == 2 && /^```/ { found = 1; exit }
	armed == 2 { print }
	END { exit !found }' "$1"
}
