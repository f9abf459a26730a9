"""A deterministic stand-in for the model, for tests about plumbing, not meaning."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder:
    """Bag-of-words vectors from hashed words; counts every text it embeds."""

    def __init__(
        self, dimension: int = 64, max_tokens: int = 64, model_id: str = "test/fake-hashing"
    ) -> None:
        self._dimension = dimension
        self._max_tokens = max_tokens
        self._model_id = model_id
        self.embedded = 0
        self.longest_input = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in _TOKEN.finditer(text)]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        self.longest_input = max([self.longest_input, *(len(self.token_spans(t)) for t in texts)])
        return (
            np.stack([self._vector(t) for t in texts])
            if texts
            else np.zeros((0, self._dimension), dtype=np.float32)
        )

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            bucket = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
            vector[bucket % self._dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector + 1.0 / np.sqrt(self._dimension)


class SlowEmbedder(FakeEmbedder):
    """Takes ``delay_s`` per batch and ``per_passage_s`` per passage (as a real model on
    a CPU does), and waits at a gate a test can close: indexing that lasts long enough
    to pause it in the middle of a pass."""

    def __init__(self, delay_s: float = 0.0, per_passage_s: float = 0.0) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.per_passage_s = per_passage_s
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()  # set once a batch has reached the model
        self.held = threading.Event()  # set while a batch waits at the closed gate

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        while not self.gate.wait(0.01):
            self.held.set()
        time.sleep(self.delay_s + self.per_passage_s * len(texts))
        return super().embed_documents(texts)


class ColourPictureModel:
    """A stand-in for a CLIP model that sees colour only: a picture's vector is how far
    its pixels lean to red, green and blue; a text's, the colours it names.  Enough to
    test how pictures found by what they show join the results."""

    COLOURS = ("red", "green", "blue")

    def __init__(self, model_id: str = "test/colour-pictures") -> None:
        self._model_id = model_id
        self.texts = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return 3

    def embed_pictures(self, pictures: Sequence[object]) -> np.ndarray:
        rows = []
        for picture in pictures:
            pixels = np.frombuffer(picture.pixels, dtype=np.uint8).reshape(-1, 3)  # type: ignore[attr-defined]
            lean = (pixels - pixels.mean(axis=1, keepdims=True)).mean(axis=0)
            rows.append(_unit(lean))
        return np.stack(rows).astype(np.float32)

    def embed_text(self, text: str) -> np.ndarray:
        self.texts += 1
        words = set(re.findall(r"\w+", text.lower()))
        return _unit(np.array([float(c in words) for c in self.COLOURS]))


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)
