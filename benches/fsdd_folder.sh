#!/usr/bin/env bash
# Issue 17, "FSDD folder to .npy, 2 jobs, ordinary disk": speechfront extract
# against an in-process reference, measured in the same run.
#
#   bash benches/fsdd_folder.sh [FSDD_DIR] [SCRATCH_DIR_ON_DISK]
#
# Defaults: ../shared/data/fsdd (2,500 WAV files) and /work/tmp-extract-bench
# (must be on the ordinary disk, not tmpfs: the script refuses tmpfs).
# Needs a release build (cargo build --release) and python3 with numpy and
# torchaudio (else kaldi-native-fbank, said in the output).
# Prints files/s of each, the ratio, and syscalls per file (strace -c) when
# strace is installed. Each figure is the best of REPEATS runs (default 5),
# each into a fresh output folder, with the page cache warm for the inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/fsdd}
SCRATCH=${2:-/work/tmp-extract-bench}
REPEATS=${REPEATS:-5}
BIN=${BIN:-target/release/speechfront}
mkdir -p "$SCRATCH"
if [ "$(stat -f -c %T "$SCRATCH")" = "tmpfs" ]; then
  echo "error: $SCRATCH is on tmpfs; give a folder on the ordinary disk" >&2
  exit 2
fi
N=$(find "$DATA" -name '*.wav' | wc -l)
# Warm the page cache for the inputs.
cat $(find "$DATA" -name '*.wav') > /dev/null

best_sf=""
for i in $(seq "$REPEATS"); do
  rm -rf "$SCRATCH/sf"
  sync
  t0=$(date +%s.%N)
  "$BIN" extract "$DATA" --out "$SCRATCH/sf" --jobs 2 --dither 0 > /dev/null
  t1=$(date +%s.%N)
  t=$(echo "$t1 - $t0" | bc -l)
  if [ -z "$best_sf" ] || [ "$(echo "$t < $best_sf" | bc -l)" = 1 ]; then best_sf=$t; fi
done
sf_rate=$(echo "$N / $best_sf" | bc -l)

backend=torchaudio
python3 -c "import torchaudio" 2>/dev/null || backend=knf
rm -rf "$SCRATCH/ref"
ref_line=$(python3 benches/reference/inprocess_mfcc.py --data "$DATA" --out "$SCRATCH/ref" \
  --backend "$backend" --repeats "$REPEATS")
ref_rate=$(echo "$ref_line" | sed -E 's/.* ([0-9]+) files\/s.*/\1/')

printf 'speechfront extract --jobs 2 (ordinary disk): %d files, best %.3f s, %.0f files/s\n' "$N" "$best_sf" "$sf_rate"
echo "reference, 1 thread, in-process: $ref_line"
printf 'ratio: %.2f\n' "$(echo "$sf_rate / $ref_rate" | bc -l)"

if command -v strace > /dev/null; then
  rm -rf "$SCRATCH/st"
  strace -f -c -o "$SCRATCH/strace.txt" "$BIN" extract "$DATA" --out "$SCRATCH/st" --jobs 2 --dither 0 > /dev/null
  calls=$(awk '$NF=="total" {print $4}' "$SCRATCH/strace.txt")
  printf 'syscalls: %s total, %.1f per file (strace -f -c, %s)\n' "$calls" "$(echo "$calls / $N" | bc -l)" "$SCRATCH/strace.txt"
fi
