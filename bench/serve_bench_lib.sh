# SPDX-License-Identifier: MIT
# Shared by the tpkit serve benches (bench/serve.sh, bench/serve_parallel.sh):
# the programs they run, a scratch directory with a loader, and the test
# image, kept between runs in $CACHE. Sourced with BUILD set; sets TPKIT,
# MKLDR, SRCDIR (exported, for the twin's client), TWIN, and cds into the
# scratch directory, removed at exit.
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TPKIT=$BUILD/tpkit MKLDR=$BUILD/tests/tools/mkldr SRCDIR
TWIN=$BUILD/tests/twin/tp-twin
CACHE=${CACHE:-/var/tmp/tpkit-serve-bench}

for t in "$TPKIT" "$TWIN" "$MKLDR"; do
	[ -x "$t" ] || { echo "${0##*/}: no $t; run make tests first" >&2; exit 1; }
done
work=$(mktemp -d /var/tmp/tpkit-serve-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$MKLDR" loader.bin >/dev/null
mkdir -p "$CACHE"

# bench_image NAME SIZE_MIB XZ_PRESET: $CACHE/NAME-SIZE.img and its .xz,
# made once: half text (compresses), half random (does not), an OS image's
# mix; one xz block (-T1), so one decoder thread. The raw image's path on
# stdout.
bench_image() {
	local img=$CACHE/$1-$2.img
	if [ ! -f "$img.xz" ]; then
		{ (seq 1 100000000 || true) | head -c $(($2 * 524288))
		  head -c $(($2 * 524288)) /dev/urandom; } >"$img"
		xz "-$3" -T1 -k -f "$img"
	fi
	echo "$img"
}
