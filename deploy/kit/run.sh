#!/usr/bin/env bash
# nst-augment GPU kit (built by `deno task gpu-kit --out DIR`, see deploy/kit/build.ts).
#
#   bash run.sh [--quick] [OUTDIR]      (OUTDIR default: ./nst-kit-out)
#   bash run.sh --unpack-only OUTDIR    (unpack, print where Deno and the project are, stop)
#
# On a bare x86-64 Linux with a Vulkan driver (NVIDIA, AMD, Intel, or Mesa's llvmpipe), no
# network, no Deno, no npm: unpacks Deno and the project into OUTDIR/unpacked, reports the
# adapter, runs the WebGPU tests on the hardware (workgroup-memory) route, the kernel bench with
# the tuner, a timed stylize at 224 and 512 px with the paper profile's layers (random weights of
# the Keras shapes: timing only), the `smoke` study, and bench/peer/gatys_torch.py when python3
# has torch. --quick runs the same steps at small sizes (a software adapter on 2 cores, < 10 min).
#
# Outputs, all under OUTDIR: summary.txt (one line per step: ok/failed/skipped, seconds),
# adapter.json, bench.json, peer.json, stylize/, study/, logs/<step>.log, results.tar.gz (all of
# it but the unpacked kit). A failed step does not stop the later ones; the exit code is 0 only
# when every step passed (1 otherwise, 2 for bad usage, 3 for a missing system package).
#
# Settings: NST_KIT_LIB_DIRS=DIR:DIR  look for libvulkan.so.1 only there (no ldconfig; for tests).
set -uo pipefail

KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QUICK=0
UNPACK_ONLY=0
OUT=""
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --unpack-only) UNPACK_ONLY=1 ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown flag $a (usage: bash run.sh [--quick] [OUTDIR])" >&2; exit 2 ;;
    *)
      if [ -n "$OUT" ]; then echo "run.sh: one OUTDIR only (got $OUT and $a)" >&2; exit 2; fi
      OUT="$a" ;;
  esac
done
OUT="${OUT:-./nst-kit-out}"

die() { echo "run.sh: $1" >&2; exit "${2:-3}"; }

# --- system packages -------------------------------------------------------------------------
have_vulkan_loader() {
  local dirs d
  if [ -n "${NST_KIT_LIB_DIRS+x}" ]; then
    dirs="$NST_KIT_LIB_DIRS"
  else
    if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
      return 0
    fi
    dirs="${LD_LIBRARY_PATH:-}:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib64:/lib64:/usr/lib:/lib:/usr/local/lib"
  fi
  local IFS=:
  for d in $dirs; do
    [ -n "$d" ] && [ -e "$d/libvulkan.so.1" ] && return 0
  done
  return 1
}
have_vulkan_loader ||
  die "no Vulkan loader: install Debian package libvulkan1 (apt-get install libvulkan1)"

if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  icd_found=0
  for d in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d \
    "${XDG_CONFIG_HOME:-${HOME:-/nonexistent}/.config}/vulkan/icd.d"; do
    compgen -G "$d/*.json" >/dev/null && icd_found=1
  done
  if [ "$icd_found" = 0 ] && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    echo "run.sh: no ICD in the standard places; VK_DRIVER_FILES=$VK_DRIVER_FILES"
  elif [ "$icd_found" = 0 ]; then
    echo "run.sh: warning: no Vulkan ICD (driver) file found in /usr/share/vulkan/icd.d or" \
      "/etc/vulkan/icd.d; the adapter step will likely fail (NVIDIA: the driver's Vulkan ICD;" \
      "CPU only: apt-get install mesa-vulkan-drivers)" >&2
  fi
fi

# xz: the xz binary, else python3's lzma; tar: tar + xz, else python3's tarfile.
unxz_to() { # FILE.xz DEST
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2"
  elif command -v python3 >/dev/null 2>&1 && python3 -c 'import lzma' 2>/dev/null; then
    python3 -c 'import lzma, shutil, sys
with lzma.open(sys.argv[1]) as f, open(sys.argv[2], "wb") as g: shutil.copyfileobj(f, g)' "$1" "$2"
  else
    die "cannot decompress $1: install Debian package xz-utils (apt-get install xz-utils), or python3"
  fi
}
untar_xz() { # FILE.tar.xz DIR
  if command -v tar >/dev/null 2>&1 && command -v xz >/dev/null 2>&1; then
    tar -xJf "$1" -C "$2"
  elif command -v python3 >/dev/null 2>&1 && python3 -c 'import lzma, tarfile' 2>/dev/null; then
    python3 -c 'import sys, tarfile
safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
with tarfile.open(sys.argv[1], "r:xz") as t: t.extractall(sys.argv[2], **safe)' "$1" "$2"
  else
    die "cannot unpack $1: install Debian packages tar and xz-utils (apt-get install tar xz-utils), or python3"
  fi
}

mkdir -p "$OUT" || die "OUTDIR: cannot create $OUT" 2
OUT="$(cd "$OUT" && pwd)"
U="$OUT/unpacked"
if ! cmp -s "$KIT/kit.json" "$U/kit.json" 2>/dev/null; then
  echo "run.sh: unpacking into $U"
  t0=$SECONDS
  rm -rf "$U.tmp" && mkdir -p "$U.tmp" || die "OUTDIR: cannot write $U.tmp" 2
  unxz_to "$KIT/deno.xz" "$U.tmp/deno" && chmod +x "$U.tmp/deno" || die "unpacking deno.xz failed"
  untar_xz "$KIT/app.tar.xz" "$U.tmp" || die "unpacking app.tar.xz failed"
  cp "$KIT/kit.json" "$U.tmp/kit.json"
  rm -rf "$U" && mv "$U.tmp" "$U"
  echo "run.sh: unpacked in $((SECONDS - t0)) s"
fi
DENO="$U/deno"
APP="$U/app"
if [ "$UNPACK_ONLY" = 1 ]; then
  echo "run.sh: unpacked: deno $DENO, project $APP (NST_SHARED=$APP/shared)"
  exit 0
fi

# --- a hermetic environment: the bundled node_modules, no network, caches under OUTDIR --------
export DENO_DIR="$U/deno_dir"
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1 CI=1
export NPM_CONFIG_REGISTRY=http://127.0.0.1:9/ # any npm fetch fails at once
export NST_SHARED="$APP/shared"
export NST_CACHE_DIR="$OUT/cache"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export HOME="${HOME:-$OUT/home}"
mkdir -p "$OUT/logs" "$OUT/stylize" "$NST_CACHE_DIR" "$HOME"
cd "$APP" || die "cannot enter $APP"

SUMMARY="$OUT/summary.txt"
STEPS=()
FAILED=0
T_ALL=$SECONDS
write_summary() {
  {
    echo "nst-augment GPU kit, $([ "$QUICK" = 1 ] && echo quick || echo full) run, $(date -u +%FT%TZ)"
    echo "host: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc 2>/dev/null) cores"
    printf '%s\n' "${STEPS[@]}"
    echo "elapsed: $((SECONDS - T_ALL)) s"
  } >"$SUMMARY.tmp" && mv "$SUMMARY.tmp" "$SUMMARY"
}
step() { # NAME CMD...: run, log to logs/NAME.log, record ok/failed and seconds
  local name="$1" t0 rc
  shift
  echo "== $name: $*"
  t0=$(date +%s.%N)
  "$@" 2>&1 | tee "$OUT/logs/$name.log"
  rc=${PIPESTATUS[0]}
  local dt
  dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" = 0 ]; then
    STEPS+=("$(printf '%-14s ok      %7s s' "$name" "$dt")")
  else
    STEPS+=("$(printf '%-14s failed  %7s s  (exit %s, logs/%s.log)' "$name" "$dt" "$rc" "$name")")
    FAILED=1
  fi
  echo "== $name: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") in $dt s"
  write_summary
}
skip() { STEPS+=("$(printf '%-14s skipped          (%s)' "$1" "$2")"); echo "== $1: skipped ($2)"; write_summary; }

# --- the system, for the record ------------------------------------------------------------------
{
  echo "kit: $(tr -d '\n ' <"$KIT/kit.json" | head -c 300)"
  uname -a
  grep -m1 'model name' /proc/cpuinfo
  echo "cores: $(nproc)"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  ls /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null
  command -v nvidia-smi >/dev/null && nvidia-smi
  command -v vulkaninfo >/dev/null && vulkaninfo --summary
} >"$OUT/logs/system.txt" 2>&1

# The same steps in both modes, --kernels auto throughout: each shape new to this adapter is
# measured once (after the first step that meets it) into OUTDIR/cache.
KERNELS=auto
if [ "$QUICK" = 1 ]; then
  SIZES=(64 128)
  ITERS=5
  BENCH=(--quick --backends webgpu)
  PEER=(--sizes 64)
else
  SIZES=(224 512)
  ITERS=100
  BENCH=(--full --backends webgpu)
  PEER=(--full --sizes 224,512)
fi
step adapter "$DENO" run -A --no-check deploy/kit/adapter.ts --json "$OUT/adapter.json"
step gpu-tests env NST_GPU_ROUTE=buffer NST_REQUIRE_WEBGPU=1 \
  "$DENO" test -A --no-check tests/gpu/
# --tune: every shape's candidates measured into the tuning cache, the table of choices printed,
# then custom, stock and auto timed side by side.
step bench "$DENO" run -A --no-check bench/bench.ts "${BENCH[@]}" --tune --json "$OUT/bench.json"
stylize() { # NAME SIZE ITERATIONS
  step "$1" "$DENO" run -A --no-check src/style/cli.ts \
    --content "$NST_SHARED/data/content/tubingen.jpg" \
    --style "$NST_SHARED/data/styles/composition_vii.jpg" \
    --weights random --profile paper --backend webgpu --kernels "$KERNELS" --size "$2" \
    --iterations "$3" --out "$OUT/stylize/$1.png" --log "$OUT/stylize/$1.jsonl"
}
for s in "${SIZES[@]}"; do
  # One untimed step first measures the new shapes into the tuning cache.
  stylize "stylize-tune-$s" "$s" 1
  stylize "stylize-$s" "$s" "$ITERS"
done
step study "$DENO" run -A --no-check src/study/cli.ts --preset smoke --backend webgpu \
  --kernels "$KERNELS" \
  --data "$NST_SHARED/data/caltech101" --weights "$NST_SHARED/weights/vgg19-tfjs" \
  --style "$NST_SHARED/data/styles/composition_vii.jpg" \
  --out "$OUT/study" --cache "$NST_CACHE_DIR/stylized"
if command -v python3 >/dev/null 2>&1 && python3 -c 'import torch, numpy' >/dev/null 2>&1; then
  step peer python3 bench/peer/gatys_torch.py "${PEER[@]}" \
    --weights "$NST_SHARED/weights/vgg19-tfjs" --json "$OUT/peer.json"
else
  skip peer "python3 cannot import torch and numpy"
fi

# --- everything but the unpacked kit, in one file ----------------------------------------------
write_summary
echo "== results.tar.gz"
# The temp file sits in unpacked/ (left out of the archive), so tar never sees it grow.
if command -v tar >/dev/null 2>&1; then
  tar -C "$OUT" --exclude=./unpacked --exclude=./unpacked.tmp --exclude=./results.tar.gz \
    -czf "$U/results.tar.gz.tmp" . && mv "$U/results.tar.gz.tmp" "$OUT/results.tar.gz"
elif command -v python3 >/dev/null 2>&1; then
  python3 -c 'import os, sys, tarfile
out, tmp = sys.argv[1], sys.argv[2]
with tarfile.open(tmp, "w:gz") as t:
    for n in sorted(os.listdir(out)):
        if n not in ("unpacked", "unpacked.tmp", "results.tar.gz"):
            t.add(os.path.join(out, n), arcname="./" + n)
os.replace(tmp, out + "/results.tar.gz")' "$OUT" "$U/results.tar.gz.tmp"
else
  echo "run.sh: no tar and no python3: results.tar.gz not written" >&2
fi
echo
cat "$SUMMARY"
echo "outputs: $OUT (summary.txt, adapter.json, bench.json, results.tar.gz)"
[ "$FAILED" = 0 ] && exit 0 || exit 1
