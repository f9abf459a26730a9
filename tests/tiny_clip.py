"""A CLIP model small enough to build in a second, for testing the picture plumbing.

Its weights are random (seeded), so it knows nothing about pictures; what it offers is
a real sentence-transformers CLIP folder, loaded by the same code as
sentence-transformers/clip-ViT-B-32: a byte-level tokenizer, an image processor, text and
vision towers of two layers, 16-dimensional vectors.  The installed app's self-test
carries one built by this script (resources/selftest/tiny-clip):

    .venv/bin/python -m tests.tiny_clip resources/selftest/tiny-clip
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SEED = 20261201
DIMENSION = 16


def byte_symbols() -> list[str]:
    """The 256 symbols a byte-level BPE tokenizer spells bytes with: printable bytes as
    themselves, the others moved past 255 (the scheme GPT-2 and CLIP share)."""
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    moved = [b for b in range(256) if b not in keep]
    table = {b: chr(b) for b in keep} | {b: chr(256 + i) for i, b in enumerate(moved)}
    return [table[b] for b in range(256)]


def build(folder: Path, config: Any = None, images: Any = None) -> Path:
    """Write the model into ``folder`` (made if missing); returns it.  ``config`` (a
    transformers CLIPConfig) and ``images`` (its image processor) give it another shape:
    benchmarks/picture_model.py builds ViT-B/32's."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.models.clip import CLIPImageProcessorPil

    raw = folder / "transformers"
    raw.mkdir(parents=True, exist_ok=True)
    symbols = byte_symbols()
    vocabulary = [*symbols, *(s + "</w>" for s in symbols), "<|startoftext|>", "<|endoftext|>"]
    (raw / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocabulary)}))
    (raw / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(raw / "vocab.json"), str(raw / "merges.txt"))
    end = len(vocabulary) - 1
    config = config or CLIPConfig(
        text_config=dict(
            vocab_size=len(vocabulary),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=end - 1,
            eos_token_id=end,
            pad_token_id=end,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        projection_dim=DIMENSION,
    )
    torch.manual_seed(SEED)
    model = CLIPModel(config)
    square = {"height": 32, "width": 32}
    images = images or CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size=square)
    processor = CLIPProcessor(image_processor=images, tokenizer=tokenizer)
    model.save_pretrained(raw)
    processor.save_pretrained(raw)
    SentenceTransformer(str(raw), device="cpu").save(str(folder))
    (folder / "README.md").unlink(missing_ok=True)  # a model card about nothing
    for leftover in raw.iterdir():
        leftover.unlink()
    raw.rmdir()
    return folder


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
