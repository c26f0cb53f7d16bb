#!/usr/bin/env bash
# Prints what a first visit to a page transfers, compressed as a browser that accepts brotli and
# gzip gets it: the HTML, the WASM, JS and CSS it links, and the JS modules those import
# statically (the split loader); images not counted.
#   scripts/first_visit_bytes.sh http://127.0.0.1:3000/feed
set -euo pipefail
page=${1:?usage: first_visit_bytes.sh URL}
origin=$(grep -o '^https\?://[^/]*' <<<"$page")
# Bytes on the wire and the encoding they came in.
transferred() { curl -s -H 'Accept-Encoding: br, gzip' -o /dev/null -w '%{size_download} %header{content-encoding}\n' "$1"; }
total=0
report() {
  local kind=$1 url=$2 bytes encoding
  read -r bytes encoding < <(transferred "$url")
  total=$((total + bytes))
  printf '  %-5s %9d bytes (%s)  %s\n' "$kind" "$bytes" "${encoding:-identity}" "${url#"$origin"}"
}
echo "first visit to $page"
report html "$page"
linked=$(curl -s "$page" | grep -o '/pkg/[A-Za-z0-9._-]*\.\(wasm\|js\|css\)' | sort -u)
imported=$(for js in $(grep '\.js$' <<<"$linked"); do
  curl -s "$origin$js" | grep -o 'from *"\./[A-Za-z0-9._-]*\.js"' | sed 's|.*"\./\(.*\)"|/pkg/\1|'
done | sort -u)
for asset in $linked $imported; do
  report "${asset##*.}" "$origin$asset"
done
printf '  total %9d bytes\n' "$total"
