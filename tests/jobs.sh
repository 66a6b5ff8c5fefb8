# SPDX-License-Identifier: MIT
# At most N jobs at once, for the test runners (tests/run.sh,
# tests/fuzz/run.sh): `jobs_slot N` before each job started with `&`
# waits, when N already run, for one of them to end; `jobs_wait` waits
# for all of them. Each job writes its own result files; the runner reads
# them afterwards in its own order, so the output does not depend on which
# job ended first.
jobs_running=0

jobs_slot() {
	if [ "$jobs_running" -ge "$1" ]; then
		wait -n
		jobs_running=$((jobs_running - 1))
	fi
	jobs_running=$((jobs_running + 1))
}

jobs_wait() {
	wait
	jobs_running=0
}
