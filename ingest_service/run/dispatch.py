"""How a job gets run away from whoever noticed its plate.

The protocol lives apart from the implementations so that the webhook imports nothing
of the media stack (PyAV, OpenCV, COLMAP) just to hand a job id on.
"""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    def submit(self, job_id: str) -> bool:
        """Start the job soon; False if it is already queued or running here."""
        ...
