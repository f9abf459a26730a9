"""The openvino backend: the default model converted once, then run without torch, giving
the torch model's vectors and token spans.  ``auto``, the default, runs it on OpenVINO
where no GPU is likely and falls back to torch when the model does not convert."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import embedding
from core.embedding import SentenceTransformerEmbedder, convert_to_openvino
from core.errors import ConfigError, ModelError
from core.settings import Settings, load_settings
from tests.conftest import REPO, SAMPLE, open_trove, run_index

EVERYDAY = REPO / "tests/data/everyday_queries.jsonl"
TEXTS = [
    "  The cat sat on the mat.  ",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "word " * 400,  # longer than the model's 256 tokens: cut as torch cuts it
    "Ünïcödé — naïve café façade, 東京 and emoji 🙂 in one line.",
    *[f"passage number {i} about the weather in spring" for i in range(40)],
]


def fresh_python(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by a new interpreter that finds Trove; it must succeed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def test_backend_setting_is_checked_and_read_from_the_settings_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="backend must be one of"):
        Settings().with_changes(backend="onnx")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"backend": "openvino"}), encoding="utf-8")
    settings = load_settings(path)
    assert settings.backend == "openvino"
    assert SentenceTransformerEmbedder.for_settings(settings).backend == "openvino"
    assert Settings().backend == "auto"


def test_missing_openvino_is_a_model_error_with_an_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails as if not installed
    embedder = SentenceTransformerEmbedder(backend="openvino", cache=tmp_path)
    with pytest.raises(ModelError, match="pip install openvino"):
        _ = embedder.dimension


def test_a_changed_model_folder_is_converted_again(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    embedder = SentenceTransformerEmbedder(str(folder), backend="openvino", cache=tmp_path)
    before = embedder.converted_folder(str(folder))
    assert before.parent == tmp_path / "models"
    assert embedder.converted_folder(str(folder)) == before
    (folder / "model.safetensors").write_bytes(b"other weights")
    assert embedder.converted_folder(str(folder)) != before


def test_a_conversion_shipped_with_the_app_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = SentenceTransformerEmbedder(backend="openvino", cache=tmp_path / "cache")
    target = str(embedding.bundled_model_path())
    name = f"openvino-{embedder.conversion_key(target)}"
    assert embedder.converted_folder(target) == tmp_path / "cache" / "models" / name
    shipped = tmp_path / "bundle" / embedding.SHIPPED_CONVERSIONS / name
    shipped.mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    assert embedder.converted_folder(target) == tmp_path / "cache" / "models" / name  # empty
    (shipped / embedding.OPENVINO_INFO).write_text("{}", encoding="utf-8")
    assert embedder.converted_folder(target) == shipped


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder(
        backend="openvino", cache=tmp_path_factory.mktemp("cache")
    )
    _ = embedder.model  # converts, then loads
    return embedder


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder(backend="torch")
    _ = embedder.model
    return embedder


@pytest.mark.model
def test_a_tokenizer_read_ahead_is_the_one_the_model_takes(
    converted: SentenceTransformerEmbedder,
) -> None:
    """The window reads the tokenizer while it is built; the model's loading, later on
    another thread, takes that one instead of reading it again."""
    from core import openvino_runtime

    again = SentenceTransformerEmbedder(backend="openvino", cache=converted.cache)
    folder = str(again.converted_folder(str(embedding.bundled_model_path())))
    again.read_ahead()
    read = openvino_runtime._READ_AHEAD[folder]
    assert again.model._batches is read
    assert folder not in openvino_runtime._READ_AHEAD
    assert np.allclose(again.embed_query("a fig tree"), converted.embed_query("a fig tree"))
    SentenceTransformerEmbedder(backend="torch").read_ahead()  # torch: nothing to read
    assert not openvino_runtime._READ_AHEAD


@pytest.mark.model
def test_vectors_match_the_torch_model(
    converted: SentenceTransformerEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    real_embedder = torch_embedder
    assert torch_embedder.backend_in_use == "torch"
    assert converted.backend_in_use == "openvino"
    assert converted.dimension == real_embedder.dimension
    assert converted.max_tokens == real_embedder.max_tokens
    ours, theirs = converted.embed_documents(TEXTS), real_embedder.embed_documents(TEXTS)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Equal up to rounding: float32, or bfloat16 where the CPU computes in it.
    assert (ours * theirs).sum(axis=1).min() > 0.999
    query = "what do plants make from light"
    assert float(converted.embed_query(query) @ real_embedder.embed_query(query)) > 0.999


@pytest.mark.model
def test_token_spans_match_the_torch_tokenizer(
    converted: SentenceTransformerEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    real_embedder = torch_embedder
    for text in TEXTS:
        assert converted.token_spans(text) == real_embedder.token_spans(text)
    assert len(converted.token_spans("word " * 400)) == 400  # never cut


@pytest.mark.model
def test_thread_counts_give_the_same_vectors(converted: SentenceTransformerEmbedder) -> None:
    converted.threads = 1
    one = converted.embed_documents(TEXTS[:6])
    converted.threads = 0
    assert np.allclose(one, converted.embed_documents(TEXTS[:6]), atol=1e-6)


@pytest.mark.model
def test_a_converted_model_loads_again_without_torch(
    converted: SentenceTransformerEmbedder,
) -> None:
    assert converted.cache is not None
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.embedding import SentenceTransformerEmbedder\n"
        f"cache = Path({str(converted.cache)!r})\n"
        "e = SentenceTransformerEmbedder(backend='openvino', cache=cache)\n"
        "assert e.embed_query('a first question').shape == (384,)\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
        "from openvino.tools.ovc import telemetry_utils\n"
        "print(sys.modules.get('openvino_telemetry'), telemetry_utils.tm.__name__)\n"
    )
    done = fresh_python(script)
    # Importing openvino reports the import unless its telemetry package is blocked.
    assert done.stdout.split() == ["False", "False", "None", "openvino.tools.ovc.telemetry_stub"]
    assert len(list((converted.cache / "models").iterdir())) == 1  # nothing converted again


@pytest.mark.model
def test_a_second_conversion_into_the_same_place_keeps_the_first(
    converted: SentenceTransformerEmbedder,
) -> None:
    folder = converted.model.folder
    before = (folder / "model.xml").stat().st_mtime_ns
    from core.embedding import bundled_model_path

    convert_to_openvino(str(bundled_model_path()), folder)
    assert (folder / "model.xml").stat().st_mtime_ns == before
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no scratch left


@pytest.mark.model
def test_trove_finds_every_paraphrased_file_first_with_the_openvino_backend(
    converted: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    """The everyday queries share no content word with their files: only the vectors
    can put them first (as tests/test_search.py checks for torch)."""
    queries = [json.loads(line) for line in EVERYDAY.read_text().splitlines() if line]
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder)
    trove = open_trove(converted)
    try:
        trove.add_folder(folder)
        finished, _ = run_index(trove)
        assert finished.files_indexed == len(list(folder.iterdir()))
        firsts = {q["expected"]: Path(trove.search(q["text"], 3)[0].path).name for q in queries}
    finally:
        trove.close()
    assert firsts == {q["expected"]: q["expected"] for q in queries}


@pytest.mark.model
def test_auto_runs_on_openvino_where_no_gpu_is_likely(
    converted: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding, "gpu_likely", lambda: False)
    auto = SentenceTransformerEmbedder(cache=converted.cache)
    assert auto.backend == "auto" and auto.backend_in_use == "openvino"
    on_cpu = SentenceTransformerEmbedder(device="cpu", cache=converted.cache)
    assert on_cpu.backend_in_use == "openvino"


def test_auto_runs_on_torch_where_openvino_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A source install without OpenVINO: no attempt, no warning."""
    monkeypatch.setattr(embedding, "gpu_likely", lambda: False)
    assert SentenceTransformerEmbedder()._openvino_fits()
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "openvino" else real_find_spec(name, *a),
    )
    auto = SentenceTransformerEmbedder()
    assert not auto._openvino_fits() and auto.needs_torch


def test_the_installed_app_expects_no_gpu_but_on_a_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its torch is built for the CPU alone: an NVIDIA driver does not make ``auto`` load
    torch, whose CPU-only build would then run the model three times slower."""
    driver = "/proc/driver/nvidia/version"

    class WithDriver(type(Path())):  # type: ignore[misc]
        def exists(self, **_: object) -> bool:
            return str(self) == driver or super().exists()

    monkeypatch.setattr(embedding, "Path", WithDriver)
    monkeypatch.setattr(sys, "platform", "linux")
    assert embedding.gpu_likely()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert not embedding.gpu_likely()
    assert SentenceTransformerEmbedder()._openvino_fits()
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(embedding.platform, "machine", lambda: "arm64")
    assert embedding.gpu_likely()


def test_torch_on_the_default_model_without_its_weights_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed app carries the default model for OpenVINO only."""
    folder = tmp_path / "model"
    shutil.copytree(embedding.bundled_model_path(), folder)
    (folder / "model.safetensors").unlink()
    monkeypatch.setattr(embedding, "bundled_model_path", lambda: folder)
    with pytest.raises(ModelError, match="for OpenVINO only: set the backend to auto"):
        _ = SentenceTransformerEmbedder(backend="torch").model


def test_auto_leaves_a_gpu_to_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "gpu_likely", lambda: True)
    assert not SentenceTransformerEmbedder()._openvino_fits()
    assert not SentenceTransformerEmbedder(device="cuda")._openvino_fits()
    assert SentenceTransformerEmbedder(device="cpu")._openvino_fits()


@pytest.mark.model
def test_auto_falls_back_to_torch_when_the_model_does_not_convert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def cannot(*_: object, **__: object) -> None:
        raise RuntimeError("this model has a layer the converter does not know")

    monkeypatch.setattr(embedding, "gpu_likely", lambda: False)
    monkeypatch.setattr(embedding, "convert_to_openvino", cannot)
    auto = SentenceTransformerEmbedder(cache=tmp_path)
    with caplog.at_level(logging.WARNING, logger="core.embedding"):
        assert auto.embed_query("still answers").shape == (384,)
    assert auto.backend_in_use == "torch"
    assert "converter does not know" in caplog.text
    chosen = SentenceTransformerEmbedder(backend="openvino", cache=tmp_path)
    with pytest.raises(ModelError, match="converter does not know"):
        _ = chosen.model

    def never(*_: object, **__: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(embedding, "convert_to_openvino", never)
    later = SentenceTransformerEmbedder(cache=tmp_path)  # the next start: straight to torch
    assert later.needs_torch
    assert later.embed_query("answers at once").shape == (384,)
    assert later.backend_in_use == "torch"


@pytest.mark.model
def test_a_conversion_reports_nothing_to_anyone(tmp_path: Path) -> None:
    """openvino's converter sends usage events to Google Analytics when the
    openvino_telemetry package can be imported; Trove's conversion gets its stub.  Checked
    in a fresh process, running what the converter process runs."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.embedding import bundled_model_path\n"
        "from core.openvino_runtime import convert_here\n"
        f"convert_here(str(bundled_model_path()), Path({str(tmp_path / 'models' / 'm')!r}))\n"
        "from openvino.tools.ovc import convert_impl\n"
        "print(sys.modules.get('openvino_telemetry'), convert_impl.tm.__name__)\n"
    )
    done = fresh_python(script)
    assert done.stdout.split()[-2:] == ["None", "openvino.tools.ovc.telemetry_stub"]


def test_a_conversion_that_fails_says_why_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as failed:
        convert_to_openvino(str(tmp_path / "no-model-here"), tmp_path / "models" / "x")
    assert "\n" not in str(failed.value) and str(failed.value)
    assert not (tmp_path / "models" / "x").exists()
