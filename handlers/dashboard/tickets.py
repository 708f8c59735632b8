"""An upload's ticket: the id the browser holds, signed over the key and the declared size.

The API's upload id is the store's, then the declared size, then an HMAC over both and
the key. A part, a completion or an abort is checked against what the upload was started
for with no state kept anywhere (S3 keeps nothing of ours we could read back before the
upload completes), and a made-up id or another upload's key is refused before anything is
written. The parts follow from the size: how many, how long each, how long its URL lives.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from handlers.dashboard.signing import UrlSigner, same
from storage.multipart import MAX_PARTS

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
MAX_SIZE = 5 * 1024**4  # S3's largest object
# A part URL lives as long as the parts before it take at this rate, plus a margin: an
# upload this slow or slower (4 Mbit/s) sees its late URLs expire. SigV4 allows a week.
SLOWEST_UPLOAD_BYTES_S = MiB // 2
URL_MARGIN_S = 15 * 60
URL_MAX_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Plan:
    """The parts an upload of `size` bytes is sent in."""

    size: int

    @property
    def part_size(self) -> int:
        """8 MiB, or larger in whole MiB to keep to S3's 10,000 parts."""
        return max(PART_SIZE, math.ceil(self.size / MAX_PARTS / MiB) * MiB)

    @property
    def count(self) -> int:
        return max(1, math.ceil(self.size / self.part_size))

    def part_length(self, number: int) -> int:
        """How many bytes part `number` (1-based) holds: the part size, but for the last."""
        if not 1 <= number <= self.count:
            raise ValueError(f"part {number} is not one of 1..{self.count}")
        return min(self.part_size, self.size - (number - 1) * self.part_size)

    def url_lifetime_s(self, number: int) -> int:
        """Long enough for the parts up to this one to be sent at the slowest rate we
        serve, and no longer."""
        sent = min(self.size, number * self.part_size)
        return min(URL_MAX_S, URL_MARGIN_S + math.ceil(sent / SLOWEST_UPLOAD_BYTES_S))


@dataclass(frozen=True)
class Ticket:
    upload_id: str  # the store's
    key: str
    plan: Plan


class Tickets:
    def __init__(self, signer: UrlSigner) -> None:
        self.signer = signer

    def _sig(self, upload_id: str, key: str, size: int) -> str:
        return self.signer.sign(f"upload\n{upload_id}\n{key}\n{size}")[:32]

    def issue(self, ticket: Ticket) -> str:
        size = ticket.plan.size
        return f"{ticket.upload_id}.{size}.{self._sig(ticket.upload_id, ticket.key, size)}"

    def check(self, api_id: str, key: str) -> Ticket | None:
        """The upload `api_id` names, if it was issued for `key`; else None."""
        declared = self.declared(api_id)
        if declared is None:
            return None
        upload_id, size = declared
        if not same(self._sig(upload_id, key, size), api_id.rsplit(".", 1)[1]):
            return None
        return Ticket(upload_id, key, Plan(size))

    @staticmethod
    def declared(api_id: str) -> tuple[str, int] | None:
        """The store's upload id and the declared size, unchecked: for a part URL, whose own
        signature already covers the id it names."""
        parts = api_id.rsplit(".", 2)
        # Digits only, and few of them: int() of thousands of digits is an error of its own.
        if len(parts) != 3 or not re.fullmatch(r"[0-9]{1,16}", parts[1]):
            return None
        size = int(parts[1])
        return (parts[0], size) if 1 <= size <= MAX_SIZE else None
