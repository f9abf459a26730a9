"""Pictures searched by what they show, with a CLIP model: the plumbing, with a tiny CLIP
built here (tests/tiny_clip.py).  Its weights are random, so these tests check that the
vectors stored, searched and compared are the model's own, not that it understands
pictures: no real CLIP weights can be downloaded on the build machine."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.app import Trove
from core.events import Notice
from core.extract.base import Category
from core.extract.image import ImageExtractor, thumbnail
from core.extract.registry import Registry
from core.picture_model import ClipModel
from core.settings import Settings
from tests.conftest import REPO, open_trove, run_index
from tests.fakes import ColourPictureModel, FakeEmbedder
from tests.tiny_clip import build


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="module")
def clip(tiny_clip: Path) -> ClipModel:
    return ClipModel(str(tiny_clip))


def _photos(folder: Path) -> dict[str, Path]:
    """Three photos without text (a red square, a blue disc, green stripes) and a note."""
    folder.mkdir(parents=True, exist_ok=True)
    drawings = {
        "IMG_0001.jpg": lambda d: d.rectangle((60, 40, 260, 200), fill=(220, 30, 30)),
        "IMG_0002.png": lambda d: d.ellipse((40, 20, 280, 220), fill=(30, 40, 220)),
        "IMG_0003.webp": lambda d: [
            d.rectangle((0, y, 320, y + 12), fill=(20, 180, 40)) for y in range(0, 240, 24)
        ],
    }
    paths = {}
    for name, draw in drawings.items():
        image = Image.new("RGB", (320, 240), (250, 250, 245))
        draw(ImageDraw.Draw(image))
        image.save(folder / name)
        paths[name] = folder / name
    (folder / "notes.txt").write_text("Shopping list: flour, eggs, butter and red apples.\n")
    paths["notes.txt"] = folder / "notes.txt"
    return paths


def _trove(folder: Path, **settings: object) -> Trove:
    trove = open_trove(FakeEmbedder(), ocr=False, **settings)
    trove.add_folder(folder)
    return trove


def _expected_vector(clip: ClipModel, path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return clip.embed_pictures([thumbnail(image)])[0]


def test_each_picture_gets_the_vector_the_model_gives_its_thumbnail(
    tmp_path: Path, tiny_clip: Path, clip: ClipModel
) -> None:
    photos = _photos(tmp_path / "photos")
    with _trove(tmp_path / "photos", picture_model=str(tiny_clip)) as trove:
        finished, _ = run_index(trove)
        assert finished.files_indexed == 4
        pictures = trove.store.pictures
        assert pictures.binding() == (clip.model_id, 16)
        ids = {Path(trove.store.file_path(f) or "").name: f for f in pictures.holders()}
        assert sorted(ids) == ["IMG_0001.jpg", "IMG_0002.png", "IMG_0003.webp"]
        status = trove.status()
        assert (status.picture_model, status.pictures) == (clip.model_id, 3)
        for name, file_id in ids.items():
            stored = pictures.vector(file_id)
            assert stored is not None
            np.testing.assert_allclose(stored, _expected_vector(clip, photos[name]), atol=1e-5)


def test_the_nearest_pictures_to_a_query_are_those_of_the_models_own_similarity(
    tmp_path: Path, tiny_clip: Path, clip: ClipModel
) -> None:
    photos = _photos(tmp_path / "photos")
    query = "a red square on a white wall"
    with _trove(tmp_path / "photos", picture_model=str(tiny_clip)) as trove:
        run_index(trove)
        text = clip.embed_text(query)
        cosines = {
            name: float(_expected_vector(clip, photos[name]) @ text)
            for name in ("IMG_0001.jpg", "IMG_0002.png", "IMG_0003.webp")
        }
        nearest = trove.store.pictures.nearest(text, 3)
        names = [Path(trove.store.file_path(f) or "").name for f, _ in nearest]
        assert names == sorted(cosines, key=lambda name: -cosines[name])
        for (_, cosine), name in zip(nearest, names, strict=True):
            assert cosine == pytest.approx(cosines[name], abs=1e-5)
        # The whole search runs through the model: every picture is among the results.
        shown = {Path(r.path).name for r in trove.search(query, limit=10, floor=False)}
        assert set(cosines) <= shown


def _colour_trove(folder: Path) -> Trove:
    settings = Settings(extract_workers=1, ocr=False, picture_model="test/colour-pictures")
    trove = Trove.open(settings=settings, embedder=FakeEmbedder())  # type: ignore[arg-type]
    trove.pictures = ColourPictureModel()
    trove.add_folder(folder)
    run_index(trove)
    return trove


def test_a_picture_that_shows_what_is_asked_joins_the_results_by_relevance(
    tmp_path: Path,
) -> None:
    _photos(tmp_path / "photos")
    with _colour_trove(tmp_path / "photos") as trove:
        results = trove.search("something red", limit=10)
        names = [Path(r.path).name for r in results]
        # The red square shows it (relevance 1); the note holds the word (less).
        assert names[0] == "IMG_0001.jpg", names
        assert results[0].relevance == 1.0
        assert results[0].location == "picture"
        assert "IMG_0001" in results[0].snippet  # its name and facts
        assert "IMG_0002.png" not in names and "IMG_0003.webp" not in names
        assert all(a.relevance >= b.relevance for a, b in itertools.pairwise(results))
        blue = [Path(r.path).name for r in trove.search("blue", limit=10)]
        assert blue == ["IMG_0002.png"]


def test_a_picture_found_weakly_by_its_text_moves_up_when_it_shows_the_query(
    tmp_path: Path,
) -> None:
    _photos(tmp_path / "photos")
    with _colour_trove(tmp_path / "photos") as trove:
        # "IMG_0003" is a word of the stripes' own passage: the text side finds it too.
        results = trove.search("green IMG_0003 flour", limit=10, floor=False)
        names = [Path(r.path).name for r in results]
        assert names.count("IMG_0003.webp") == 1
        assert names[0] == "IMG_0003.webp", [
            (n, r.relevance) for n, r in zip(names, results, strict=False)
        ]


def test_the_type_filter_applies_to_pictures_found_by_what_they_show(tmp_path: Path) -> None:
    _photos(tmp_path / "photos")
    with _colour_trove(tmp_path / "photos") as trove:
        assert [Path(r.path).name for r in trove.search("red", types=["text"])] == ["notes.txt"]
        assert [Path(r.path).name for r in trove.search("red", types=["png"])] == []
        assert [Path(r.path).name for r in trove.search("red", types=["jpg"])] == ["IMG_0001.jpg"]


def test_the_answer_given_while_the_model_loads_asks_nothing_of_the_picture_model(
    tmp_path: Path,
) -> None:
    _photos(tmp_path / "photos")
    with _colour_trove(tmp_path / "photos") as trove:
        model = trove.pictures
        assert isinstance(model, ColourPictureModel)
        before = model.texts
        trove.search("red apples", meaning=False)
        assert model.texts == before


def test_similar_to_a_photo_lists_the_photos_nearest_by_what_they_show(
    tmp_path: Path, tiny_clip: Path, clip: ClipModel
) -> None:
    photos = _photos(tmp_path / "photos")
    with _trove(tmp_path / "photos", picture_model=str(tiny_clip)) as trove:
        run_index(trove)
        mine = _expected_vector(clip, photos["IMG_0002.png"])
        others = {
            name: float(_expected_vector(clip, photos[name]) @ mine)
            for name in ("IMG_0001.jpg", "IMG_0003.webp")
        }
        results = trove.similar(photos["IMG_0002.png"], limit=5)
        names = [Path(r.path).name for r in results]
        assert names[:2] == sorted(others, key=lambda name: -others[name])
        assert "IMG_0002.png" not in names
        assert results[0].relevance == pytest.approx(max(0.0, max(others.values())), abs=1e-4)


def test_setting_a_picture_model_later_reads_the_pictures_again_and_nothing_else(
    tmp_path: Path, tiny_clip: Path
) -> None:
    _photos(tmp_path / "photos")
    with _trove(tmp_path / "photos") as trove:
        run_index(trove)
        assert trove.store.pictures.binding() is None
    settings = Settings(extract_workers=1, ocr=False, picture_model=str(tiny_clip))
    with Trove.open(settings=settings, embedder=FakeEmbedder()) as trove:  # type: ignore[arg-type]
        finished, _events = run_index(trove)
        assert finished.files_indexed == 3  # the three pictures; the note is unchanged
        assert len(trove.store.pictures.holders()) == 3
        finished, _ = run_index(trove)
        assert finished.files_indexed == 0


def test_without_the_setting_the_vectors_go_and_search_leaves_pictures_to_their_text(
    tmp_path: Path,
) -> None:
    _photos(tmp_path / "photos")
    with _colour_trove(tmp_path / "photos") as trove:
        assert len(trove.store.pictures.holders()) == 3
        assert next(Path(r.path).name for r in trove.search("red")) == "IMG_0001.jpg"
    settings = Settings(extract_workers=1, ocr=False)
    with Trove.open(settings=settings, embedder=FakeEmbedder()) as trove:  # type: ignore[arg-type]
        assert trove.pictures is None
        assert [Path(r.path).name for r in trove.search("red")] == ["notes.txt"]
        finished, _ = run_index(trove)
        assert finished.files_indexed == 0
        assert trove.store.pictures.binding() is None
        tables = trove.store.conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'picture_vec%'"
        ).fetchall()
        assert tables == []


def test_a_model_that_does_not_read_pictures_is_reported_and_indexing_goes_on(
    tmp_path: Path,
) -> None:
    from core.embedding import bundled_model_path

    _photos(tmp_path / "photos")
    with _trove(tmp_path / "photos", picture_model=str(bundled_model_path())) as trove:
        finished, events = run_index(trove)
        assert finished.files_indexed == 4
        notices = [e.message for e in events if isinstance(e, Notice)]
        assert any("does not read pictures" in n for n in notices), notices
        assert trove.store.pictures.binding() is None
        assert [Path(r.path).name for r in trove.search("IMG_0001")] == ["IMG_0001.jpg"]


def test_without_the_setting_nothing_of_a_picture_model_is_imported(tmp_path: Path) -> None:
    _photos(tmp_path / "photos")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.app import Trove\n"
        "from core.settings import Settings\n"
        "from tests.fakes import ColourPictureModel, FakeEmbedder\n"
        "trove = Trove.open(settings=Settings(extract_workers=1), embedder=FakeEmbedder())\n"
        f"trove.add_folder({str(tmp_path / 'photos')!r})\n"
        "list(trove.index())\n"
        "assert trove.search('IMG_0002', floor=False)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_thumbnail_is_upright_small_and_flattened_on_white(tmp_path: Path) -> None:
    wide = Image.new("RGBA", (3000, 1000), (0, 0, 0, 0))
    ImageDraw.Draw(wide).rectangle((0, 0, 1499, 999), fill=(255, 0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: shown rotated by 90 degrees
    wide.save(tmp_path / "wide.png", exif=exif)
    document = ImageExtractor(None, thumbnails=True).extract(tmp_path / "wide.png")
    small = document.thumbnail
    assert small is not None
    assert (small.width, small.height) == (336, 1008)  # upright, long side at 3 x 336
    picture = small.image()
    assert picture.getpixel((168, 10)) == (255, 0, 0)
    assert picture.getpixel((168, 1000)) == (255, 255, 255)  # transparent reads as white
    assert ImageExtractor(None).extract(tmp_path / "wide.png").thumbnail is None


def test_a_heic_photo_is_read_where_its_package_is_installed(tmp_path: Path) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(tmp_path / "IMG_7001.heic")
    assert Registry.default(ocr=False).kind_of(tmp_path / "IMG_7001.heic") == "image"
    with _trove(tmp_path) as trove:
        finished, _ = run_index(trove)
        assert finished.files_indexed == 1 and finished.files_failed == 0
        assert [Path(r.path).name for r in trove.search("IMG_7001")] == ["IMG_7001.heic"]


def test_without_its_package_a_heic_photo_is_unsupported_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pillow_heif" else real(name, *a),
    )
    (tmp_path / "IMG_7002.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    registry = Registry.default(ocr=False)
    from core.errors import ExtractionFailed

    with pytest.raises(ExtractionFailed) as caught:
        registry.extract(tmp_path / "IMG_7002.heic", 10**6)
    assert caught.value.category == Category.UNSUPPORTED
    assert "pillow-heif" in caught.value.reason


def test_the_self_tests_tiny_clip_is_the_one_this_script_builds(clip: ClipModel) -> None:
    shipped = ClipModel(str(REPO / "resources" / "selftest" / "tiny-clip"))
    for text in ("a red square", "IMG_0001"):
        np.testing.assert_allclose(shipped.embed_text(text), clip.embed_text(text), atol=1e-6)


def test_similar_to_a_photo_from_elsewhere_lists_the_photos_that_look_like_it(
    tmp_path: Path,
) -> None:
    _photos(tmp_path / "photos")
    elsewhere = tmp_path / "downloads" / "poster.jpg"
    elsewhere.parent.mkdir()
    Image.new("RGB", (200, 300), (200, 20, 30)).save(elsewhere)  # red all over
    with _colour_trove(tmp_path / "photos") as trove:
        results = trove.similar_to_file(elsewhere, limit=3)
        assert Path(results[0].path).name == "IMG_0001.jpg"
        assert results[0].relevance > 0.9
