#!/usr/bin/env bash
# Real world only: downloads OpenAI CLIP ViT-B/32 as ONNX (Qdrant's exports on Hugging Face,
# pinned to a commit) into .data/models/clip-vit-b32 and checks each file's sha256.
# Then run with ARTWALL_MODEL_DIR=.data/models/clip-vit-b32 and re-embed the catalogue.
#
# UNTESTED HERE: our build machines cannot reach Hugging Face. The sha256 pins below are the ones a
# public project publishes for these same commit-addressed files; they were not re-computed here.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$here/.data/models/clip-vit-b32}"
mkdir -p "$out"
fetch() { # url file sha256
  if [ -f "$out/$2" ] && echo "$3  $out/$2" | sha256sum -c --status; then return; fi
  curl -fL --retry 3 -o "$out/$2.partial" "$1"
  echo "$3  $out/$2.partial" | sha256sum -c --quiet || { rm -f "$out/$2.partial"; echo "checksum mismatch for $2" >&2; exit 1; }
  mv "$out/$2.partial" "$out/$2"
}
fetch https://huggingface.co/Qdrant/clip-ViT-B-32-vision/resolve/a636590e595dbbd798647c9dd4550d5652fba969/model.onnx \
  visual.onnx c68d3d9a200ddd2a8c8a5510b576d4c94d1ae383bf8b36dd8c084f94e1fb4d63
fetch https://huggingface.co/Qdrant/clip-ViT-B-32-text/resolve/48ca1db27cb4063eb311ec2aa7f087a808112876/model.onnx \
  textual.onnx 4dbe762b11e36488304471e439cde89da053ad7acaddbf9e096745d142ec8d8b
cat > "$out/model.json" <<JSON
{
  "id": "clip-vit-b32-openai-qdrant-a636590e-48ca1db2",
  "kind": "clip",
  "label": "OpenAI CLIP ViT-B/32",
  "visual": "visual.onnx",
  "textual": "textual.onnx"
}
JSON
echo "CLIP ViT-B/32 ready in $out. Next: ARTWALL_MODEL_DIR=$out artwall styles generate --out assets/style_embeddings.json"
