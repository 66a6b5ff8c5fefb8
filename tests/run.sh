#!/bin/bash
# SPDX-License-Identifier: MIT
# Run tpkit's tests and end with one line "N passed, N failed".
#
#   tests/run.sh [--unit-only | --vm] [--runner "CMD"] [--filter GLOB] [--jobs N] BUILD_DIR
#
# Unit tests: every BUILD_DIR/tests/unit/test_* binary (cmocka); each test
# case counts. Then the twin's self-test, then every tests/regress/*.test,
# each run with BUILD, TPKIT, TWIN, MKLDR and a fresh scratch dir TMP in its
# environment. --runner prefixes unit binaries (qemu-arm for cross builds).
# --vm runs tests/vm/*.test instead (make check-vm: real node VMs, slow);
# a test that does not end within TPKIT_TEST_TIMEOUT seconds (900; 2400
# with --vm) fails, and everything it started is killed;
# a test that exits 77 is skipped and counts for nothing. Unit binaries run
# one per CPU. Regression tests run --jobs at a time (default:
# $TPKIT_TEST_JOBS, else twice the number of CPUs): each has its own scratch
# directory, free ports and fake root, and most spend their time with one of
# tpkit and the twin waiting for the other, so four at once on two cores
# take little more than two (make check's suite: 77 s less than with two).
# Their result lines come as they end; a failure's output follows the last
# of them. VM tests run one at a time (each keeps both cores busy).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/jobs.sh"
unit_only=0 runner="" filter="*" suite=regress skipped=0
cpus=$(nproc 2>/dev/null || echo 1)
jobs=${TPKIT_TEST_JOBS:-$((2 * cpus))}
while [ $# -gt 1 ]; do
	case $1 in
	--unit-only) unit_only=1 ;;
	--vm) suite=vm ;;
	--runner) runner=$2; shift ;;
	--filter) filter=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	*) break ;;
	esac
	shift
done
build=$(cd "${1:?usage: tests/run.sh [--unit-only] [--runner CMD] BUILD_DIR}" && pwd)
# Each test's time limit, in seconds: far above the slowest (under ASan,
# or a node VM booting), so only a hang reaches it.
if [ "$suite" = vm ]; then limit=${TPKIT_TEST_TIMEOUT:-2400}; else limit=${TPKIT_TEST_TIMEOUT:-900}; fi
passed=0 failed=0 failures=()

note_fail() { failed=$((failed + 1)); failures+=("$1"); }

# leaks DIR [FILE...]: no secret of any state directory a test made under DIR (its
# secrets/) in the test's outputs and logs (tests/tools/leakcheck.py): what
# tpkit printed (out, err, *.out, *.err, *.json), the twin's timeline and
# state, and the nodes' console logs. Files the test took out of a seeded
# image are not outputs: secrets belong there. FILEs are outputs too (the
# copy of the test's --json lines).
leaks() {
	local states outs
	mapfile -t states < <(find "$1" -type d -name secrets 2>/dev/null)
	[ ${#states[@]} -gt 0 ] || return 0
	mapfile -t outs < <(find "$1" -type f \( -name out -o -name err -o -name '*.out' \
		-o -name '*.err' -o -name '*.json' -o -name '*.log' -o -name timeline \
		-o -name state -o -path '*/outputs/*' -o -path '*/console/*' \) \
		-not -path '*/secrets/*' 2>/dev/null)
	for f in "${@:2}"; do
		[ -f "$f" ] && outs+=("$f")
	done
	[ ${#outs[@]} -gt 0 ] || return 0
	python3 "$here/tools/leakcheck.py" --states "${states[@]}" --outputs "${outs[@]}" >/dev/null &&
		return 0
	echo "secrets in the test's outputs:"
	python3 "$here/tools/leakcheck.py" --states "${states[@]}" --outputs "${outs[@]}" | grep LEAK
	return 1
}

# run_one TEST RESULT: one test in a fresh scratch directory; its result
# line printed when it ends, its outcome in RESULT.rc (ok, skip, fail), its
# name in RESULT.name, a failure's last lines in RESULT.tail.
run_one() {
	local t=$1 res=$2 name out rc start TMP
	name=$(basename "$t" .test)
	echo "$name" >"$res.name"
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/tpkit-test.XXXXXX")
	export TMP
	# Every line any tpkit of the test prints under --json, for the
	# schema check after the suite (docs/json.md).
	export TPKIT_JSON_COPY=${res%/*}/$name.jsonl
	echo "$TMP" >"$res.tmp"
	start=$(date +%s.%N)
	# A test that hangs (a FIFO nobody opens, a peer that never
	# answers) fails after its time instead of holding the suite:
	# timeout signals the test's whole process group.
	if [ "$suite" = vm ]; then
		# Minutes long: its lines go out as they come (a CI log that
		# is cut short still shows how far it got).
		(cd "$TMP" && timeout -k 30 "$limit" bash "$t") 2>&1 | tee "$TMP/output.log" |
			sed -u "s/^/    $name: /"
		rc=${PIPESTATUS[0]}
		out=$(cat "$TMP/output.log")
	else
		out=$(cd "$TMP" && timeout -k 30 "$limit" bash "$t" 2>&1)
		rc=$?
	fi
	[ $rc != 124 ] && [ $rc != 137 ] ||
		out=$(printf '%s\nFAIL: %s did not end within %s s (TPKIT_TEST_TIMEOUT)' "$out" "$name" "$limit")
	[ $rc != 0 ] || out=$(leaks "$TMP" "$TPKIT_JSON_COPY" 2>&1) || rc=1
	if [ $rc = 77 ]; then
		echo skip >"$res.rc"
		printf 'test  %-40s SKIP  %s\n' "$name" "$(printf '%s\n' "$out" | tail -1)"
		rm -rf "$TMP"
	elif [ $rc = 0 ]; then
		echo ok >"$res.rc"
		printf 'test  %-40s ok    %5.2fs\n' "$name" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"
		rm -rf "$TMP"
	else
		# Its last lines, and every FAIL line before them (a test that
		# dumps a timeline after its FAIL would otherwise hide it).
		{
			printf '%s\n' "$out" | head -n -25 | grep -E '^ *(FAIL|fail)' | tail -5
			printf '%s\n' "$out" | tail -25
		} >"$res.tail"
		echo fail >"$res.rc"
		printf 'test  %-40s FAILED (scratch kept in %s)\n' "$name" "$TMP"
	fi
}

# unit_one BINARY RESULT: one cmocka binary; its output in RESULT.out, its
# exit status in RESULT.rc. One per CPU: under qemu-user a binary
# takes seconds to half a minute of one core (test_seed, test_xz_threads).
unit_one() {
	# shellcheck disable=SC2086
	$runner "$1" >"$2.out" 2>&1
	echo $? >"$2.rc"
}

if [ "$suite" = regress ]; then
	units=$(mktemp -d "${TMPDIR:-/tmp}/tpkit-units.XXXXXX")
	bins=()
	for t in "$build"/tests/unit/test_*; do
		[ -x "$t" ] && [ "${t%.[od]}" = "$t" ] || continue
		bins+=("$t")
		jobs_slot "$cpus"
		unit_one "$t" "$units/${#bins[@]}" &
	done
	jobs_wait
	i=0
	for t in "${bins[@]}"; do
		i=$((i + 1))
		name=$(basename "$t")
		out=$(cat "$units/$i.out")
		rc=$(cat "$units/$i.rc")
		# A binary may run several groups: add up every group's summary.
		p=$(printf '%s\n' "$out" | awk '/^\[  PASSED  \] [0-9]+ test/ {n += $4} END {print n + 0}')
		f=$(printf '%s\n' "$out" | awk '/^\[  FAILED  \] [0-9]+ test/ {n += $4} END {if (n) print n}')
		passed=$((passed + ${p:-0}))
		if [ "$rc" -ne 0 ] || [ -n "$f" ]; then
			printf '%s\n' "$out" | grep -E '^\[  (FAILED|  ERROR)|error|Error' | sed "s|^|$name: |" >&2
			failed=$((failed + ${f:-1})); failures+=("$name")
		fi
		how=${f:+, $f failed}
		[ "$rc" -eq 0 ] || how="$how, exit status $rc"
		echo "unit  $name: ${p:-0} passed$how"
	done
	rm -rf "$units"
fi

if [ "$unit_only" = 0 ]; then
	export BUILD=$build TPKIT=$build/tpkit TWIN=$build/tests/twin/tp-twin
	export MKLDR=$build/tests/tools/mkldr SRCDIR=${here%/tests}
	if [ "$suite" = regress ] && [ -x "$here/twin/selftest/run.sh" ] && [ -x "$TWIN" ]; then
		if out=$("$here/twin/selftest/run.sh" "$TWIN" 2>&1); then
			passed=$((passed + 1)); echo "twin  selftest: ok"
		else
			printf '%s\n' "$out" | tail -20 >&2
			note_fail "twin selftest"; echo "twin  selftest: FAILED"
		fi
	fi
	[ "$suite" = regress ] || jobs=1
	results=$(mktemp -d "${TMPDIR:-/tmp}/tpkit-results.XXXXXX")
	i=0
	for t in "$here"/$suite/$filter.test; do
		[ -f "$t" ] || continue
		i=$((i + 1))
		jobs_slot "$jobs"
		run_one "$t" "$results/$(printf %03d $i)" &
	done
	jobs_wait
	# Every --json line the suite printed against docs/json.schema.json;
	# the whole suite must also print every kind of line it describes.
	mapfile -t copies < <(find "$results" -name '*.jsonl' | sort)
	if [ ${#copies[@]} -gt 0 ]; then
		cov=
		[ "$suite" = regress ] && [ "$filter" = "*" ] && cov=--coverage
		if out=$(/usr/bin/python3 "$here/tools/json_check.py" $cov "${here%/tests}/docs/json.schema.json" \
			"${copies[@]}" 2>&1); then
			passed=$((passed + 1))
			printf 'test  %-40s ok    %s\n' json-schema "$(printf '%s\n' "$out" | tail -1)"
		else
			note_fail json-schema
			printf 'test  %-40s FAILED\n' json-schema
			printf '%s\n' "$out" | head -60 | sed 's/^/    | /'
		fi
	fi
	for r in "$results"/*.rc; do
		[ -f "$r" ] || continue
		name=$(cat "${r%.rc}.name")
		case $(cat "$r") in
		ok) passed=$((passed + 1)) ;;
		skip) skipped=$((skipped + 1)) ;;
		*)
			note_fail "$name"
			echo "--- $name: the end of its output (scratch kept in $(cat "${r%.rc}.tmp"))"
			sed 's/^/    | /' "${r%.rc}.tail" ;;
		esac
	done
	rm -rf "$results"
fi

[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
