#!/usr/bin/env bash
# Builds the soak's agent (native/agents/soak-agent.c) with gcc: a protocol client of about 1 MiB
# resident, so that `maxwell research soak` can run a thousand real agents on a small machine.
#
#   --if-stale   rebuild only when the source is newer than the output (what `npm run build` uses)
# Output: .maxwell/agents/soak-agent (gitignored). Never fails the build: without gcc the soak
# says it cannot run, and why.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=native/agents/soak-agent.c
OUT=.maxwell/agents/soak-agent
if [ "${1:-}" = --if-stale ] && [ -x "$OUT" ] && ! [ "$SRC" -nt "$OUT" ] && ! [ "$0" -nt "$OUT" ]; then exit 0; fi
command -v gcc >/dev/null || { echo "build-soak-agent: not built: gcc is missing (maxwell research soak needs it)" >&2; exit 0; }
mkdir -p "$(dirname "$OUT")"
gcc -O2 -Wall -Wextra -o "$OUT.new" "$SRC" || { echo "build-soak-agent: gcc failed on $SRC" >&2; exit 0; }
mv -f "$OUT.new" "$OUT"
