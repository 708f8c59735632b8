"""Errors of the ways in; each maps to one HTTP status in the webhook app."""

from __future__ import annotations

from ingest_service.errors import IngestError


class EventFormatError(IngestError):
    """The request body is not an event in any format we accept (400)."""


class EventAuthError(IngestError):
    """The request carries no valid webhook token (401)."""


class SnsSignatureError(IngestError):
    """An SNS message whose signature, certificate, topic or age does not check out (403)."""
