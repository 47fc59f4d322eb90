#!/usr/bin/env bash
# Runs every fuzz target one after another for SECONDS each (default 600),
# niced, and writes each run's libFuzzer log to fuzz/logs/<target>.log and
# its closing figures (executions, coverage, corpus) to fuzz/logs/summary.tsv.
# Usage (from the repository root): bash fuzz/run_all.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (cargo install cargo-fuzz); on a stable toolchain
# RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode_wav decode_compressed extract_bytes experiment_config frontend_config load_model)
fi
export RUSTC_BOOTSTRAP=1
mkdir -p logs
declare -A maxlen=([decode_wav]=16384 [decode_compressed]=16384 [extract_bytes]=16384
  [experiment_config]=4096 [frontend_config]=2048 [load_model]=65536)
[ -f logs/summary.tsv ] || printf 'target\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus\tcrashes\n' > logs/summary.tsv
# Build once (debug assertions on: integer overflow is a crash too), then
# run the binaries, so later source edits do not rebuild mid-run.
nice -n 15 cargo fuzz build -a || exit 1
bin=target/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  start=$SECONDS
  nice -n 15 "$bin/$t" "corpus/$t" \
    -max_total_time="$secs" -max_len="${maxlen[$t]}" -rss_limit_mb=2048 \
    -timeout=20 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
    > "logs/$t.log" 2>&1
  rc=$?
  elapsed=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
  corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
  crashes=$(ls "artifacts/$t" | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$elapsed" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" >> logs/summary.tsv
  echo "$t: exit $rc, ${execs:-?} executions, cov ${cov:-?}, crashes $crashes"
done
