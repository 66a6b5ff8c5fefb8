# SPDX-License-Identifier: MIT
# Shared set-up for the tpkit images tests (05N_images_*.test): a fake root
# with the SD card as a real mount (a tmpfs: `st_dev` differs from the
# root's, as a card at /mnt/sdcard does on the BMC), an nginx on 127.0.0.1
# whose access log records each request's Range header, a test image and a
# catalogue pointing at it.
. "$SRCDIR/tests/regress/image_lib.sh"
command -v nginx >/dev/null || fail "nginx missing (nginx-light)"
cd "$TMP"
D=$TMP
ROOT=$TMP/root
SD=$ROOT/mnt/sdcard
CACHE=$SD/tpkit/images
export TPKIT_ROOT=$ROOT

pids= mounts=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for m in $mounts; do umount "$m" 2>/dev/null; done
}
trap cleanup EXIT

# sd_mount SIZE: a tmpfs of SIZE at <root>/mnt/sdcard (we run as root; the
# tests need a file system whose free space they control).
sd_mount() {
	mkdir -p "$SD"
	mount -t tmpfs -o "size=$1" tpkit-sd "$SD" ||
		fail "cannot mount a tmpfs at $SD (the images tests need root and CAP_SYS_ADMIN)"
	mounts="$SD $mounts"
}

sd_umount() {
	umount "$SD" || fail "umount $SD"
	mounts=
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The shipped catalogue under the fake root, so every load has it.
mkdir -p "$ROOT/usr/share/tpkit" www/img body
cp "$SRCDIR/images/images.conf" "$ROOT/usr/share/tpkit/images.conf"

make_disk disk.img
xz -6 -c disk.img >www/img/disk.img.xz
# ... and one for a CM4 (no Rockchip ID block), for test-cm4 entries
make_disk cm4disk.img cm4
xz -6 -c cm4disk.img >www/img/cm4disk.img.xz
CM4SUM=$(sha256sum <www/img/cm4disk.img.xz | cut -d' ' -f1)
CM4XZSIZE=$(stat -c %s www/img/cm4disk.img.xz)
CM4RAWSIZE=$(stat -c %s cm4disk.img)
SUM=$(sha256sum <www/img/disk.img.xz | cut -d' ' -f1)
XZSIZE=$(stat -c %s www/img/disk.img.xz)
RAWSIZE=$(stat -c %s disk.img)

port=$(free_port)
# nginx's workers run as www-data: they must be able to enter the scratch
# directory, which mktemp makes 0700.
chmod 755 "$D"
cat >nginx.conf <<X
daemon off;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/error.log;
events { worker_connections 64; }
http {
  log_format ranges '\$request \$status range="\$http_range" sent=\$body_bytes_sent';
  access_log $D/access.log ranges;
  client_body_temp_path $D/body; proxy_temp_path $D/body;
  fastcgi_temp_path $D/body; uwsgi_temp_path $D/body; scgi_temp_path $D/body;
  server {
    listen 127.0.0.1:$port;
    root $D/www;
  }
}
X
nginx -p "$D" -c "$D/nginx.conf" 2>nginx.err &
pids="$pids $!"
# wait until it answers (a readiness check, not a sleep)
i=0
until /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "nginx did not start: $(cat nginx.err error.log)"
	/usr/bin/python3 -c 'import time; time.sleep(0.05)'
done
URL=http://127.0.0.1:$port

# The test catalogue: the user's file under the fake root.
mkdir -p "$ROOT/etc/tpkit"
cat >"$ROOT/etc/tpkit/images.conf" <<X
# test images served by nginx on 127.0.0.1
[test-rk1]
module      = rk1
url         = $URL/img/disk.img.xz
sha256      = $SUM
size        = $XZSIZE
raw-size    = $RAWSIZE
description = test image
default     = yes
X

# images ARGS...: run tpkit images; sets rc, out, err.
images() {
	rc=0
	"$TPKIT" images "$@" >out 2>err || rc=$?
}

# requests PATH: the access log lines for PATH.
requests() {
	grep -F "GET $1 " access.log 2>/dev/null || true
}
