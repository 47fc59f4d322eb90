#!/usr/bin/env bash
# Issue 17, "FSDD folder to .npy, 2 jobs, ordinary disk": speechfront extract
# against an in-process reference, measured in the same run.
#
#   bash benches/fsdd_folder.sh [FSDD_DIR] [SCRATCH_DIR_ON_DISK]
#
# Defaults: ../shared/data/fsdd (2,500 WAV files) and /work/tmp-extract-bench
# (must be on the ordinary disk, not tmpfs: the script refuses tmpfs).
# Needs a release build (cargo build --release) and python3 with numpy and
# torchaudio (else kaldi-native-fbank is used, and the output says so).
#
# Environment:
#   REPEATS=5        runs per measurement; each figure is the best of them
#   JOBS="2"         --jobs values to measure (e.g. "2 3 4": more I/O threads than cores)
#   BASELINE=path    another speechfront binary to measure interleaved with
#                    this one (e.g. a build of main: the cost of a change)
#   BIN=path         the binary under test (default target/release/speechfront)
#
# Every speechfront run writes into a fresh output folder (rm -rf, sync
# before), page cache warm for the inputs; prints files/s, the ratio to the
# reference, and syscalls per file (strace -f -c) when strace is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/fsdd}
[ -d "$DATA" ] || DATA=/work/shared/data/fsdd
SCRATCH=${2:-/work/tmp-extract-bench}
REPEATS=${REPEATS:-5}
JOBS=${JOBS:-2}
BIN=${BIN:-target/release/speechfront}
BASELINE=${BASELINE:-}
mkdir -p "$SCRATCH"
if [ "$(stat -f -c %T "$SCRATCH")" = "tmpfs" ]; then
  echo "error: $SCRATCH is on tmpfs; give a folder on the ordinary disk" >&2
  exit 2
fi
N=$(find "$DATA" -name '*.wav' | wc -l)
find "$DATA" -name '*.wav' -exec cat {} + > /dev/null   # warm the page cache

# "wall cpu" seconds of one run of BIN with --jobs J into a fresh folder
# (cpu = user + system time of the process, less disturbed by other load)
# Each run writes a new folder; the folders are deleted only after all runs:
# deleting 2,500 files just before a run makes ext4 scan its recently
# deleted inodes on every file creation (`recently_deleted`, half of the
# run's samples under perf), which measures the deletion, not the writes.
# FRESH_AFTER_RM=1 measures that case too (rm -rf of the last output, then run).
# (Called as $(one_run BIN J RUN): a subshell, so the caller counts runs.)
one_run() {
  local out="$SCRATCH/out-$$-$3"
  if [ "${FRESH_AFTER_RM:-0}" = 1 ]; then
    rm -rf "$SCRATCH"/out-$$-*
  fi
  sync
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$SCRATCH/time.txt" \
    "$1" extract "$DATA" --out "$out" --jobs "$2" --dither 0 > /dev/null
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc -l) $(awk '{print $1 + $2}' "$SCRATCH/time.txt")"
}

declare -A best
declare -A bestcpu
run=0
names=("$BIN")
[ -n "$BASELINE" ] && names+=("$BASELINE")
for r in $(seq "$REPEATS"); do
  for b in "${names[@]}"; do
    for j in $JOBS; do
      run=$((run + 1))
      read -r t c <<< "$(one_run "$b" "$j" "$run")"
      k="$b|$j"
      if [ -z "${best[$k]:-}" ] || [ "$(echo "$t < ${best[$k]}" | bc -l)" = 1 ]; then best[$k]=$t; fi
      if [ -z "${bestcpu[$k]:-}" ] || [ "$(echo "$c < ${bestcpu[$k]}" | bc -l)" = 1 ]; then bestcpu[$k]=$c; fi
    done
  done
done

rm -rf "$SCRATCH"/out-$$-*

backend=torchaudio
python3 -c "import torchaudio" 2>/dev/null || backend=knf
rm -rf "$SCRATCH/ref"
ref_line=$(python3 benches/reference/inprocess_mfcc.py --data "$DATA" --out "$SCRATCH/ref" \
  --backend "$backend" --repeats "$REPEATS")
ref_rate=$(echo "$ref_line" | sed -E 's/.* ([0-9]+) files\/s.*/\1/')
ref_cpu=$(echo "$ref_line" | sed -E 's/.*cpu ([0-9.]+) s.*/\1/')
echo "reference, 1 thread, in-process: $ref_line"
for b in "${names[@]}"; do
  for j in $JOBS; do
    t=${best["$b|$j"]}
    c=${bestcpu["$b|$j"]}
    rate=$(echo "$N / $t" | bc -l)
    printf '%s extract --jobs %s (ordinary disk): %d files, best of %d: %.3f s wall, %.0f files/s, ratio %.2f; cpu %.2f s (%.2f x less than the reference)\n' \
      "$b" "$j" "$N" "$REPEATS" "$t" "$rate" "$(echo "$rate / $ref_rate" | bc -l)" "$c" "$(echo "$ref_cpu / $c" | bc -l)"
  done
done

if command -v strace > /dev/null; then
  for b in "${names[@]}"; do
    rm -rf "$SCRATCH/out"
    strace -f -c -o "$SCRATCH/strace.txt" "$b" extract "$DATA" --out "$SCRATCH/out" --jobs 2 --dither 0 > /dev/null
    calls=$(awk '$NF=="total" {print $4}' "$SCRATCH/strace.txt")
    printf '%s: %s syscalls, %.1f per file (strace -f -c):' "$b" "$calls" "$(echo "$calls / $N" | bc -l)"
    awk 'NR>2 && $NF!="total" && $1 !~ /^-/ {print $4, $NF}' "$SCRATCH/strace.txt" | sort -n -r | head -8 |
      awk '{printf " %s=%s", $2, $1} END {print ""}'
  done
fi
