"""Pictures by what they show: a CLIP model, which puts pictures and text in one space.

Optional, and off by default: the ``picture_model`` setting names a sentence-transformers
CLIP model (a folder, or the id of one already downloaded, such as
``sentence-transformers/clip-ViT-B-32``).  With it, each picture gets a vector of its
own (the ``picture_vec`` table), and a search's words are embedded into the same space,
so "dog on a beach" finds the photo that holds no text.  Without it nothing here is
imported, loaded or stored.

The model never sees a picture file: the extraction worker, which decodes files under
its time and memory limits, hands over the picture already shrunk to a few hundred
pixels as plain RGB (``core.extract.base.Thumbnail``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.embedding import first_line, load_target, model_id_for, select_device
from core.errors import ModelError
from core.openvino_runtime import dimension_of

if TYPE_CHECKING:
    from core.extract.base import Thumbnail
    from core.settings import Settings

# A text-picture cosine read as relevance, as core.relevance reads a text model's.  Not
# measured here (no CLIP weights can be downloaded on the build machine): taken from
# CLIP ViT-B/32's published behaviour, where a caption that fits its picture scores
# about 0.30 and an unrelated one 0.15-0.20 (CLIPScore, Hessel et al. 2021, rescales
# by 2.5 for the same reason).
PICTURE_COSINE_POINTS = ((0.20, 0.0), (0.30, 1.0))


class PictureModel(Protocol):
    """What indexing and search need from a model that reads pictures and text."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_pictures(self, pictures: Sequence[Thumbnail]) -> np.ndarray: ...

    def embed_text(self, text: str) -> np.ndarray: ...


class ClipModel:
    """A sentence-transformers CLIP model, loaded on first use, thread-safely."""

    def __init__(self, reference: str, device: str = "auto", *, local_only: bool = False) -> None:
        self.reference = reference
        self.device_preference = device
        self.local_only = local_only
        self._model: Any = None
        self._failure: ModelError | None = None  # a load that failed is not tried again
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings, *, local_only: bool = False) -> ClipModel | None:
        """The model the settings name, or None when picture search is off."""
        if not settings.picture_model:
            return None
        return cls(settings.picture_model, settings.device, local_only=local_only)

    @property
    def model_id(self) -> str:
        return model_id_for(self.reference)

    @property
    def model(self) -> Any:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._model is None:
                try:
                    self._model = self._load()
                except ModelError as error:
                    self._failure = error
                    raise
            return self._model

    @property
    def dimension(self) -> int:
        return dimension_of(self.model)

    def embed_pictures(self, pictures: Sequence[Thumbnail]) -> np.ndarray:
        if not pictures:
            return np.zeros((0, self.dimension), dtype=np.float32)
        images = [picture.image() for picture in pictures]
        return self._encode(images)

    def embed_text(self, text: str) -> np.ndarray:
        return np.asarray(self._encode([text])[0], dtype=np.float32)

    def _encode(self, inputs: list[Any]) -> np.ndarray:
        vectors = self.model.encode(
            inputs, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _load(self) -> Any:
        target = load_target(self.reference)
        if Path(target).is_dir():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            device = select_device(self.device_preference)
            model = SentenceTransformer(target, device=device, local_files_only=self.local_only)
        except ImportError as exc:
            raise ModelError(f"sentence-transformers is not installed: {exc}") from exc
        except (OSError, ValueError, RuntimeError) as exc:
            reason = first_line(exc)
            raise ModelError(f"cannot load the picture model {self.reference!r}: {reason}") from exc
        if "image" not in (getattr(model, "modalities", None) or ()):
            raise ModelError(
                f"{self.reference!r} does not read pictures: the picture model must be a "
                "CLIP model, such as sentence-transformers/clip-ViT-B-32"
            )
        return model
