"""What an index run does for a picture model (core.picture_model): which pictures still
lack a vector, embedding the ones read, and emptying the vectors of a model no longer
set.  Without a picture model it only does the last, once."""

from __future__ import annotations

import numpy as np

from core.errors import ModelError
from core.extract.base import Document
from core.picture_model import PictureModel
from core.store import FileRow, Store


class PictureIndexing:
    def __init__(self, store: Store, model: PictureModel | None) -> None:
        self.store = store
        self.model = model
        # Why pictures are not embedded in this run, once it is known.
        self.problem: str | None = None
        self._holders: set[int] | None = None
        self._usable: bool | None = None

    def start(self) -> None:
        """At the start of a run: the vectors of another model, or of none now, go."""
        self._holders, self._usable, self.problem = None, None, None
        binding = self.store.pictures.binding()
        if binding is not None and (self.model is None or binding[0] != self.model.model_id):
            with self.store.transaction():
                self.store.pictures.forget()

    def wants(self, row: FileRow) -> bool:
        """Whether an indexed, unchanged picture must be read again for its vector (the
        picture model was set, or changed, after it was indexed)."""
        if self.model is None or row.kind != "image" or row.state != "indexed":
            return False
        if self._holders is None:
            self._holders = self.store.pictures.holders()
        return row.id not in self._holders and self.usable()

    def usable(self) -> bool:
        """Whether the model loads; if not, ``problem`` says why, and the run goes on
        without picture vectors (pictures are still searched by their text)."""
        if self._usable is None:
            try:
                self._usable = self.model is not None and self.model.dimension > 0
            except ModelError as error:
                self.problem = f"pictures are not searched by what they show: {error}"
                self._usable = False
        return self._usable

    def embed(self, document: Document) -> np.ndarray | None:
        """The vector of a picture just read, if a picture model is set."""
        if self.model is None or document.thumbnail is None or not self.usable():
            return None
        vectors = self.model.embed_pictures([document.thumbnail])
        return np.asarray(vectors[0], dtype=np.float32)

    def write(self, file_id: int, vector: np.ndarray) -> None:
        """Keep a picture's vector (inside the transaction that writes its file)."""
        assert self.model is not None
        self.store.pictures.bind(self.model.model_id, len(vector))
        self.store.pictures.write(file_id, vector)
