#!/bin/sh
# SPDX-License-Identifier: MIT
# Man pages from the --help texts, so there is one source for both:
# tpkit(1) from `tpkit --help`, tpkit-CMD(1) from `tpkit CMD --help`.
#   [RUNNER="qemu-arm ..."] scripts/mkman.sh TPKIT OUTDIR
# RUNNER runs a cross-built TPKIT (qemu-user), as the cross tests do.
# The help texts follow one shape (bmc/*.c): "Usage:" lines, paragraphs,
# option lines ("  --name ARG   text", continued further in), then a
# paragraph starting "Exit codes:". Each becomes its man section.
set -eu
tpkit=$1 out=$2
mkdir -p "$out"
run=${RUNNER:-}
# shellcheck disable=SC2086 # RUNNER is a command line
tp() { $run "$tpkit" "$@"; }
version=$(tp --version | sed 's/^tpkit //')

# page NAME SUMMARY: roff for one help text on stdin
page() {
	awk -v name="$1" -v summary="$2" -v version="$version" '
	function esc(s) {
		gsub(/\\/, "\\e", s)
		gsub(/^[.\047]/, "\\\\&&", s)
		gsub(/-/, "\\-", s)
		return s
	}
	BEGIN {
		up = toupper(name)
		printf ".TH %s 1 \"\" \"tpkit %s\" \"tpkit manual\"\n", up, version
		printf ".SH NAME\n%s \\- %s\n", esc(name), esc(summary)
		sect = ""
	}
	/^Usage: / { sub(/^Usage: +/, ""); print ".SH SYNOPSIS"; print ".nf"; print esc($0); sect = "syn"; next }
	sect == "syn" && /^ +tpkit / { sub(/^ +/, ""); print esc($0); next }
	sect == "syn" { print ".fi"; print ".SH DESCRIPTION"; sect = "desc" }
	/^Exit codes:/ { print ".SH EXIT STATUS"; sect = "exit" }
	/^$/ { if (sect != "") print ".PP"; next }
	# an item: an option or a command or action, its text after a gap of
	# two or more spaces ("  --slot LIST   slots to ...", "  list   every")
	/^  ?[^ ]/ && sect != "exit" && sect != "syn" {
		line = $0; sub(/^ +/, "", line)
		if (match(line, /   */)) {
			head = substr(line, 1, RSTART - 1); text = substr(line, RSTART + RLENGTH)
		} else { head = line; text = "" }
		if (sect == "desc" && head ~ /^-/) { print ".SH OPTIONS"; sect = "opts" }
		print ".TP"; print "\\fB" esc(head) "\\fR"
		if (text != "") print esc(text)
		next
	}
	# the text of an item, continued further in
	/^   +[^ ]/ && sect != "exit" { sub(/^ +/, ""); print esc($0); next }
	{ sub(/^ +/, ""); print esc($0) }
	END { if (sect == "syn") print ".fi" }'
}

tp --help | page tpkit "flash, power and commission the nodes of a Turing Pi 2" >"$out/tpkit.1"
tp --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\)  *\(.*\)/\1 \2/p' |
	while read -r cmd summary; do
		tp "$cmd" --help | page "tpkit-$cmd" "$summary" >"$out/tpkit-$cmd.1"
	done
