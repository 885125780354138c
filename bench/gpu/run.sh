#!/usr/bin/env bash
# Runs on the GPU machine (no Node, no network), from the repository root, with .gpu/ carried (bench/gpu/prepare.sh):
#   bash bench/gpu/run.sh            # figures as NDJSON and a log under $OUT (default bench/results/gpu-raw)
# Side by side on one card: PyTorch CUDA (fp32, strict fp32, bf16 autocast), tfjs on WebGPU (Dawn -> Vulkan),
# ONNX Runtime's WebGPU and CUDA providers (CUDA needs onnxruntime-node's add-on, which cannot be downloaded there),
# and, for scale, tfjs WASM and ONNX Runtime on the machine's CPU. CONFIGS, the *_SECONDS limits and QUICK=1 tune it.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
OUT=${OUT:-bench/results/gpu-raw}
mkdir -p "$OUT"
log="$OUT/run.log"
exec > >(tee -a "$log") 2>&1
CONFIGS=${CONFIGS:-tiny-32@32x8,small-64@64x8,base@256x4}
quick=()
[ "${QUICK:-0}" = 1 ] && quick=(--quick)

echo "== machine"; date -u; uname -a; nproc; free -g | head -2
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "no nvidia-smi"

echo "== Vulkan loader and driver"
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=""
for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d; do
  for f in "$d"/nvidia*.json; do [ -f "$f" ] && icd=${icd:-$f}; done
done
if [ -n "$icd" ]; then export VK_DRIVER_FILES=$icd; echo "ICD: $icd"; else echo "no NVIDIA Vulkan ICD found"; fi
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json XDG_RUNTIME_DIR=/tmp

echo "== unpack Node and the bundle"
work=$(mktemp -d)
tar -C "$work" -xJf .gpu/payload.tar.xz || { echo "payload missing: run bench/gpu/prepare.sh and carry .gpu"; exit 1; }
node="$work/node"
app="$work/app/bench-gpu.mjs"
"$node" --version
"$node" "$app" --presets >"$work/presets.json"

PHASES=${PHASES:-auto parity torch webgpu cpu profile}
has() { [[ " $PHASES " == *" $1 "* ]]; }

if has auto; then
  echo "== --backend auto"
  timeout 60 "$node" "$app" --backend auto --configs "" --ort "" | tee "$OUT/auto.ndjson"
fi

if has parity; then
  echo "== WebGPU against WASM"
  timeout 90 "$node" "$app" --backend webgpu --configs "" --ort "" --parity | tee "$OUT/parity.ndjson"
fi

if has torch; then
echo "== PyTorch"
timeout "${TORCH_SECONDS:-120}" python3 bench/gpu/torch_gpu.py --presets "$work/presets.json" --configs "$CONFIGS" \
  $([ "${QUICK:-0}" = 1 ] && echo "--reps 2 --warmup 1 --sampler-steps 2") | tee "$OUT/pytorch.ndjson"
echo "exit $?"
fi

if has webgpu; then
echo "== tfjs WebGPU + ONNX Runtime (webgpu, cuda)"
timeout "${WEBGPU_SECONDS:-200}" "$node" "$app" --backend webgpu --configs "$CONFIGS" --ort webgpu,cuda "${quick[@]}" \
  --budget "${WEBGPU_BUDGET:-150}" ${WEBGPU_ARGS:-} | tee "$OUT/webgpu.ndjson"
echo "exit $?"
fi

if has cpu; then
echo "== tfjs WASM + ONNX Runtime CPU ($(nproc) cores)"
timeout "${CPU_SECONDS:-90}" "$node" "$app" --backend wasm --threads 8 --configs "${CPU_CONFIGS:-tiny-32@32x8,small-64@64x8}" --ort cpu \
  "${quick[@]}" --budget 60 | tee "$OUT/cpu.ndjson"
echo "exit $?"
fi

if has profile; then
for batch in ${PROFILE_BATCHES:-15 128}; do
  echo "== tfjs WebGPU profile, submit batch $batch"
  timeout "${PROFILE_SECONDS:-90}" "$node" "$app" --backend webgpu --configs "${PROFILE_CONFIGS:-tiny-32@32x8}" --ort "" --profile \
    --submit-batch "$batch" "${quick[@]}" ${PROFILE_ARGS:-} | tee -a "$OUT/profile.ndjson"
  echo "exit $?"
done
fi
rm -rf "$work"
