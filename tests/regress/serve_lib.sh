# SPDX-License-Identifier: MIT
# A tpi-shaped client of tpkit serve, written from serve.md (§3, §4, §6),
# with curl: every request a GET of /api/bmc?opt=..&type=.., the upload and
# node_info POSTs, tokens as Bearer, untrusted certificates accepted.
# Sourced by tests that run under the twin (TPKIT_ROOT etc. set).

# serve_start ARGS...: tpkit serve in the background on ephemeral ports of
# $SERVE_ADDR (default 127.0.0.1); returns when it has printed its
# listening line (read through a FIFO: no polling). Sets SERVE_PID, HTTPS
# and HTTP (the ports), BASE (https://ADDR:PORT).
serve_start() {
	local addr=${SERVE_ADDR:-127.0.0.1} line=
	rm -f serve.ready
	mkfifo serve.ready
	"$TPKIT" serve --https "$addr:0" --http "$addr:0" --ban-ms 400 -v "$@" \
		>serve.ready 2>>serve.err &
	SERVE_PID=$!
	# A client that fails (fail exits) must not leave the server behind,
	# bound to its ports and holding the twin's sockets.
	trap 'kill -9 "$SERVE_PID" 2>/dev/null' EXIT
	read -r line <serve.ready || true
	case $line in
	"tpkit serve: listening: https port "*) ;;
	*) cat serve.err; fail "tpkit serve did not start: \"$line\"" ;;
	esac
	HTTPS=$(echo "$line" | sed -n 's/.*https port \([0-9]*\).*/\1/p')
	HTTP=$(echo "$line" | sed -n 's/.*http port \([0-9]*\).*/\1/p')
	BASE=https://$addr:$HTTPS
}

# serve_stop: SIGTERM, and the server must stop with 0.
serve_stop() {
	local src=0
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID" || src=$?
	trap - EXIT
	[ "$src" -eq 0 ] || { cat serve.err; fail "tpkit serve exited $src on SIGTERM"; }
}

# req [curl options...] URL: one request; the status in $status, the body
# in the file body, the response headers in the file hdrs.
req() {
	status=$(curl -sk --max-time 60 -D hdrs -o body -w '%{http_code}' "$@") ||
		fail "curl $* failed (status $status)"
}

# api QUERY [curl options...]: GET /api/bmc?QUERY with $AUTH (curl
# options such as -H "Authorization: Bearer ...") when set.
api() {
	local q=$1
	shift
	req ${AUTH:+-H "$AUTH"} "$@" "$BASE/api/bmc?$q"
}

# expect_api STATUS BODY: the last answer, status and body exactly.
expect_api() {
	local got
	got=$(cat body)
	[ "$status" = "$1" ] && [ "$got" = "$2" ] ||
		fail "expected $1 $2
got      $status $got"
}

# expect_body_has TEXT
expect_body_has() {
	grep -qF -- "$1" body || fail "the body lacks \"$1\": $(cat body)"
}

# login USER PASSWORD: POST /api/bmc/authenticate as tpi does; the token
# in $TOKEN when 200.
login() {
	req -X POST -H 'Content-Type: application/json' \
		--data "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE/api/bmc/authenticate"
	TOKEN=
	[ "$status" != 200 ] ||
		TOKEN=$(python3 -c 'import json,sys; print(json.load(open("body"))["id"])')
}

# shadow_make USER PASSWORD...: <root>/etc/shadow with SHA-512 crypt hashes,
# plus a locked user and a disabled one (serve.md §3).
shadow_make() {
	mkdir -p "$TPKIT_ROOT/etc"
	: >"$TPKIT_ROOT/etc/shadow"
	while [ $# -ge 2 ]; do
		printf '%s:%s:19000:0:99999:7:::\n' "$1" "$(openssl passwd -6 "$2")" \
			>>"$TPKIT_ROOT/etc/shadow"
		shift 2
	done
	printf 'daemon:*:19000:0:99999:7:::\nlocked:!:19000:0:99999:7:::\n' \
		>>"$TPKIT_ROOT/etc/shadow"
	chmod 600 "$TPKIT_ROOT/etc/shadow"
}
