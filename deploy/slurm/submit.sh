#!/usr/bin/env bash
# deploy/slurm/submit.sh: submit the sharded study to Slurm: an array of N shard tasks, then the
# final run once all of them have succeeded (afterok). Run it from the repository root on a login
# node, after `deno task data` and `deno task weights` have filled the shared cache once.
#
#   NST_CACHE_DIR=/shared/nst deploy/slurm/submit.sh 8 --preset full
#
# Arguments: N (shard count, default 8), then flags for `deno task study` (same for every job).
# Extra sbatch options: NST_SBATCH_ARGS (e.g. "--partition=gpu --account=lab").

set -euo pipefail

shards="${1:-8}"
shift || true
if ! [[ "$shards" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [N] [study flags...]  (N: number of shards, got '$shards')" >&2
  exit 2
fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export NST_REPO="$repo"
read -ra extra <<<"${NST_SBATCH_ARGS:-}"

array_id="$(sbatch --parsable "${extra[@]}" --array="1-$shards" \
  "$repo/deploy/slurm/study.sbatch" "$@")"
array_id="${array_id%%;*}"
final_id="$(sbatch --parsable "${extra[@]}" --dependency="afterok:$array_id" \
  --job-name=nst-study-final "$repo/deploy/slurm/study.sbatch" "$@")"
echo "shards: job array $array_id (1-$shards); final run: job ${final_id%%;*} (after all succeed)"
