#!/usr/bin/env bash
# Builds what bench/gpu/run.sh needs on a GPU machine that has no Node and no network, into .gpu/ (git-ignored
# through .git/info/exclude; pass it to the device tool's `carry`):
#   .gpu/payload.tar.xz  this machine's Node binary, bench-gpu.ts bundled by esbuild, and the few packages it loads
#                        at run time (tfjs-core and its backends, onnxruntime-node, webgpu/Dawn: Linux x64 only)
#   .gpu/gl/*.deb        the Vulkan loader (libvulkan1), which Dawn needs and bare GPU images often lack
# Needs `npm ci` done here (with the optional onnxruntime-node and webgpu installed). Checks the 64 MiB limit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=.gpu
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
rm -rf "$out" && mkdir -p "$out/gl" "$stage/app/node_modules"

# Run-time packages, shared by the bundle and the backends it loads (one tfjs-core instance for all).
external=(@tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu @tensorflow/tfjs-backend-wasm @tensorflow/tfjs-backend-webgpu
  @tensorflow/tfjs-node @tensorflow/tfjs-node-gpu onnxruntime-node webgpu)
npx esbuild bench/gpu/bench-gpu.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  $(printf -- '--external:%s ' "${external[@]}") --outfile="$stage/app/bench-gpu.mjs"

copy() { # copy PACKAGE FILE... (paths inside the package) into the staged node_modules
  local pkg=$1; shift
  for f in package.json "$@"; do
    mkdir -p "$stage/app/node_modules/$pkg/$(dirname "$f")"
    cp -r "node_modules/$pkg/$f" "$stage/app/node_modules/$pkg/$f"
  done
}
copy @tensorflow/tfjs-core dist/tf-core.node.js
copy @tensorflow/tfjs-backend-cpu dist/tf-backend-cpu.node.js
copy @tensorflow/tfjs-backend-wasm dist/tf-backend-wasm.node.js dist/tfjs-backend-wasm.wasm dist/tfjs-backend-wasm-simd.wasm \
  dist/tfjs-backend-wasm-threaded-simd.wasm wasm-out/tfjs-backend-wasm-threaded-simd.js wasm-out/tfjs-backend-wasm-threaded-simd.worker.js
copy @tensorflow/tfjs-backend-webgpu dist/tf-backend-webgpu.node.js
copy long .
copy seedrandom .
copy onnxruntime-common dist/cjs
copy onnxruntime-node dist bin/napi-v6/linux/x64
copy webgpu index.js dist/linux-x64
cp "$(readlink -f "$(command -v node)")" "$stage/node"
XZ_OPT='-6 -T2' tar -C "$stage" -cJf "$out/payload.tar.xz" node app

# The Vulkan loader (and GL/EGL dispatch libraries), as the device tool's README suggests.
lists=$(mktemp -d)
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$lists" -oDebug::NoLocking=1)
mkdir -p "$lists/partial"
apt-get "${o[@]}" update -qq
(cd "$out/gl" && apt-get "${o[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
rm -rf "$lists"

size=$(du -sb "$out" | cut -f1)
echo "$out: $((size / 1024 / 1024)) MiB (the device tool carries at most 64 MiB with the working tree)"
[ "$size" -lt $((60 * 1024 * 1024)) ] || { echo "too large" >&2; exit 1; }
