"""`make bench`: what the hydrate WASM is made of, from twiggy's list of its items.

    python scripts/wasm_contributors.py path/to/artwall.wasm

Reads the main module of the split (the code a first visit loads) before wasm-bindgen and
wasm-opt, which drop the function names, and prints the bytes of code and data by crate, then the
largest single functions. The total is larger than what ships; the shares are what counts.
"""

import csv
import io
import re
import subprocess
import sys
from collections import Counter

TOP = 15
# The crate a symbol belongs to: the first path segment in its demangled name, which for
# `<T as leptos::IntoView>::into_view` is the trait's crate.
CRATE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)::")
# How twiggy names what is not a function's code.
NOT_CODE = ("custom section", '"', "data", "type[", "import ", "export ", "table[", "elem[", "memory[", "global[")


def main(path: str) -> None:
    listing = subprocess.run(
        ["twiggy", "top", "-n", "1000000", "-f", "csv", path], check=True, capture_output=True, text=True
    ).stdout
    rows = [(row["Name"], int(row["ShallowSize"])) for row in csv.DictReader(io.StringIO(listing))]
    sections = [(name, size) for name, size in rows if name.startswith(NOT_CODE)]
    functions = [(name, size) for name, size in rows if not name.startswith(NOT_CODE)]
    by_crate: Counter[str] = Counter()
    for name, size in functions:
        match = CRATE.search(name)
        by_crate[match.group(1) if match else "(functions without a name)"] += size
    code = sum(size for _, size in functions)
    print(f"{path}: {sum(size for _, size in rows)} bytes, of which code {code}")
    print("  sections and data:")
    for name, size in sorted(sections, key=lambda item: -item[1])[:6]:
        print(f"    {size:>9}  {name}")
    print(f"  code by crate (top {TOP}):")
    for crate, size in by_crate.most_common(TOP):
        print(f"    {size:>9}  {100 * size / code:5.1f}%  {crate}")
    print(f"  largest functions (top {TOP}):")
    for name, size in sorted(functions, key=lambda item: -item[1])[:TOP]:
        print(f"    {size:>9}  {name[:110]}")


if __name__ == "__main__":
    main(sys.argv[1])
