#!/usr/bin/env bash
# Runs the LLaVA-in-the-browser GPU benchmark pack on a machine with no Node, no network and no browser: unpacks the
# carried Node binary, Dawn (WebGPU for Node) and onnxruntime-web's runtime beside itself, finds a Vulkan driver, and
# runs the bundled benchmark, which generates its models here and prints one table.
#
#   ./run.sh [--backend webgpu|wasm] [--quick] [--layers 2,6] [--new-tokens N] [--budget-s S] [--out FILE]
#
# PACK_NODE=/path/to/node uses another Node (>= 20) instead of the carried one. With $OUT set (a device machine's
# result folder) the table is also written to $OUT/gpu-pack-table.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run="${PACK_UNPACK_DIR:-$here/.unpacked}"
mkdir -p "$run/webgpu/dist/linux-x64"

# gunzip $1 to $2 once (a half-written file from an interrupted run is never taken for a whole one).
unpack() {
  if [ ! -s "$2" ]; then
    gzip -dc "$1" >"$2.part"
    mv "$2.part" "$2"
  fi
}

node_bin="${PACK_NODE:-}"
if [ -z "$node_bin" ]; then
  unpack "$here/node/node.gz" "$run/node"
  chmod +x "$run/node"
  node_bin="$run/node"
fi
# onnxruntime-web imports its runtime directly only from the folder of the script that loaded it (else it tries to
# fetch it, and Node cannot fetch file: URLs): the bundle and the runtime sit side by side.
cp "$here/bench.mjs" "$here/ort/"*.mjs "$run/"
for f in "$here/ort/"*.wasm.gz; do
  name="$(basename "$f" .gz)"
  unpack "$f" "$run/$name"
done
unpack "$here/webgpu/dist/linux-x64/dawn.node.gz" "$run/webgpu/dist/linux-x64/dawn.node"
cp "$here/webgpu/index.js" "$here/webgpu/package.json" "$run/webgpu/"

backend=webgpu
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--backend" ]; then
    j=$((i + 1))
    backend="${!j:-}"
  fi
done

if [ "$backend" = "webgpu" ]; then
  # Dawn dlopens libvulkan.so.1: use the machine's loader, else the one carried in the pack.
  if ! { ldconfig -p 2>/dev/null || true; } | grep -q 'libvulkan\.so\.1'; then
    export LD_LIBRARY_PATH="$here/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "run.sh: no system libvulkan.so.1; using the pack's Vulkan loader" >&2
  fi
  # The NVIDIA driver's ICD manifest, where containers usually put it; else one written for its library.
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
      /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$f" ]; then
        export VK_DRIVER_FILES="$f"
        break
      fi
    done
  fi
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] &&
    { ldconfig -p 2>/dev/null || true; } | grep -q 'libGLX_nvidia\.so\.0'; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}\n' \
      >"$run/nvidia_icd.json"
    export VK_DRIVER_FILES="$run/nvidia_icd.json"
  fi
  echo "run.sh: Vulkan driver manifest: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-(default search path)}}" >&2
  # Dawn's Vulkan backend wants a runtime directory.
  if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$run/xdg"
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
  fi
fi

out_args=()
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
  out_args=(--out "$OUT/gpu-pack-table.md")
fi

exec "$node_bin" "$run/bench.mjs" --ort-dir "$run" --webgpu-module "$run/webgpu/index.js" \
  --work "$run/work" ${out_args[@]+"${out_args[@]}"} "$@"
