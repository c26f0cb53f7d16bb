#!/usr/bin/env python3
"""Writes an ONNX graph with CLIP ViT-B/32's visual architecture and random weights: 32 px
patches (7x7 + class token = 50 tokens), width 768, 12 pre-LN transformer layers with 12 heads and
QuickGELU MLPs of 3072, final LayerNorm and a 768 -> 512 projection. Same FLOPs as the real
image tower (about 4.4 GFLOPs per image), so embedding throughput measured on it means
something for real CLIP. Its outputs mean nothing. Used only by `make bench`.

Usage: make_vit_b32.py --out visual.onnx
"""
import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WIDTH, LAYERS, HEADS, PATCH, TOKENS, EMBED = 768, 12, 12, 32, 50, 512


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    rng = np.random.default_rng(32)
    nodes, inits, counter = [], [], [0]

    def const(array):
        counter[0] += 1
        name = f"w{counter[0]}"
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32 if np.asarray(array).dtype.kind == "f" else np.int64), name))
        return name

    def weight(*shape):
        return const((rng.standard_normal(shape) * 0.02).astype(np.float32))

    def op(kind, *inputs, **attrs):
        counter[0] += 1
        out = f"t{counter[0]}"
        nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def layer_norm(x):
        return op("LayerNormalization", x, const(np.ones(WIDTH)), const(np.zeros(WIDTH)), axis=-1, epsilon=1e-5)

    def linear(x, n_in, n_out):
        return op("Add", op("MatMul", x, weight(n_in, n_out)), const(np.zeros(n_out)))

    patches = op("Conv", "pixel_values", weight(WIDTH, 3, PATCH, PATCH), kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    seq = op("Transpose", op("Reshape", patches, const(np.array([0, WIDTH, -1]))), perm=[0, 2, 1])  # [N,49,768]
    batch = op("Slice", op("Shape", "pixel_values"), const(np.array([0])), const(np.array([1])))
    cls = op("Expand", weight(1, 1, WIDTH), op("Concat", batch, const(np.array([1, WIDTH])), axis=0))
    x = op("Add", op("Concat", cls, seq, axis=1), weight(TOKENS, WIDTH))
    x = layer_norm(x)
    head_dim = WIDTH // HEADS
    for _ in range(LAYERS):
        h = layer_norm(x)
        qkv = linear(h, WIDTH, 3 * WIDTH)
        q, k, v = (op("Transpose", op("Reshape", op("Slice", qkv, const(np.array([i * WIDTH])), const(np.array([(i + 1) * WIDTH])), const(np.array([2]))),
                                      const(np.array([0, TOKENS, HEADS, head_dim]))), perm=[0, 2, 1, 3]) for i in range(3))
        scores = op("Softmax", op("Mul", op("MatMul", q, op("Transpose", k, perm=[0, 1, 3, 2])), const(np.array(head_dim ** -0.5))), axis=-1)
        attended = op("Reshape", op("Transpose", op("MatMul", scores, v), perm=[0, 2, 1, 3]), const(np.array([0, TOKENS, WIDTH])))
        x = op("Add", x, linear(attended, WIDTH, WIDTH))
        h = linear(layer_norm(x), WIDTH, 4 * WIDTH)
        h = op("Mul", h, op("Sigmoid", op("Mul", h, const(np.array(1.702)))))  # QuickGELU
        x = op("Add", x, linear(h, 4 * WIDTH, WIDTH))
    cls_out = layer_norm(op("Squeeze", op("Slice", x, const(np.array([0])), const(np.array([1])), const(np.array([1]))), const(np.array([1]))))
    nodes.append(helper.make_node("MatMul", [cls_out, weight(WIDTH, EMBED)], ["image_embeds"]))
    graph = helper.make_graph(nodes, "vit_b32_random", [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])],
                              [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", EMBED])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="artwall-bench")
    model.ir_version = 8
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
