#!/usr/bin/env python3
"""Builds ArtWall's stand-in for CLIP ViT-B/32: two ONNX graphs with CLIP's I/O contract.

Real CLIP weights cannot be downloaded on our build machines, so tests and the demo run on this
model. It is NOT CLIP and understands no subjects. It is a deterministic, training-free visual
descriptor, written as an ordinary ONNX graph so that ONNX Runtime really runs it:

  visual.onnx   pixel_values float32 [N,3,224,224] (CLIP-normalised)  ->  image_embeds [N,512]
  textual.onnx  input_ids    int64   [N,77]        (CLIP BPE ids)      ->  text_embeds  [N,512]

The image descriptor (about 170 numbers) covers colour palette (soft assignment to named colours,
globally and per quadrant), brightness and contrast, saturation, edge and texture statistics and a
coarse 4x4 colour layout. Each group is standardised with fixed priors, weighted, and projected to
512-d by a fixed orthonormal matrix (so cosine similarity in 512-d equals cosine similarity of the
weighted descriptors), then L2-normalised.

The text tower knows colour and light words (blue, red, gold, dark, bright, warm, cool, green, sea,
night, snow, sunset...). Each maps to the matching direction of the descriptor; a prompt's
embedding is the normalised sum of the directions of the words it contains.

Usage: make_standin_model.py --out DIR [--vocab bpe_simple_vocab_16e6.txt.gz]
"""
import argparse
import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
DIM = 512
SEED = 20261122
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)

# Named colours of the palette, in linear-ish sRGB [0,1].
PALETTE = {
    "black": (0.05, 0.05, 0.05), "grey": (0.5, 0.5, 0.5), "white": (0.95, 0.95, 0.93),
    "red": (0.75, 0.12, 0.10), "orange": (0.90, 0.50, 0.15), "yellow": (0.92, 0.85, 0.30),
    "brown": (0.45, 0.30, 0.18), "green": (0.25, 0.55, 0.25), "olive": (0.42, 0.45, 0.22),
    "cyan": (0.30, 0.65, 0.70), "blue": (0.18, 0.32, 0.72), "navy": (0.08, 0.12, 0.35),
    "purple": (0.45, 0.22, 0.55), "pink": (0.92, 0.60, 0.68),
}
COLOURS = list(PALETTE)
K = len(COLOURS)


class Graph:
    """A small builder over onnx.helper so the graph reads like the maths."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, array, dtype=np.float32):
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def op(self, op_type, *inputs, **attrs):
        self.n += 1
        out = f"t{self.n}_{op_type.lower()}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def flatten(self, x):
        return self.op("Flatten", x, axis=1)

    def model(self, inputs, outputs, name, model_id):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="artwall-standin")
        model.ir_version = 8
        helper.set_model_props(model, {"artwall_model_kind": "standin", "artwall_model_family": model_id})
        onnx.checker.check_model(model)
        return model


# Descriptor layout: (group name, size, prior mean, prior scale, weight). The weights balance the
# groups so that colour leads, and light, layout and texture still count.
def descriptor_layout():
    return [
        ("rgb_mean", 3, 0.45, 0.15, 1.6),
        ("rgb_std", 3, 0.22, 0.08, 0.6),
        ("luma_mean", 1, 0.45, 0.15, 1.6),
        ("luma_std", 1, 0.22, 0.08, 1.0),
        ("saturation", 1, 0.20, 0.10, 1.2),
        ("palette", K, 1.0 / K, 1.5 / K, 1.0),
        ("palette_quadrants", 4 * K, 1.0 / K, 2.0 / K, 0.35),
        ("layout", 48, 0.45, 0.18, 0.3),
        ("edge_mean", 1, 0.06, 0.04, 0.8),
        ("edge_hv", 2, 0.04, 0.03, 0.5),
        ("edge_grid", 16, 0.06, 0.05, 0.25),
        ("texture_fine", 1, 0.05, 0.04, 0.6),
        ("texture_coarse", 1, 0.10, 0.06, 0.6),
    ]


def offsets():
    out, at = {}, 0
    for name, size, *_ in descriptor_layout():
        out[name] = (at, size)
        at += size
    return out, at


def projection(d):
    rng = np.random.default_rng(SEED)
    q, _ = np.linalg.qr(rng.standard_normal((DIM, d)))
    return q.T.astype(np.float32)  # [d, 512], orthonormal rows: dot products are preserved


def build_visual(model_id):
    g = Graph()
    x = "pixel_values"
    rgb = g.op("Clip", g.op("Add", g.op("Mul", x, g.const(STD.reshape(1, 3, 1, 1))), g.const(MEAN.reshape(1, 3, 1, 1))),
               g.const(0.0), g.const(1.0))
    luma = g.op("Conv", rgb, g.const(np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)))

    def mean_std(t):
        mean = g.op("GlobalAveragePool", t)
        sq = g.op("GlobalAveragePool", g.op("Mul", t, t))
        var = g.op("Relu", g.op("Sub", sq, g.op("Mul", mean, mean)))
        return g.flatten(mean), g.flatten(g.op("Sqrt", g.op("Add", var, g.const(1e-6))))

    rgb_mean, rgb_std = mean_std(rgb)
    luma_mean, luma_std = mean_std(luma)
    sat = g.flatten(g.op("GlobalAveragePool", g.op("Sub", g.op("ReduceMax", rgb, axes=[1], keepdims=1),
                                                          g.op("ReduceMin", rgb, axes=[1], keepdims=1))))

    # Soft palette on a 112x112 version: softmax over -|pixel - colour|^2 / (2 sigma^2).
    small = g.op("AveragePool", rgb, kernel_shape=[2, 2], strides=[2, 2])
    protos = np.array([PALETTE[c] for c in COLOURS], dtype=np.float32)
    dot = g.op("Conv", small, g.const(2.0 * protos.reshape(K, 3, 1, 1)), g.const(-(protos ** 2).sum(1)))
    neg_dist = g.op("Sub", dot, g.op("ReduceSumSquare", small, axes=[1], keepdims=1))
    assign = g.op("Softmax", g.op("Mul", neg_dist, g.const(1.0 / (2 * 0.12 ** 2))), axis=1)
    palette = g.flatten(g.op("GlobalAveragePool", assign))
    palette_q = g.flatten(g.op("AveragePool", assign, kernel_shape=[56, 56], strides=[56, 56]))

    layout = g.flatten(g.op("AveragePool", rgb, kernel_shape=[56, 56], strides=[56, 56]))

    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32) / 4.0
    grads = g.op("Conv", luma, g.const(np.stack([sobel_x, sobel_x.T]).reshape(2, 1, 3, 3)), pads=[1, 1, 1, 1])
    grad_abs = g.op("Abs", grads)
    edge_hv = g.flatten(g.op("GlobalAveragePool", grad_abs))
    magnitude = g.op("Sqrt", g.op("Add", g.op("ReduceSumSquare", grads, axes=[1], keepdims=1), g.const(1e-8)))
    edge_mean = g.flatten(g.op("GlobalAveragePool", magnitude))
    edge_grid = g.flatten(g.op("AveragePool", magnitude, kernel_shape=[56, 56], strides=[56, 56]))

    laplace = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32).reshape(1, 1, 3, 3)
    fine = g.flatten(g.op("GlobalAveragePool", g.op("Abs", g.op("Conv", luma, g.const(laplace), pads=[1, 1, 1, 1]))))
    luma_small = g.op("AveragePool", luma, kernel_shape=[4, 4], strides=[4, 4])
    coarse = g.flatten(g.op("GlobalAveragePool", g.op("Abs", g.op("Conv", luma_small, g.const(laplace), pads=[1, 1, 1, 1]))))

    parts = {"rgb_mean": rgb_mean, "rgb_std": rgb_std, "luma_mean": luma_mean, "luma_std": luma_std,
             "saturation": sat, "palette": palette, "palette_quadrants": palette_q, "layout": layout,
             "edge_mean": edge_mean, "edge_hv": edge_hv, "edge_grid": edge_grid,
             "texture_fine": fine, "texture_coarse": coarse}
    layout_spec = descriptor_layout()
    descriptor = g.op("Concat", *[parts[name] for name, *_ in layout_spec], axis=1)
    prior_mean = np.concatenate([np.full(size, m) for _, size, m, _, _ in layout_spec])
    prior_gain = np.concatenate([np.full(size, w / (s * np.sqrt(size))) for _, size, _, s, w in layout_spec])
    z = g.op("Mul", g.op("Sub", descriptor, g.const(prior_mean)), g.const(prior_gain))
    d = prior_mean.size
    emb = g.op("LpNormalization", g.op("MatMul", z, g.const(projection(d))), axis=1, p=2)
    g.nodes[-1].output[0] = "image_embeds"
    inp = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])
    out = helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", DIM])
    return g.model([inp], [out], "artwall_standin_visual", model_id)


def clip_vocab(bpe_gz):
    """CLIP's vocabulary, built exactly as CLIP's simple_tokenizer builds it."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_chars = [chr(c) for c in cs]
    merges = gzip.open(bpe_gz).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    vocab = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(vocab)}


# Word -> target z-scores of descriptor features. Only colour and light are understood.
def word_directions():
    c = {name: i for i, name in enumerate(COLOURS)}

    def pal(**weights):
        return [("palette", c[k], v) for k, v in weights.items()] + \
               [("palette_quadrants", q * K + c[k], v * 0.5) for k, v in weights.items() for q in range(4)]

    def rgb(r, g_, b):
        return [("rgb_mean", 0, r), ("rgb_mean", 1, g_), ("rgb_mean", 2, b)]

    light = [("luma_mean", 0, 3.0)] + rgb(1.5, 1.5, 1.5)
    dark = [("luma_mean", 0, -3.0)] + rgb(-1.5, -1.5, -1.5) + pal(black=2.0, navy=0.5)
    vivid = [("saturation", 0, 3.0)]
    muted = [("saturation", 0, -2.5)]
    sky_top = [("layout", ch * 16 + row * 4 + col, v) for row in (0, 1) for col in range(4)
               for ch, v in ((0, -0.8), (2, 1.2))]
    words = {
        "blue": pal(blue=3.0, navy=1.0, cyan=1.0) + rgb(-1.5, -0.3, 2.0),
        "red": pal(red=3.0, pink=0.5) + rgb(2.0, -1.0, -1.0),
        "green": pal(green=3.0, olive=1.0) + rgb(-1.0, 2.0, -1.0),
        "yellow": pal(yellow=3.0) + rgb(1.5, 1.5, -2.0),
        "orange": pal(orange=3.0) + rgb(2.0, 0.5, -2.0),
        "purple": pal(purple=3.0) + rgb(0.5, -1.5, 1.0),
        "violet": pal(purple=3.0) + rgb(0.5, -1.5, 1.0),
        "pink": pal(pink=3.0) + rgb(1.5, 0.0, 0.5),
        "brown": pal(brown=3.0) + rgb(0.5, -0.3, -1.5),
        "black": pal(black=3.0) + dark,
        "white": pal(white=3.0) + light,
        "grey": pal(grey=3.0) + muted,
        "gray": pal(grey=3.0) + muted,
        "gold": pal(yellow=2.0, orange=1.5, brown=1.0) + rgb(1.5, 0.5, -2.0) + [("saturation", 0, 1.0)],
        "golden": pal(yellow=2.0, orange=1.5, brown=1.0) + rgb(1.5, 0.5, -2.0) + [("saturation", 0, 1.0)],
        "dark": dark,
        "night": dark + pal(navy=2.0, blue=0.5),
        "bright": light + pal(white=1.0),
        "light": light,
        "pale": light + muted + pal(white=1.5),
        "warm": pal(orange=1.5, red=1.0, yellow=1.0, brown=0.5) + rgb(1.5, 0.0, -1.5),
        "cool": pal(blue=1.5, cyan=1.0, grey=0.5) + rgb(-1.5, 0.0, 1.5),
        "cold": pal(blue=1.5, cyan=1.0, white=1.0) + rgb(-1.5, 0.0, 1.5),
        "sea": pal(blue=2.0, cyan=2.0, navy=1.0) + rgb(-1.5, 0.5, 1.5),
        "ocean": pal(blue=2.0, cyan=2.0, navy=1.0) + rgb(-1.5, 0.5, 1.5),
        "water": pal(blue=1.5, cyan=1.5) + rgb(-1.0, 0.3, 1.0),
        "sky": sky_top + pal(blue=1.0, white=1.0, cyan=0.5),
        "snow": light + muted + pal(white=3.0),
        "winter": light + muted + pal(white=2.0, grey=1.0, blue=0.5),
        "sunset": pal(orange=2.5, red=1.5, purple=1.0, yellow=1.0) + rgb(2.0, 0.0, -1.0),
        "sunrise": pal(orange=2.0, pink=1.5, yellow=1.5) + rgb(1.5, 0.5, -0.5),
        "dusk": pal(purple=1.5, navy=1.5, orange=1.0) + [("luma_mean", 0, -1.5)],
        "fire": pal(red=2.0, orange=2.5, yellow=1.0) + rgb(2.0, 0.3, -2.0) + vivid,
        "forest": pal(green=2.5, olive=1.5, brown=1.0) + [("luma_mean", 0, -1.0)],
        "autumn": pal(orange=2.0, brown=2.0, red=1.0, olive=1.0) + rgb(1.0, 0.0, -1.5),
        "spring": pal(green=1.5, pink=1.5, white=1.0) + light,
        "summer": pal(green=1.0, blue=1.0, yellow=1.0) + light + vivid,
        "vivid": vivid,
        "colourful": vivid + [("rgb_std", i, 1.5) for i in range(3)],
        "colorful": vivid + [("rgb_std", i, 1.5) for i in range(3)],
        "muted": muted,
        "monochrome": muted + [("saturation", 0, -1.0)],
        "contrast": [("luma_std", 0, 3.0)],
        "soft": [("luma_std", 0, -1.5), ("edge_mean", 0, -1.5)],
        "calm": [("edge_mean", 0, -2.0), ("texture_fine", 0, -1.5)],
        "detailed": [("edge_mean", 0, 2.0), ("texture_fine", 0, 2.0)],
        "gloomy": dark + muted,
    }
    return words


def build_textual(model_id, vocab):
    offs, d = offsets()
    words = word_directions()
    ids, rows = [], []
    for word, entries in sorted(words.items()):
        row = np.zeros(d, dtype=np.float32)
        for group, index, value in entries:
            start, size = offs[group]
            assert index < size, (word, group, index)
            row[start + index] += value
        # The same weighting as the image side, so a word points where matching images lie.
        gains = np.concatenate([np.full(size, w / np.sqrt(size)) for _, size, _, _, w in descriptor_layout()])
        ids.append(vocab[word + "</w>"])
        rows.append(row * gains)
    g = Graph()
    hits = g.op("Equal", g.op("Unsqueeze", "input_ids", g.const([2], dtype=np.int64)), g.const(ids, dtype=np.int64))
    present = g.op("Min", g.op("ReduceSum", g.op("Cast", hits, to=TensorProto.FLOAT), g.const([1], dtype=np.int64),
                               keepdims=0), g.const(1.0))
    # A faint neutral direction keeps prompts without known words well-defined (never a zero vector).
    neutral = np.zeros(d, dtype=np.float32)
    neutral[offs["luma_mean"][0]] = 0.05
    z = g.op("Add", g.op("MatMul", present, g.const(np.stack(rows))), g.const(neutral))
    g.op("LpNormalization", g.op("MatMul", z, g.const(projection(d))), axis=1, p=2)
    g.nodes[-1].output[0] = "text_embeds"
    inp = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", 77])
    out = helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", DIM])
    return g.model([inp], [out], "artwall_standin_textual", model_id)


def main():
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--vocab", type=Path, default=root / "assets/clip/bpe_simple_vocab_16e6.txt.gz")
    args = ap.parse_args()
    family = "artwall-standin-v1"
    visual = build_visual(family).SerializeToString(deterministic=True)
    textual = build_textual(family, clip_vocab(args.vocab)).SerializeToString(deterministic=True)
    # The id names the generator, not the output bytes: other CPUs may round the last bit of a
    # float differently, and that must not make a "different model".
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / ".partial"
    tmp.mkdir(exist_ok=True)
    (tmp / "visual.onnx").write_bytes(visual)
    (tmp / "textual.onnx").write_bytes(textual)
    (tmp / "model.json").write_text(json.dumps({
        "id": f"{family}-{digest}",
        "kind": "standin",
        "label": "ArtWall stand-in visual descriptor (not CLIP: colour, light and texture only)",
        "dim": DIM,
        "visual": "visual.onnx",
        "textual": "textual.onnx",
    }, indent=2) + "\n")
    for name in ("visual.onnx", "textual.onnx", "model.json"):  # model.json last: it marks completion
        os.replace(tmp / name, args.out / name)
    tmp.rmdir()
    print(f"stand-in model {family}-{digest} written to {args.out}")


if __name__ == "__main__":
    main()
