#!/usr/bin/env python3
"""The reference pipeline for `make bench`: PIL decode, CLIP preprocessing in NumPy/PIL (as the
onnx-clip package does it), ONNX Runtime inference, the same images, batch size and thread count
as the Rust pipeline. Prints one line of JSON.

Usage: bench_embed.py IMAGES_DIR --model visual.onnx [--batch 16] [--count 64] [--threads 2]
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(path):
    image = Image.open(path).convert("RGB")
    w, h = image.size
    if h < w:
        size = (int(224 * w / h), 224)
    else:
        size = (224, int(224 * h / w))
    image = image.resize(size, resample=Image.BICUBIC)
    left, top = (size[0] - 224) // 2, (size[1] - 224) // 2
    array = np.asarray(image.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255.0
    return ((array - MEAN) / STD).transpose(2, 0, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("images", type=Path)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    files = sorted(p for p in args.images.iterdir() if p.is_file())[: args.count]
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run():
        prepare = infer = 0.0
        for i in range(0, len(files), args.batch):
            started = time.perf_counter()
            batch = np.stack([preprocess(p) for p in files[i:i + args.batch]])
            prepare += time.perf_counter() - started
            started = time.perf_counter()
            session.run(None, {name: batch})
            infer += time.perf_counter() - started
        return prepare, infer

    run()  # warm-up
    started = time.perf_counter()
    prepare, infer = run()
    seconds = time.perf_counter() - started
    print(json.dumps({"pipeline": "python", "images": len(files), "batch": args.batch, "seconds": seconds,
                      "prepare_seconds": prepare, "infer_seconds": infer,
                      "images_per_second": len(files) / seconds, "model": args.model}))


if __name__ == "__main__":
    main()
