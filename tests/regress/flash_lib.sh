# SPDX-License-Identifier: MIT
# Shared by the tpkit flash tests (04N_*.test): a loader, a realistic image,
# eMMC backing files with known content, and checks on them.
. "$SRCDIR/tests/regress/image_lib.sh"

[ -x "$MKLDR" ] || fail "no $MKLDR"
"$MKLDR" loader.bin >/dev/null || fail "mkldr"
# Advance the twin's virtual clock from inside its command (docs/twin.md).
SLEEP="/usr/bin/python3 $SRCDIR/tests/twin/selftest/client.py 'HELLO wait'"
MIB=1048576

# seed_emmc FILE SIZE: an eMMC backing file full of an old image's bytes
# (0xa5), so that a test can tell "untouched" from "zeroed" from "written".
seed_emmc() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/zero | tr '\0' '\245' >"$1"
}

# range_is FILE OFFSET LENGTH BYTE: LENGTH bytes of FILE from OFFSET are
# all BYTE (octal, as tr takes it: 000, 245).
range_is() {
	[ "$(tail -c +$(($2 + 1)) "$1" | head -c "$3" | tr -d "\\$4" | wc -c)" = 0 ] &&
		[ "$(tail -c +$(($2 + 1)) "$1" | head -c "$3" | wc -c)" = "$3" ]
}

# expect_restored SLOT: the board as it was before flash mode (strap
# released, node off, USB routing back), from the twin's final state.
expect_restored() {
	grep -q "^slot $1 .*regulator disabled en 0 power off strap 0 " state ||
		{ cat state; fail "slot $1 not restored: $(grep "^slot $1 " state)"; }
	grep -q "^atx-psu disabled" state || { cat state; fail "ATX supply left on"; }
}

# expect_strap_released_at_maskrom SLOT: the strap goes the moment the
# boot ROM is on USB (hardware.md §7.2, item 5), nothing in between.
expect_strap_released_at_maskrom() {
	events | grep -A1 "usbdev node$1 none -> maskrom" >strap.ev
	sed -n 2p strap.ev | grep -q "gpio node$1-rpiboot 1 -> 0" ||
		{ cat strap.ev; fail "strap of slot $1 not released right after the maskrom appeared"; }
	[ "$(cut -d' ' -f1 strap.ev | sort -u | wc -l)" = 1 ] ||
		{ cat strap.ev; fail "strap released later than the maskrom appeared"; }
}
