"""The SNS HTTP(S) delivery envelope; its `Message` is only trusted once the signature checks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from handlers.events.wire import WireModel, validated


class SnsEnvelope(WireModel):
    type: Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] = Field(
        alias="Type"
    )
    message_id: str = Field(alias="MessageId")
    topic_arn: str = Field(alias="TopicArn")
    message: str = Field(alias="Message")
    timestamp: str = Field(alias="Timestamp")
    signature_version: str = Field(alias="SignatureVersion")
    signature: str = Field(alias="Signature")
    signing_cert_url: str = Field(alias="SigningCertURL")
    subject: str | None = Field(default=None, alias="Subject")
    subscribe_url: str | None = Field(default=None, alias="SubscribeURL")
    token: str | None = Field(default=None, alias="Token")

    @model_validator(mode="after")
    def _confirmation_fields(self) -> SnsEnvelope:
        if self.type != "Notification" and not (self.subscribe_url and self.token):
            raise ValueError(f"{self.type} needs SubscribeURL and Token")
        return self


def parse_sns(doc: dict[str, Any]) -> SnsEnvelope:
    return validated(SnsEnvelope, doc, "SNS message")
