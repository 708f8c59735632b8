"""Plate-wide instance ids across overlapping chunks of a temporal model.

Each chunk is a fresh tracking session with its own ids. A chunk starts a few frames
before the previous one ended; on those shared frames each new id is matched to the
previous chunk's id whose masks it overlaps most (same prompt, mean IoU above a floor),
so an instance keeps one id, and one mask sequence, across the seam.
"""

from __future__ import annotations

import numpy as np

MIN_IOU = 0.3


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


class Stitcher:
    def __init__(self) -> None:
        self.next_id = 1
        self.mapping: dict[int, int] = {}  # this chunk's session id -> plate-wide id

    def new_chunk(
        self,
        previous: dict[int, dict[int, np.ndarray]],
        current: dict[int, dict[int, np.ndarray]],
        prompts: dict[int, str],
        previous_prompts: dict[int, str],
    ) -> None:
        """Map the new session's ids, given both chunks' masks on the shared frames:
        `previous` is {frame: {plate-wide id: mask}}, `current` {frame: {session id: mask}}."""
        scores: list[tuple[float, int, int]] = []
        new_ids = {i for masks in current.values() for i in masks}
        old_ids = {i for masks in previous.values() for i in masks}
        for new in new_ids:
            for old in old_ids:
                if prompts.get(new) != previous_prompts.get(old):
                    continue
                frames = [f for f in current if new in current[f] or old in previous.get(f, {})]
                values = [
                    iou(current[f][new], previous[f][old])
                    if new in current[f] and old in previous.get(f, {})
                    else 0.0
                    for f in frames
                ]
                if values:
                    scores.append((float(np.mean(values)), new, old))
        self.mapping = {}
        used: set[int] = set()
        for score, new, old in sorted(scores, reverse=True):
            if score < MIN_IOU or new in self.mapping or old in used:
                continue
            self.mapping[new] = old
            used.add(old)

    def plate_id(self, session_id: int) -> int:
        if session_id not in self.mapping:
            self.mapping[session_id] = self.next_id
            self.next_id += 1
        plate_id = self.mapping[session_id]
        self.next_id = max(self.next_id, plate_id + 1)
        return plate_id
