"""One count of files over a run of watcher passes.

A run is the passes that follow one another without a rest: the passes of one turn of
the loop (one per reason), or a pass cut by a pause and the pass after resume.  Each pass
counts its own files from zero; the run adds what its earlier passes did, so progress
reads "126 of 277" after a resume, not "0 of 151".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.events import Progress, ScanDone


@dataclass(slots=True)
class RunCount:
    """Files done over the passes of one run, so that their progress is one count."""

    done: int = 0  # by the run's earlier passes
    in_pass: int = 0  # by the pass under way

    def planned(self, scan: ScanDone) -> Progress:
        """The count as a pass starts embedding: what is left joins the total."""
        return Progress(self.done, self.done + scan.to_index, 0, 0.0, None)

    def counted(self, progress: Progress) -> Progress:
        self.in_pass = progress.files_done
        return replace(
            progress,
            files_done=self.done + progress.files_done,
            files_total=self.done + progress.files_total,
        )

    def pass_ended(self) -> None:
        self.done, self.in_pass = self.done + self.in_pass, 0

    def rest(self) -> None:
        """Nothing to index this turn: the next pass starts a new count."""
        self.done = self.in_pass = 0
