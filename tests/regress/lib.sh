# SPDX-License-Identifier: MIT
# Shared helpers for tests/regress/*.test. Each test runs in its own scratch
# directory ($TMP) with $TPKIT, $TWIN and $BUILD set by tests/run.sh.
set -u

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# twin ARGS... -- COMMAND...: run under the twin; sets $rc, and leaves the
# command's stdout in out, its stderr in err, the timeline in timeline and the
# board's final state in state.
twin() {
	rc=0
	"$TWIN" --timeline timeline --state state "$@" >out 2>err || rc=$?
}

expect_rc() {
	[ "$rc" -eq "$1" ] || {
		# The timeline first: the command's own words (its FAIL) end the
		# output, where the suite's tail of a failed test shows them.
		echo "--- timeline"; cat timeline 2>/dev/null
		echo "--- stdout"; cat out; echo "--- stderr"; cat err
		fail "exit status $rc, expected $1"
	}
}

# expect_in FILE TEXT: FILE contains TEXT (fixed string).
expect_in() {
	grep -qF -- "$2" "$1" || {
		echo "--- $1"; cat "$1"
		fail "$1 lacks: $2"
	}
}

expect_not_in() {
	if grep -qF -- "$2" "$1"; then
		echo "--- $1"; cat "$1"
		fail "$1 should not contain: $2"
	fi
}

# The timeline without lock-keeping (hold events), white space folded, so a
# test can compare it whole against a heredoc.
events() {
	awk '$2 != "hold" { $1 = $1; print }' timeline
}

# expect_events: stdin is the exact expected event list.
expect_events() {
	events >events.got
	cat >events.want
	diff -u events.want events.got >events.diff || {
		cat events.diff
		fail "timeline differs from what hardware.md prescribes"
	}
}

# JSON field check without jq: python's json module reads our output.
json() {
	/usr/bin/python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[3]) if len(sys.argv) > 3 else 0]); print(eval(sys.argv[2], {}, {'d': d}))" "$@"
}
