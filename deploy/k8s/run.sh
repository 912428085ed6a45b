#!/usr/bin/env bash
# deploy/k8s/run.sh: apply deploy/k8s/study.yaml one step at a time: the volume, then prepare,
# shards and final, each Job after the previous one completed (Kubernetes Jobs have no ordering of
# their own). Uses the current kubectl context and namespace.
#
#   deploy/k8s/run.sh                 # all steps
#   NST_SKIP_PREPARE=1 deploy/k8s/run.sh   # data and weights are already on the volume
# Timeouts: NST_K8S_TIMEOUT (default 48h) for each step.

set -euo pipefail

manifest="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/study.yaml"
timeout="${NST_K8S_TIMEOUT:-48h}"

# Apply the Job of step $1 and wait until it is Complete (exit 0) or Failed (exit 1).
step() {
  local job="nst-study-$1" state=""
  kubectl apply -f "$manifest" -l "step=$1"
  local deadline=$((SECONDS + $(to_seconds "$timeout")))
  while ((SECONDS < deadline)); do
    state="$(kubectl get "job/$job" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
    case " $state " in
      *" Complete "*) echo "$job: complete"; return 0 ;;
      *" Failed "*) echo "$job: failed; kubectl logs -l job-name=$job" >&2; return 1 ;;
    esac
    sleep 30
  done
  echo "$job: not finished after $timeout" >&2
  return 1
}

# 90s, 15m, 48h or a bare number of seconds.
to_seconds() {
  local v="${1%[smh]}"
  case "$1" in
    *h) echo $((v * 3600)) ;;
    *m) echo $((v * 60)) ;;
    *) echo "$v" ;;
  esac
}

kubectl apply -f "$manifest" --selector '!step'   # the PersistentVolumeClaim
if [[ -z "${NST_SKIP_PREPARE:-}" ]]; then step prepare; fi
step shards
step final
echo "report: /shared/out/study on volume nst-shared"
