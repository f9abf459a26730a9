"""An embedder wrapper that remembers what it was asked to embed and how long it took."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from core.embedding import Embedder


class RecordingEmbedder:
    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.inputs: list[str] = []
        self.encode_seconds = 0.0
        self.intervals: list[tuple[float, float]] = []  # (start, end) of each encode call

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.inner.token_spans(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.inputs.extend(texts)
        started = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        ended = time.perf_counter()
        self.encode_seconds += ended - started
        self.intervals.append((started, ended))
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)
