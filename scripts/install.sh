#!/bin/sh
# SPDX-License-Identifier: MIT
# What `make install` puts where (the Makefile passes its variables), kept
# here so that a test can run the same steps against a scratch DESTDIR
# without a make that might rebuild the binaries a suite is using.
#   scripts/install.sh TPKIT DESTDIR PREFIX DATADIR DOCDIR MANPAGES [NODE_HELPER]
# MANPAGES: the directory scripts/mkman.sh wrote, or "" for none.
set -eu
tpkit=$1 destdir=$2 prefix=$3 datadir=$4 docdir=$5 man=$6 helper=${7:-}
src=$(cd "$(dirname "$0")/.." && pwd)

run() { echo "$*"; "$@"; }

run install -D -m 0755 "$tpkit" "$destdir$prefix/bin/tpkit"
run install -D -m 0644 "$src/images/images.conf" "$destdir$datadir/images.conf"
# The documents messages and --help name (recovery.md, runbooks/...).
run install -d "$destdir$docdir/runbooks"
run install -m 0644 "$src"/docs/*.md "$src"/docs/json.schema.json "$destdir$docdir"
run install -m 0644 "$src"/docs/runbooks/*.md "$destdir$docdir/runbooks"
if [ -n "$man" ]; then
	run install -d "$destdir$prefix/share/man/man1"
	run install -m 0644 "$man"/*.1 "$destdir$prefix/share/man/man1"
else
	echo "note: no man pages (make man builds them from the --help texts)"
fi
run install -D -m 0644 "$src/bmc/tpkit.bash-completion" \
	"$destdir$prefix/share/bash-completion/completions/tpkit"
# The init script belongs to a BMC's root, never to a build machine's /etc.
if [ -n "$destdir" ]; then
	run install -D -m 0755 "$src/board/turingpi2/init/S95tpkit" "$destdir/etc/init.d/S95tpkit"
	run install -D -m 0755 "$src/board/turingpi2/init/S94tpkit-serve" \
		"$destdir/etc/init.d/S94tpkit-serve"
fi
if [ -n "$helper" ] && [ -f "$helper" ]; then
	run install -D -m 0755 "$helper" "$destdir$datadir/node/tpkit-node-aarch64"
else
	echo "note: no ${helper:-node helper}: seeding needs it (make TPKIT_ARCH=aarch64 node, then make install again)"
fi
