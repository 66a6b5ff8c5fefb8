#!/bin/bash
# SPDX-License-Identifier: MIT
# Run every libFuzzer target in BUILD_DIR/tests/fuzz/ for SECONDS each and
# end with one line "N passed, N failed" (a target passes when it ran its
# time without a crash, a leak, a UBSan finding or a timeout).
#
#   tests/fuzz/run.sh [--time SECONDS] [--jobs N] BUILD_DIR
#
# --jobs targets run at once (default: the number of CPUs; a libFuzzer run
# keeps one core busy for its whole time).
# Seeds are generated (tests/fuzz/seeds.sh) plus any kept in
# tests/fuzz/corpus/<target>/; what a run learns stays in
# BUILD_DIR/fuzz/corpus/<target>/ for the next run; a finding is saved in
# BUILD_DIR/fuzz/crash/ and named in the output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../jobs.sh"
secs=60 jobs=$(nproc 2>/dev/null || echo 1)
while [ $# -gt 1 ]; do
	case $1 in
	--time) secs=$2 ;;
	--jobs) jobs=$2 ;;
	*) break ;;
	esac
	shift 2
done
build=$(cd "${1:?usage: tests/fuzz/run.sh [--time SECONDS] [--jobs N] BUILD_DIR}" && pwd)
passed=0 failed=0 failures=()

"$here/seeds.sh" "$build" "$build/fuzz/seeds" || { echo "fuzz: cannot make the seeds"; exit 1; }
mkdir -p "$build/fuzz/crash" "$build/fuzz/log"
# fuzz_one BINARY: one target for $secs seconds; its result line (and a
# finding's summary) on stdout, its status as the exit status.
fuzz_one() {
	local bin=$1 name corpus log start runs cov dirs
	name=${bin##*/fuzz_}
	corpus=$build/fuzz/corpus/$name
	log=$build/fuzz/log/$name.log
	mkdir -p "$corpus"
	dirs=("$corpus" "$build/fuzz/seeds/$name")
	[ -d "$here/corpus/$name" ] && dirs+=("$here/corpus/$name")
	start=$(date +%s)
	# -timeout: one input running 10 s is a hang (an endless parse loop);
	# -rss_limit_mb: the BMC has 128 MB, a parser must not need 1 GiB.
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz/crash/$name-" "${dirs[@]}" >"$log" 2>&1; then
		runs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		printf 'fuzz  %-10s ok    %4ds  %s runs, %s\n' "$name" "$(($(date +%s) - start))" \
			"${runs:-?}" "${cov:-cov: ?}"
	else
		printf 'fuzz  %-10s FAILED (log %s)\n' "$name" "$log"
		grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written to|==[0-9]+==' "$log" |
			head -15 | sed 's/^/    | /'
		return 1
	fi
}

results=$(mktemp -d "${TMPDIR:-/tmp}/tpkit-fuzz.XXXXXX")
bins=()
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$bin" ] && [ "${bin%.d}" = "$bin" ] || continue
	bins+=("$bin")
	jobs_slot "$jobs"
	{ fuzz_one "$bin" >"$results/${#bins[@]}.out"; echo $? >"$results/${#bins[@]}.rc"; } &
done
jobs_wait
i=0
for bin in "${bins[@]}"; do
	i=$((i + 1))
	cat "$results/$i.out"
	if [ "$(cat "$results/$i.rc")" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("${bin##*/fuzz_}")
	fi
done
rm -rf "$results"
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
