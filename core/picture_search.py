"""Pictures found by what they show, among a search's results (core.picture_model).

The picture side answers with (file, cosine, relevance) hits; ``Searcher`` turns them into
results and merges them with the documents' by relevance, the one scale both share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np

from core.errors import ModelError
from core.picture_model import PICTURE_COSINE_POINTS, PictureModel
from core.relevance import FLOOR, along
from core.store import Store

Hit = tuple[int, float, float]  # file id, cosine similarity, relevance
Mask = np.ndarray | None  # files allowed by a filter, by id (None: all)


class Ranked(Protocol):
    """What merging needs of a result (core.search.Result)."""

    file_id: int
    relevance: float


R = TypeVar("R", bound=Ranked)


class PictureSide:
    def __init__(self, store: Store, model: PictureModel | None) -> None:
        self.store = store
        self.model = model

    @property
    def on(self) -> bool:
        """Whether pictures are searched by what they show: a picture model is set and
        the index holds its vectors (another model's would mean nothing to it)."""
        return self.model is not None and self.store.pictures.bound_to(self.model.model_id)

    def for_text(self, text: str, k: int, allowed: Mask, floor: bool) -> list[Hit]:
        """The pictures nearest ``text`` among the ``k`` nearest, best first; those under
        the relevance floor left out if ``floor``."""
        assert self.model is not None
        try:
            query = self.model.embed_text(text)
        except ModelError:
            return []  # said when the model was loaded; documents are still found
        hits = []
        for file_id, cosine in self._nearest(query, k, allowed):
            fit = along(PICTURE_COSINE_POINTS, cosine)
            if not floor or fit >= FLOOR:
                hits.append((file_id, cosine, fit))
        return hits

    def for_picture(
        self, vector: np.ndarray, k: int, allowed: Mask, exclude: int | None
    ) -> list[Hit]:
        """The pictures nearest a picture's vector, itself left out; the relevance of a
        picture to a picture is their cosine."""
        return [
            (f, cosine, min(1.0, max(0.0, cosine)))
            for f, cosine in self._nearest(vector, k, allowed)
            if f != exclude
        ]

    def _nearest(self, vector: np.ndarray, k: int, allowed: Mask) -> list[tuple[int, float]]:
        return [
            (f, cosine)
            for f, cosine in self.store.pictures.nearest(vector, k)
            if allowed is None or (f < len(allowed) and allowed[f])
        ]


def with_pictures(
    results: list[R], hits: list[Hit], as_results: Callable[[list[Hit]], list[R]], limit: int
) -> list[R]:
    """Pictures found by what they show, each placed before the first result less
    relevant than it.  A picture the text side found too keeps its place unless what it
    shows matches better: then it moves up to where that puts it."""
    better = {f: fit for f, _, fit in hits}
    merged = [r for r in results if better.get(r.file_id, -1.0) <= r.relevance]
    held = {r.file_id for r in merged}
    for result in as_results([h for h in hits if h[0] not in held]):
        at = next((i for i, r in enumerate(merged) if r.relevance < result.relevance), None)
        merged.insert(len(merged) if at is None else at, result)
    return merged[:limit]


def looks_first(pictures: list[R], alike: list[R], limit: int) -> list[R]:
    """Similar files for a picture: the pictures nearest by what they show first (what
    "similar" means for a photo), then files alike in their text."""
    held = {r.file_id for r in pictures}
    return (pictures + [r for r in alike if r.file_id not in held])[:limit]
