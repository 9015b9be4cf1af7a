"""Where a node keeps its files: job logs, temporary and delivery directories, deliverables.

All paths are computed here from an ID, never from caller input, so no request can reach a file
outside the work directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.logs = self.root / "logs"
        self.temp = self.root / "tmp"
        self.deliverables = self.root / "deliverables"
        self.engine_log = self.logs / "jqm.log"

    def create(self) -> None:
        for directory in (self.logs, self.temp, self.deliverables):
            directory.mkdir(parents=True, exist_ok=True)
        # Temporary and delivery directories of jobs that ran when the node process stopped: those
        # jobs end CRASHED at restart (journal) or are gone with the process (no journal).
        for leftover in self.temp.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)

    def stdout_path(self, job_id: int) -> str:
        return f"{self.logs}/{job_id}.stdout.log"

    def stderr_path(self, job_id: int) -> str:
        return f"{self.logs}/{job_id}.stderr.log"

    def temp_dir(self, job_id: int) -> str:
        return f"{self.temp}/{job_id}"

    def delivery_dir(self, job_id: int) -> str:
        return f"{self.temp}/{job_id}_delivery"

    def deliverable_dir(self, job_id: int) -> Path:
        return self.deliverables / str(job_id)

    def input_dir(self, job_id: int) -> Path:
        """Files given to the job through the client API before it starts (``POST ji/{id}/files/{name}``)."""
        return self.root / "inputs" / str(job_id)

    def prepare_job(self, job_id: int) -> None:
        os.mkdir(self.temp_dir(job_id))
        os.mkdir(self.delivery_dir(job_id))

    def purge_job(self, job_id: int) -> None:
        """Removes the job's temporary, delivery and input directories, and log files left empty."""
        for directory in (self.temp_dir(job_id), self.delivery_dir(job_id), self.input_dir(job_id)):
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                pass
            except OSError:
                shutil.rmtree(directory, ignore_errors=True)
        for log in (self.stdout_path(job_id), self.stderr_path(job_id)):
            with contextlib.suppress(FileNotFoundError):
                if os.stat(log).st_size == 0:
                    os.unlink(log)

    def collect_deliveries(self, job_id: int) -> list[tuple[Path, str]]:
        """Moves every file the job left in its delivery directory to permanent storage.

        Returns ``(stored path, path relative to the delivery directory)`` pairs; sub-directories
        are walked and their relative paths kept as the original names.
        """
        source = Path(self.delivery_dir(job_id))
        files = sorted(p for p in source.rglob("*") if p.is_file() and not p.is_symlink())
        if not files:
            return []
        target = self.deliverable_dir(job_id)
        target.mkdir(parents=True, exist_ok=True)
        collected = []
        for index, file in enumerate(files):
            stored = target / f"{index}_{file.name}"
            shutil.move(file, stored)
            collected.append((stored, str(file.relative_to(source))))
        return collected
