"""Writing mask sequences: `masks/<label>/mask.####.png`, 8-bit, 255 inside.

Every sequence covers the plate's whole frame range, as compositing tools expect: frames
where an instance is absent get an empty mask (a few hundred bytes) once its frames are
known.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field

import cv2
import numpy as np

from ingest_service.jobs.naming import safe_segment
from ingest_service.jobs.results import OutputFile, SequenceInfo
from ingest_service.publish.outputs import put_output, sequence_info
from storage import ObjectStore


def label_for(prompt: str, taken: set[str]) -> str:
    """A folder name for a prompt ("red car" -> "red_car"), unique among `taken`."""
    base = safe_segment(prompt.replace(" ", "_")).lower() or "prompt"
    label, n = base, 2
    while label in taken:
        label, n = f"{base}_{n}", n + 1
    taken.add(label)
    return label


def encode(mask: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    assert ok
    return buffer.tobytes()


@dataclass(eq=False)
class MaskWriter:
    """Publishes a plate's masks under `prefix`, a folder per label, and tracks what it wrote."""

    store: ObjectStore
    prefix: str
    _: KW_ONLY
    first: int
    count: int
    width: int
    height: int
    files: list[OutputFile] = field(default_factory=list, init=False)
    written: dict[str, set[int]] = field(default_factory=dict, init=False)
    area: dict[str, float] = field(default_factory=dict, init=False)

    @property
    def pad(self) -> int:
        return max(4, len(str(self.first + self.count - 1)))

    def put(self, folder: str, index: int, mask: np.ndarray) -> None:
        self.put_encoded(folder, index, encode(mask))
        self.area[folder] = self.area.get(folder, 0.0) + float(mask.mean())

    def put_encoded(self, folder: str, index: int, data: bytes) -> None:
        """An already encoded mask (one a worker wrote), published under `folder`."""
        number = self.first + index
        key = f"{self.prefix}{folder}/mask.{number:0{self.pad}d}.png"
        self.files.append(
            put_output(self.store, key, data, media_type="image/png", role="mask", frame=number)
        )
        self.written.setdefault(folder, set()).add(index)

    def absorb(
        self, files: list[OutputFile], written: dict[str, list[int]], area: dict[str, float]
    ) -> None:
        """What another writer (a chunk's, on another worker) wrote."""
        self.files.extend(files)
        for folder, indices in written.items():
            self.written.setdefault(folder, set()).update(indices)
        for folder, value in area.items():
            self.area[folder] = self.area.get(folder, 0.0) + value

    def complete(self, folder: str) -> SequenceInfo:
        """Fill the frames `folder` has no mask for with empty ones; its sequence."""
        empty = np.zeros((self.height, self.width), bool)
        done = self.written.setdefault(folder, set())
        for index in range(self.count):
            if index not in done:
                self.put(folder, index, empty)
        return sequence_info(
            folder,
            "mask",
            "png",
            prefix=f"{self.prefix}{folder}/",
            pad=self.pad,
            first=self.first,
            count=self.count,
            media_type="image/png",
            width=self.width,
            height=self.height,
            bit_depth=8,
            channels="Y",
            transfer="linear",
        )

    def coverage(self, folder: str) -> float:
        return round(self.area.get(folder, 0.0) / max(self.count, 1), 5)
