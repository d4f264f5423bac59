#!/usr/bin/env bash
# Measures the read paths of a running bridge with wrk: WebFinger and the
# actor document (Accept: application/activity+json), 2 threads and 64
# connections for 10 s each, and prints requests per second.
#
#   bench/get.sh                 build ./cmd/bridge, start it on loopback, measure, stop it
#   BRIDGE=/path/to/bridge bench/get.sh   use that binary
#   URL=http://127.0.0.1:8080 bench/get.sh   measure an already running bridge
#                                            (account news; run it with log.level warn)
#
# Environment: THREADS (2), CONNECTIONS (64), DURATION (10s), PORT (18473).
# Needs wrk (apt-get install -y wrk). Loopback only.
set -euo pipefail

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
PORT=${PORT:-18473}
root=$(cd "$(dirname "$0")/.." && pwd)

command -v wrk >/dev/null || { echo "get.sh: wrk not found (apt-get install -y wrk)" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || echo "get.sh: bridge exited with status $?" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${URL:-} ]]; then
	URL="http://127.0.0.1:$PORT"
	bin=${BRIDGE:-}
	if [[ -z $bin ]]; then
		bin="$work/bridge"
		(cd "$root" && go build -o "$bin" ./cmd/bridge)
	fi
	cat >"$work/config.yaml" <<YAML
server:
  public_url: "$URL"
  listen: "127.0.0.1:$PORT"
storage:
  driver: "sqlite"
  dsn: "$work/data/bridge.db"
log:
  level: "warn"
  format: "json"
accounts:
  - username: news
    display_name: "Ville de Test"
    summary: "Benchmark account."
YAML
	"$bin" --config "$work/config.yaml" serve 2>"$work/bridge.log" &
	pid=$!
	for _ in $(seq 200); do
		curl -fs "$URL/healthz" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { cat "$work/bridge.log" >&2; exit 1; }
		sleep 0.05
	done
	curl -fs "$URL/healthz" >/dev/null || { echo "get.sh: bridge not healthy" >&2; cat "$work/bridge.log" >&2; exit 1; }
	echo "bridge pid $pid on $URL (log.level warn)"
fi

hostport=${URL#http://}
hostport=${hostport#https://}
webfinger="$URL/.well-known/webfinger?resource=acct:news@$hostport"
actor="$URL/users/news"

# Check both answer 200 before measuring.
curl -fs -o /dev/null "$webfinger" || { echo "get.sh: $webfinger does not answer 200" >&2; exit 1; }
curl -fs -o /dev/null -H 'Accept: application/activity+json' "$actor" || { echo "get.sh: $actor does not answer 200" >&2; exit 1; }

# CPU time (user + system, in clock ticks) the bridge has used, when we run it.
cputicks() {
	[[ -n $pid ]] || { echo 0; return; }
	awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$pid/stat"
}

measure() { # name url
	local out c0 c1
	c0=$(cputicks)
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H 'Accept: application/activity+json' "$2")
	c1=$(cputicks)
	echo "$out" >"$work/wrk-$1.txt"
	local rps lat50 lat99 errors
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	lat50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	lat99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
	printf '%-10s %10s req/s   p50 %-8s p99 %-8s %s' "$1" "$rps" "$lat50" "$lat99" "$errors"
	if [[ -n $pid ]]; then
		# CPU of the bridge per request: independent of what else runs.
		local reqs
		reqs=$(awk '/requests in/ {print $1}' <<<"$out")
		awk -v t=$((c1 - c0)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { us = t / hz * 1e6 / n; printf "  bridge CPU %.1f us/req (%.0f req/s per core)", us, 1e6 / us }'
	fi
	echo
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
measure webfinger "$webfinger"
measure actor "$actor"
if [[ -n $pid ]]; then
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	echo "bridge RSS after the GET load: $((rss / 1024)) MiB"
fi
