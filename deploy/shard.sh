#!/usr/bin/env bash
# deploy/shard.sh: the one place a cluster's task index becomes `deno task study --shard K/N`.
#
# Sourced by deploy/slurm/study.sbatch and deploy/k8s/*.yaml; tests/deploy/deploy_test.ts runs it
# for every task of several arrays and checks with src/study/shard.ts that the shards cover every
# stylization job exactly once.
#
#   source deploy/shard.sh
#   shard="$(nst_shard)"   # "K/N" (1-based K) inside an array task; exit status 1 outside one
#
# Slurm job array (--array=A-B or A-B:S, contiguous; a %limit is fine):
#   K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP + 1,
#   N = SLURM_ARRAY_TASK_COUNT.
# Kubernetes Indexed Job: K = JOB_COMPLETION_INDEX + 1 (the index is 0-based), N = NST_SHARDS,
#   which the manifest sets equal to the Job's `completions`.
# NST_SHARD=K/N set by hand wins over both (a re-run of one failed shard).

nst_shard() {
  if [[ -n "${NST_SHARD:-}" ]]; then
    printf '%s\n' "$NST_SHARD"
    return 0
  fi
  local k n
  if [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    local id="$SLURM_ARRAY_TASK_ID"
    local min="${SLURM_ARRAY_TASK_MIN:-}" step="${SLURM_ARRAY_TASK_STEP:-1}"
    n="${SLURM_ARRAY_TASK_COUNT:-}"
    if [[ -z "$min" || -z "$n" ]]; then
      echo "nst_shard: SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT are not set" >&2
      return 2
    fi
    if (((id - min) % step != 0)); then
      echo "nst_shard: task $id is not on the array's A-B:$step grid from $min" >&2
      return 2
    fi
    k=$(((id - min) / step + 1))
  elif [[ -n "${JOB_COMPLETION_INDEX:-}" ]]; then
    n="${NST_SHARDS:-}"
    if [[ -z "$n" ]]; then
      echo "nst_shard: NST_SHARDS (the Job's completions) is not set" >&2
      return 2
    fi
    k=$((JOB_COMPLETION_INDEX + 1))
  else
    return 1
  fi
  if ((k < 1 || k > n)); then
    echo "nst_shard: shard $k is outside 1..$n (a non-contiguous --array?)" >&2
    return 2
  fi
  printf '%s/%s\n' "$k" "$n"
}

# The Deno command: `deno` on PATH, or NST_DENO (e.g. "apptainer exec --nv nst.sif deno",
# or "npx -y deno@2.9.6"), split on spaces.
nst_deno() {
  local -a cmd
  read -ra cmd <<<"${NST_DENO:-deno}"
  "${cmd[@]}" "$@"
}
