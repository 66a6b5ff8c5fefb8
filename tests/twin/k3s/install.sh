#!/bin/sh
# SPDX-License-Identifier: MIT
# A double of k3s's install.sh (docs/k3s-double.md), written for tpkit's
# twin from the behaviour node-helper.md §12 records, not from its code.
# It does what the air-gap install needs and checks that it is asked the
# way tpkit-node asks: INSTALL_K3S_SKIP_DOWNLOAD=true (there is nothing to
# download here), INSTALL_K3S_EXEC=server|agent, INSTALL_K3S_SKIP_START.
# It writes the unit as the real script's facts say (Type=notify,
# TimeoutStartSec=0, Restart=always, RestartSec=5s, modprobe before the
# start, EnvironmentFile lines), reloads systemd and enables the unit.
# K3S_DOUBLE_ROOT prefixes the paths it writes (host tests).
set -eu

say() { echo "[INFO]  $*"; }
die() { echo "[ERROR]  $*" >&2; exit 1; }

R=${K3S_DOUBLE_ROOT:-}
BIN_DIR=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
SYSTEMD_DIR=${INSTALL_K3S_SYSTEMD_DIR:-/etc/systemd/system}

case ${INSTALL_K3S_SKIP_DOWNLOAD:-} in
true | binary) ;;
*) die "install.sh double: INSTALL_K3S_SKIP_DOWNLOAD must be true: k3s is in no archive this test can reach (docs/k3s-double.md)" ;;
esac
[ -z "${INSTALL_K3S_VERSION:-}" ] || die "INSTALL_K3S_VERSION with SKIP_DOWNLOAD: the double downloads nothing"
boolean() { case $2 in '' | true | false) ;; *) die "$1=$2 is not true or false" ;; esac; }
boolean INSTALL_K3S_SKIP_START "${INSTALL_K3S_SKIP_START:-}"
boolean INSTALL_K3S_SKIP_ENABLE "${INSTALL_K3S_SKIP_ENABLE:-}"
boolean INSTALL_K3S_FORCE_RESTART "${INSTALL_K3S_FORCE_RESTART:-}"

# The command: the first word of INSTALL_K3S_EXEC; a flag or nothing means
# server, unless K3S_URL is set (then agent, and a token is required).
# shellcheck disable=SC2086 # split into words on purpose
set -- ${INSTALL_K3S_EXEC:-}
case ${1:-} in
server | agent) CMD=$1 ;;
'' | -*) if [ -n "${K3S_URL:-}" ]; then CMD=agent; else CMD=server; fi ;;
*) die "INSTALL_K3S_EXEC=${INSTALL_K3S_EXEC}: the command must be server or agent" ;;
esac
if [ -n "${K3S_URL:-}" ]; then
	case $K3S_URL in https://*) ;; *) die "Only https:// URLs are supported for K3S_URL (have $K3S_URL)" ;; esac
	[ -n "${K3S_TOKEN:-}${K3S_TOKEN_FILE:-}" ] || die "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined."
fi
NAME=k3s
[ "$CMD" = server ] || NAME=k3s-agent
UNIT=$NAME.service

[ -x "$R$BIN_DIR/k3s" ] || die "$BIN_DIR/k3s is missing: with SKIP_DOWNLOAD it must be placed first"
say "Skipping k3s download and verify"
"$R$BIN_DIR/k3s" --version >/dev/null || die "$BIN_DIR/k3s does not run"
for l in kubectl crictl ctr; do
	if [ ! -e "$R$BIN_DIR/$l" ]; then
		say "Creating $BIN_DIR/$l symlink to k3s"
		ln -s k3s "$R$BIN_DIR/$l"
	fi
done

mkdir -p "$R$SYSTEMD_DIR"
# K3S_* variables are kept for the unit, readable by root alone.
umask 077
env | grep -E '^(K3S_|CONTAINERD_)' >"$R$SYSTEMD_DIR/$UNIT.env" || true
umask 022
say "systemd: Creating service file $SYSTEMD_DIR/$UNIT"
cat >"$R$SYSTEMD_DIR/$UNIT" <<EOF
# Written by tpkit's install.sh double (tests/twin/k3s, docs/k3s-double.md).
[Unit]
Description=Lightweight Kubernetes (tpkit's k3s double)
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-$SYSTEMD_DIR/$UNIT.env
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=$BIN_DIR/k3s $CMD

[Install]
WantedBy=multi-user.target
EOF

systemctl daemon-reload
if [ "${INSTALL_K3S_SKIP_ENABLE:-}" != true ]; then
	say "systemd: Enabling $NAME unit"
	systemctl enable "$UNIT"
fi
if [ "${INSTALL_K3S_SKIP_START:-}" != true ] && [ "${INSTALL_K3S_SKIP_ENABLE:-}" != true ]; then
	say "systemd: Starting $NAME"
	systemctl restart "$UNIT"
fi
