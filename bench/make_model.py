#!/usr/bin/env python3
"""A Llama-family model folder with seeded random weights, and rows of random tokens to train it on.

Writes DIR/config.json, DIR/model.safetensors (float32, N(0, 0.02) matrices, unit norm weights; written tensor by
tensor, so a model larger than memory can be made) and, with --rows, DIR/data.jsonl: rows of exactly --length
pre-tokenised random ids (no tokenizer is needed to train on them). No download, no package beyond numpy.

  bench/make_model.py --out /tmp/tinyllama --tinyllama --rows 8 --length 2048
  bench/make_model.py --out /tmp/m --vocab 1024 --hidden 256 --layers 4 --heads 4 --inter 688 --rows 8 --length 2048

--tinyllama is TinyLlama-1.1B's shape (hidden 2048, 22 layers, 32 heads, 4 kv heads, intermediate 5632, vocab 32000):
4.4 GB of float32 weights.
"""
import argparse
import json
import os
import struct

import numpy as np

TINYLLAMA = dict(vocab=32000, hidden=2048, layers=22, heads=32, kv_heads=4, inter=5632)


def tensors(c):
    """(name, shape) in checkpoint order."""
    h, inter, hd = c["hidden"], c["inter"], c["hidden"] // c["heads"]
    q, kv = c["heads"] * hd, c["kv_heads"] * hd
    yield "model.embed_tokens.weight", (c["vocab"], h)
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        yield p + "self_attn.q_proj.weight", (q, h)
        yield p + "self_attn.k_proj.weight", (kv, h)
        yield p + "self_attn.v_proj.weight", (kv, h)
        yield p + "self_attn.o_proj.weight", (h, q)
        yield p + "mlp.gate_proj.weight", (inter, h)
        yield p + "mlp.up_proj.weight", (inter, h)
        yield p + "mlp.down_proj.weight", (h, inter)
        yield p + "input_layernorm.weight", (h,)
        yield p + "post_attention_layernorm.weight", (h,)
    yield "model.norm.weight", (h,)
    yield "lm_head.weight", (c["vocab"], h)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tinyllama", action="store_true", help="TinyLlama-1.1B's shape")
    for name, default in (("vocab", 1024), ("hidden", 256), ("layers", 4), ("heads", 4), ("kv-heads", 0),
                          ("inter", 688)):
        ap.add_argument("--" + name, type=int, default=default)
    ap.add_argument("--rows", type=int, default=0, help="rows of random tokens to write to data.jsonl")
    ap.add_argument("--length", type=int, default=128, help="tokens per row")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    c = dict(vocab=a.vocab, hidden=a.hidden, layers=a.layers, heads=a.heads, kv_heads=a.kv_heads or a.heads,
             inter=a.inter)
    if a.tinyllama:
        c.update(TINYLLAMA)
    os.makedirs(a.out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": c["vocab"],
        "hidden_size": c["hidden"], "intermediate_size": c["inter"], "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "num_key_value_heads": c["kv_heads"], "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": max(2048, a.length), "hidden_act": "silu",
        "tie_word_embeddings": False, "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    header, offset = {"__metadata__": {"format": "pt"}}, 0
    names = list(tensors(c))
    for name, shape in names:
        n = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(a.seed)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in names:
            if name.endswith("norm.weight"):
                f.write(np.ones(shape, dtype="<f4").tobytes())
                continue
            rows = shape[0]
            step = max(1, (1 << 24) // max(1, int(np.prod(shape[1:]))))
            for r in range(0, rows, step):
                block = (rows if len(shape) == 1 else min(step, rows - r),) + tuple(shape[1:])
                f.write((rng.standard_normal(block, dtype=np.float32) * 0.02).astype("<f4").tobytes())
                if len(shape) == 1:
                    break
    if a.rows:
        with open(os.path.join(a.out, "data.jsonl"), "w") as f:
            for _ in range(a.rows):
                f.write(json.dumps({"input_ids": rng.integers(3, c["vocab"], a.length).tolist()}) + "\n")
    params = sum(int(np.prod(s)) for _, s in names)
    print(f"{a.out}: llama, {c['layers']} layers, hidden {c['hidden']}, {c['heads']} heads ({c['kv_heads']} kv),"
          f" intermediate {c['inter']}, vocab {c['vocab']}: {params} parameters, {offset / 2**20:.0f} MiB float32"
          + (f"; {a.rows} rows of {a.length} tokens" if a.rows else ""))


if __name__ == "__main__":
    main()
