"""The model on OpenVINO's CPU runtime, and the converter that makes it ready.

``core.embedding`` decides when OpenVINO runs the model; this module holds what runs it: a
converted model with what ``SentenceTransformerEmbedder`` uses of a ``SentenceTransformer``
(``OpenVINOModel``), the conversion in a process of its own (``convert_to_openvino``), and
the one way openvino is imported (``import_openvino``, which blocks its usage reports).
"""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from core.paths import make_private_folder

log = logging.getLogger(__name__)

# Bump to convert every cached OpenVINO model again (a change in how they are made).
OPENVINO_FORMAT = 2  # 2: weights stored in 16 bits
OPENVINO_MODEL = "model.xml"
OPENVINO_INFO = "trove-model.json"
SHIPPED_CONVERSIONS = "openvino-models"  # in the installed app's bundle
CONVERT_TIMEOUT_S = 900  # the default model takes 15-120 s, on two busy cores
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

Span = tuple[int, int]


class OpenVINOModel:
    """A converted model on OpenVINO's CPU runtime, with what ``SentenceTransformerEmbedder``
    uses of a ``SentenceTransformer``.  Inputs are tokenized, sorted by length and batched
    as sentence-transformers does, so the vectors match the torch model's."""

    device = "cpu"
    # OpenVINO's inference precision; None lets it choose (bfloat16 where the CPU has it,
    # such as Xeons with AMX; float32 elsewhere).  benchmarks/encoder.py sets "f32".
    precision: str | None = None

    def __init__(self, folder: Path, first_threads: int = 1) -> None:
        info = json.loads((folder / OPENVINO_INFO).read_text(encoding="utf-8"))
        self.folder = folder
        self.max_seq_length = int(info["max_seq_length"])
        self.prompts: dict[str, str] = dict(info["prompts"])
        self.inputs: list[str] = list(info["inputs"])
        self._dimension = int(info["dimension"])
        self._spans_tokenizer: Any = None  # made when first needed (indexing, not a query)
        self._batches = _READ_AHEAD.pop(str(folder), None) or _read_tokenizer(folder)
        self._batches.enable_truncation(self.max_seq_length)
        self._batches.enable_padding(pad_id=int(info["pad_id"]), pad_token=str(info["pad_token"]))
        self._runtime: Any = import_openvino()
        self._compiled: dict[int, Any] = {}
        self._lock = threading.Lock()
        # Compiled now for the queries' thread count: a model that does not compile fails
        # here, and the first answer after launch waits for no second compilation.
        self.compiled(first_threads)

    def get_embedding_dimension(self) -> int:
        return self._dimension

    @property
    def _spans(self) -> Any:
        """A second tokenizer that neither cuts nor pads.  Reading one holds the GIL for
        about 35 ms, so a query does not wait for it at start-up."""
        with self._lock:
            if self._spans_tokenizer is None:
                spans = _read_tokenizer(self.folder)
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


# Tokenizers read by ``read_ahead``, by model folder, for the model's loading to take.
_READ_AHEAD: dict[str, Any] = {}


def read_ahead(folder: Path) -> None:
    """Do now, on this thread, what loading the model in ``folder`` does holding the GIL
    for tens of milliseconds: importing OpenVINO's bindings and reading the tokenizer.
    The window runs this while it is being built, so the loading, once it is shown,
    cannot stall it with them; the tokenizer waits here for the model that takes it."""
    import_openvino()
    _READ_AHEAD[str(folder)] = _read_tokenizer(folder)


def _read_tokenizer(folder: Path) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(folder / "tokenizer.json"))


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
    normalisation as one graph, weights stored in 16 bits) to OpenVINO in ``folder``, with
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
        openvino.save_model(graph, scratch / OPENVINO_MODEL, compress_to_fp16=True)
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
        "dimension": dimension_of(model),
        "max_seq_length": int(model.max_seq_length),
        "prompts": dict(model.prompts or {}),
        "inputs": inputs,
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
    }
    (folder / OPENVINO_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")


def dimension_of(model: Any) -> int:
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())
