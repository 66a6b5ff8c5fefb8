#!/bin/bash
# SPDX-License-Identifier: MIT
# Remove the cached images of older recipes (docs/nodeimg.md): each is about
# 500 MiB, and of no use once the current recipe's are built. A directory a
# builder still holds (its .lock) is left alone. Kept out of build.sh so
# that this housekeeping is not part of the recipe's hash.
#
#   prune.sh CURRENT_DIR      (the directory build.sh --print-dir prints)
set -euo pipefail
[ $# = 1 ] && [ -d "$1" ] || { echo "usage: $0 CURRENT_DIR" >&2; exit 2; }
cur=$(realpath "$1")
for old in "$(dirname "$cur")"/*; do
	[ "$(realpath "$old")" != "$cur" ] && [ -f "$old/.lock" ] &&
		[[ $(basename "$old") =~ ^[0-9a-f]{16}$ ]] || continue
	if { flock -n 9 && rm -rf --one-file-system "$old"; } 9<"$old/.lock"; then
		echo "nodeimg: removed an older recipe's images: $old" >&2
	fi
done
