#!/usr/bin/env bash
# Webhook ingress, side by side in one run: Gitkeeper's release build against
# a minimal Probot app (signature check and acknowledgement only), both fed
# the same signed payloads by the same load generator (wrk, every request a
# unique delivery id). Gitkeeper runs twice, on an event it stores as a
# durable job and on one it ignores, so the comparison is like with like.
#
# Prints req/s, p50, p99 and peak RSS per server, and Gitkeeper's ratios to
# Probot. Not run by CI: the figures depend on the machine.
#
#   tests/bench/ingress-vs-probot.sh            # 15 s per run, 2 threads, 32 connections
#   BENCH_SECS=30 BENCH_CONNECTIONS=64 tests/bench/ingress-vs-probot.sh
#
# Needs: cargo, node + npm, wrk (`apt-get install -y wrk`), and the webhook
# fixtures in ../shared/fixtures (as the tests do). npm installs are cached
# outside the clone, in $GITKEEPER_BENCH_CACHE (default ~/.cache/gitkeeper-bench).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bench="$repo/tests/bench"
secs=${BENCH_SECS:-15}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-32}
probot_version=${BENCH_PROBOT_VERSION:-14.3.2}
cache=${GITKEEPER_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitkeeper-bench}
fixtures="$repo/../shared/fixtures/github-webhooks"
key="$repo/tests/fixtures/app-key.pem"
secret="bench-webhook-secret"

die() { echo "ingress-vs-probot: $*" >&2; exit 1; }

for tool in cargo node npm; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y wrk >/dev/null || die "apt-get install -y wrk failed"
  else
    die "wrk is needed: apt-get install -y wrk"
  fi
fi
[ -f "$fixtures/issues.labeled.json" ] || die "no webhook fixtures at $fixtures"

# Probot from the npm registry, installed once outside the clone.
peer="$cache/probot-$probot_version"
if [ ! -f "$peer/node_modules/probot/package.json" ]; then
  mkdir -p "$peer"
  echo '{"private": true, "type": "module"}' >"$peer/package.json"
  (cd "$peer" && npm install --no-audit --no-fund --loglevel=error "probot@$probot_version") \
    || die "npm install probot@$probot_version failed"
fi
cp "$bench/probot-app.mjs" "$peer/app.mjs"

echo "building the release bot (cargo build --release -p gitkeeper-bot)..." >&2
(cd "$repo" && cargo build --release -p gitkeeper-bot --quiet) || die "release build failed"
bot="$repo/target/release/gitkeeper-bot"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Two payloads of one shape: the trigger label (a job is stored) and another
# label (acknowledged and ignored). Signed once each: the body never changes.
node - "$fixtures/issues.labeled.json" "$work" "$secret" <<'JS'
const fs = require("node:fs");
const crypto = require("node:crypto");
const [fixture, out, secret] = process.argv.slice(2);
for (const [name, label] of [["stored", "gitkeeper"], ["ignored", "wontfix"]]) {
  const v = JSON.parse(fs.readFileSync(fixture, "utf8"));
  v.installation = { id: 42, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u" };
  v.label.name = label;
  v.issue.labels = [v.label];
  const body = JSON.stringify(v);
  fs.writeFileSync(`${out}/${name}.json`, body);
  const sig = crypto.createHmac("sha256", secret).update(body).digest("hex");
  fs.writeFileSync(`${out}/${name}.sig`, `sha256=${sig}`);
}
JS

# Wait for the server to write "host:port" to $1; sets $server_addr.
wait_addr() {
  for _ in $(seq 1 200); do
    if [ -s "$1" ]; then server_addr=$(cat "$1"); return; fi
    kill -0 "$server_pid" 2>/dev/null || die "the server exited at start; see $work/*.log"
    sleep 0.05
  done
  die "the server wrote no address to $1"
}

start_gitkeeper() {
  local data="$work/gitkeeper-$1"
  mkdir -p "$data"
  GITKEEPER_CONFIG="$data/absent.toml" \
  GITKEEPER_SERVER__LISTEN=127.0.0.1:0 \
  GITKEEPER_SERVER__ADDR_FILE="$data/addr" \
  GITKEEPER_GITHUB__APP_ID=4242 \
  GITKEEPER_GITHUB__PRIVATE_KEY_PATH="$key" \
  GITKEEPER_GITHUB__WEBHOOK_SECRET="$secret" \
  GITKEEPER_GITHUB__API_URL="http://127.0.0.1:9/" \
  GITKEEPER_DATA__DIR="$data" \
  RUST_LOG=error \
    "$bot" serve >"$work/gitkeeper-$1.log" 2>&1 &
  server_pid=$!
  wait_addr "$data/addr"
}

start_probot() {
  BENCH_ADDR_FILE="$work/probot-$1.addr" BENCH_KEY="$key" BENCH_SECRET="$secret" \
    node "$peer/app.mjs" >"$work/probot-$1.log" 2>&1 &
  server_pid=$!
  wait_addr "$work/probot-$1.addr"
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# wrk latency figure ("812.00us", "1.23ms", "2.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { printf "nan" } }'
}

# One measured run: server $1 (gitkeeper|probot) on payload $2 (stored|ignored).
# Sets $result to "rps p50_ms p99_ms peak_rss_kib".
measure() {
  local server=$1 payload=$2 addr out
  "start_$server" "$payload"
  addr=$server_addr
  export BENCH_BODY="$work/$payload.json" BENCH_EVENT=issues
  BENCH_SIGNATURE=$(cat "$work/$payload.sig")
  export BENCH_SIGNATURE
  # Warm-up, then the measured run; delivery ids never repeat across them.
  BENCH_RUN="warm-$server-$payload" wrk -t1 -c4 -d2s -s "$bench/unique-delivery.lua" \
    "http://$addr/webhooks" >/dev/null
  out=$(BENCH_RUN="run-$server-$payload" wrk -t"$threads" -c"$connections" -d"${secs}s" \
    --latency -s "$bench/unique-delivery.lua" "http://$addr/webhooks")
  echo "$out" >"$work/wrk-$server-$payload.txt"
  if echo "$out" | grep -q "Non-2xx or 3xx responses"; then
    echo "$out" >&2
    die "$server answered errors on the $payload payload (log: $work/$server-$payload.log)"
  fi
  local rps p50 p99 rss
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
  stop_server
  result="$rps $p50 $p99 $rss"
}

echo "wrk: $threads threads, $connections connections, ${secs}s per run; probot@$probot_version, node $(node --version)" >&2
declare -A results
for run in "gitkeeper stored" "gitkeeper ignored" "probot stored" "probot ignored"; do
  set -- $run
  echo "measuring $1 on the $2 event..." >&2
  measure "$1" "$2"
  results["$1-$2"]=$result
done

printf '\n%-30s %12s %10s %10s %14s\n' "server / event" "req/s" "p50 ms" "p99 ms" "peak RSS MiB"
for key in gitkeeper-stored gitkeeper-ignored probot-stored probot-ignored; do
  read -r rps p50 p99 rss <<<"${results[$key]}"
  label=$key
  case $key in
    gitkeeper-stored) label="Gitkeeper, stored (job)" ;;
    gitkeeper-ignored) label="Gitkeeper, ignored" ;;
    probot-stored) label="Probot, trigger label" ;;
    probot-ignored) label="Probot, other label" ;;
  esac
  printf '%-30s %12.0f %10.3f %10.3f %14.1f\n' "$label" "$rps" "$p50" "$p99" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
done

echo
echo "Ratios, Gitkeeper / Probot on the same payload (req/s: higher is better; p50, p99, RSS: lower is better):"
for event in stored ignored; do
  read -r g_rps g_p50 g_p99 g_rss <<<"${results[gitkeeper-$event]}"
  read -r p_rps p_p50 p_p99 p_rss <<<"${results[probot-$event]}"
  awk -v e="$event" -v gr="$g_rps" -v pr="$p_rps" -v g5="$g_p50" -v p5="$p_p50" \
      -v g9="$g_p99" -v p9="$p_p99" -v gm="$g_rss" -v pm="$p_rss" 'BEGIN {
    printf "  %-8s req/s x%.2f   p50 x%.2f   p99 x%.2f   peak RSS x%.2f\n",
      e, gr / pr, g5 / p5, g9 / p9, gm / pm }'
done
