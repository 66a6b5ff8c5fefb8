#!/bin/bash
# SPDX-License-Identifier: MIT
# Run cloud-init's own NoCloud datasource over a root file system that tpkit
# seeded (docs/seeding.md §5): does our seed win over the image's FAT seed?
#
#   scripts/cloudinit-seed-check.sh ROOT_FS [SRC]
#
# ROOT_FS is an ext4 image of a seeded root (TPKIT_TEST_KEEP=1
# build/tests/unit/test_seed keeps one as <dir>/root.fs). The script fetches
# Debian's cloud-init package with apt-get download (network needed; not part
# of make check), copies the seed and /etc/cloud out of ROOT_FS with debugfs,
# and calls DataSourceNoCloud._get_data() twice, with a fake FAT device
# labelled CIDATA whose seed creates "ubuntu": once as seeded (the label
# search must not run, our user-data must be used) and once without our
# drop-in (the FAT user-data then replaces ours: the reason for the drop-in).
# SRC, instead of the package: a directory holding an upstream tree's
# cloudinit/ (git -C cloud-init archive 25.1.4 cloudinit | tar -x -C SRC).
set -euo pipefail
root_fs=$(realpath "${1:?usage: scripts/cloudinit-seed-check.sh ROOT_FS [SRC]}")
src=${2:+$(realpath "$2")}
work=$(mktemp -d "${TMPDIR:-/tmp}/tp-ci-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ -n "$src" ]; then
	export PYTHONPATH=$src
	echo "cloud-init from $src"
else
	apt-get download cloud-init >/dev/null 2>&1 ||
		{ echo "apt-get download cloud-init failed" >&2; exit 1; }
	dpkg-deb -x cloud-init_*.deb pkg
	export PYTHONPATH=$work/pkg/usr/lib/python3/dist-packages
	echo "cloud-init $(ls cloud-init_*.deb | sed 's/^cloud-init_//; s/_all.deb$//')"
fi
mkdir -p root/etc/cloud root/var/lib/cloud/seed/nocloud
for f in meta-data user-data network-config; do
	/sbin/debugfs -R "dump /var/lib/cloud/seed/nocloud/$f root/var/lib/cloud/seed/nocloud/$f" \
		"$root_fs" 2>/dev/null
done
/sbin/debugfs -R "rdump /etc/cloud/cloud.cfg.d root/etc/cloud" "$root_fs" 2>/dev/null
printf 'users: [default]\n' >root/etc/cloud/cloud.cfg
cat >check.py <<'PY'
import os, sys, types
# configobj is only needed by a NetworkManager parser this path never uses.
sys.modules.setdefault("configobj", types.ModuleType("configobj")).ConfigObj = object
from cloudinit import dmi, helpers, util
from cloudinit.sources import DataSourceNoCloud as N

dropin = "root/etc/cloud/cloud.cfg.d/99_tpkit.cfg"
searched = []
def find_devs_with(criteria=None, **kw):
    searched.append(criteria)
    return ["/dev/fake"] if criteria in ("TYPE=vfat", "LABEL=CIDATA") else []
util.find_devs_with = find_devs_with
util.mount_cb = lambda dev, cb, data: {
    "meta-data": "instance-id: cloud-image\ndsmode: local\n",
    "user-data": "#cloud-config\nusers: [{name: ubuntu}]\n",
    "network-config": "network: {version: 2}\n"}
dmi.read_dmi_data = lambda key: None
util.get_cmdline = lambda: ""

def run(label):
    del searched[:]
    cfg = util.read_conf_with_confd("root/etc/cloud/cloud.cfg")
    ds = N.DataSourceNoCloud(cfg, None, helpers.Paths({"cloud_dir": "root/var/lib/cloud"}))
    assert ds._get_data()
    ud = ds.userdata_raw
    ud = ud.decode() if isinstance(ud, bytes) else ud
    print("%-18s fs_label=%r seed=%s instance-id=%s user=%s label search=%s" % (
        label, cfg["datasource"]["NoCloud"].get("fs_label"), ds.seed.replace(os.getcwd() + "/", ""),
        ds.metadata["instance-id"], "ubuntu" if "ubuntu" in ud else "ours",
        "yes" if searched else "no"))
    return ud, ds

ud, ds = run("seeded:")
ok = "ubuntu" not in ud and not searched and ds.metadata["instance-id"].startswith("tpkit-")
os.rename(dropin, "99_tpkit.cfg")
ud, ds = run("without drop-in:")
ok = ok and "ubuntu" in ud
print("OK: our seed wins, and only because of the drop-in" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
python3 check.py
