#!/bin/bash
# SPDX-License-Identifier: MIT
# Pack the k3s double into a bundle directory as the contract names it
# (docs/k3s-double.md; docs/node-helper.md §12), and print nothing but
# errors:
#
#   tests/twin/k3s/mkbundle.sh OUTDIR ARCH VERSION
#
# OUTDIR gets k3s (the double, with VERSION and a fresh TLS certificate
# embedded), install.sh (the double), k3s-airgap-images-ARCH.tar.zst (a
# small stand-in; .tar when zstd is missing), SHA256SUMS and VERSION, as
# seeding puts them on a node, plus catalogue.conf: one stanza per file for
# the test catalogue. K3S_BUNDLE_URL_BASE (default
# http://127.0.0.1:8321/k3s) is where the catalogue says they are served.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 3 ] || { echo "usage: $0 OUTDIR ARCH VERSION" >&2; exit 2; }
out=$1 arch=$2 version=$3
case $arch in arm64 | amd64) ;; *) echo "$0: ARCH is arm64 or amd64" >&2; exit 2 ;; esac
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?\+k3s[0-9]+$ ]] ||
	{ echo "$0: VERSION is vX.Y.Z+k3sN" >&2; exit 2; }
url_base=${K3S_BUNDLE_URL_BASE:-http://127.0.0.1:8321/k3s}

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The API's certificate: made here with the host's openssl, valid for the
# names a client on the node uses; agents with a short token do not check
# it (commissioning.md §6.3), kubectl checks it against the kubeconfig.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
	-subj "/CN=k3s-double" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
python3 - "$here/k3s" "$out/k3s" "$version" "$work/cert.pem" "$work/key.pem" <<'EOF'
import sys
src, dst, version, cert, key = sys.argv[1:]
text = open(src).read()
for mark, value in (("@VERSION@", version), ("@CERT@", open(cert).read()),
                    ("@KEY@", open(key).read())):
    assert text.count(mark) == 1, mark
    text = text.replace(mark, value)
open(dst, "w").write(text)
EOF
chmod 0755 "$out/k3s"
install -m 0755 "$here/install.sh" "$out/install.sh"

# The airgap images: k3s would import every archive in its images
# directory; the double has none to import, so a note stands in.
mkdir -p "$work/img"
echo "tpkit's k3s double $version ($arch): no container images" >"$work/img/README"
tar -C "$work/img" --owner=0 --group=0 --mtime=@0 -cf "$work/images.tar" README
images=k3s-airgap-images-$arch.tar
if command -v zstd >/dev/null; then
	zstd -q -19 "$work/images.tar" -o "$out/$images.zst" -f
	images=$images.zst
else
	cp "$work/images.tar" "$out/$images"
fi
chmod 0644 "$out/$images"
echo "$version" >"$out/VERSION"
(cd "$out" && sha256sum k3s install.sh "$images" >SHA256SUMS)
chmod 0644 "$out/VERSION" "$out/SHA256SUMS"

# stanza KIND FILE: one catalogue entry. The format follows the image
# catalogue's (images/images.conf); the k3s kinds are the seeding side's.
stanza() {
	local name=k3s-${version//+/-}-$arch-${1#k3s-}
	printf '[%s]\nkind        = %s\narch        = %s\nversion     = %s\nurl         = %s/%s\nsha256      = %s\nsize        = %s\n\n' \
		"$name" "$1" "$arch" "$version" "$url_base" "$2" \
		"$(sha256sum "$out/$2" | cut -c1-64)" "$(stat -c %s "$out/$2")"
}
{
	echo "# tpkit's k3s double $version for $arch (tests/twin/k3s/mkbundle.sh): test only."
	echo
	stanza k3s-binary k3s
	stanza k3s-install install.sh
	stanza k3s-images "$images"
} >"$out/catalogue.conf"
