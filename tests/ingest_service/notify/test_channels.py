"""Notifications reach a real HTTP receiver signed, survive its hiccups, and reach SNS."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws

from ingest_service.jobs.record import ErrorInfo
from ingest_service.jobs.states import JobState
from ingest_service.notify.channels import LogChannel, SnsChannel, WebhookChannel
from ingest_service.notify.message import Notification
from ingest_service.notify.signing import verify
from tests.http_receiver import Receiver

KEY = b"test-signing-key"


def _note(event: str = "job.published") -> Notification:
    failed = event == "job.failed"
    return Notification(
        event=event,  # type: ignore[arg-type]
        job_id="sh0040-0123456789abcdef",
        state=JobState.FAILED if failed else JobState.PUBLISHED,
        attempt=1,
        will_retry=False,
        bucket="studio-plates",
        source_key="incoming/sh0040.mov",
        source_etag="abc",
        shot="sh0040",
        version="v001",
        manifest_key=None if failed else "published/sh0040/v001/manifest.json",
        failure_key="published/sh0040/v001/failure.json" if failed else None,
        error=ErrorInfo(type="X", message="boom", retryable=False) if failed else None,
    )


def test_webhook_body_is_signed_and_verifiable(receiver: Receiver) -> None:
    delivery = WebhookChannel(receiver.url, signing_key=KEY).send(_note())
    assert delivery.ok and delivery.status == 200 and delivery.attempts == 1
    [(headers, body)] = receiver.requests
    assert verify(KEY, body, headers)
    assert not verify(b"wrong-key", body, headers)
    assert not verify(KEY, body.replace(b"v001", b"v002"), headers)
    assert json.loads(body)["manifest_key"] == "published/sh0040/v001/manifest.json"
    assert headers["X-Ingest-Event"] == "job.published"
    assert delivery.target.endswith("/hooks/ingest")  # the query (a token) is not recorded


def test_webhook_retries_server_errors_with_backoff(receiver: Receiver) -> None:
    receiver.statuses = [503, 500, 200]
    sleeps: list[float] = []
    delivery = WebhookChannel(receiver.url, signing_key=KEY, sleep=sleeps.append).send(_note())
    assert delivery.ok and delivery.attempts == 3
    assert len(receiver.requests) == 3
    assert sleeps[1] > sleeps[0] * 0.9  # grows (with jitter)


def test_webhook_does_not_retry_a_client_error(receiver: Receiver) -> None:
    receiver.statuses = [401]
    delivery = WebhookChannel(receiver.url, signing_key=KEY, sleep=lambda s: None).send(_note())
    assert not delivery.ok and delivery.status == 401 and delivery.attempts == 1


def test_webhook_gives_up_on_an_unreachable_host() -> None:
    channel = WebhookChannel(
        "http://127.0.0.1:9/x", signing_key=KEY, attempts=3, sleep=lambda s: None
    )
    delivery = channel.send(_note("job.failed"))
    assert not delivery.ok and delivery.attempts == 3
    assert delivery.error and "ConnectError" in delivery.error


def test_sns_publish_reaches_a_subscribed_queue() -> None:
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="ingest-events")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="pipeline")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

        delivery = SnsChannel(topic, sns).send(_note("job.failed"))

        assert delivery.ok
        [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
        envelope = json.loads(message["Body"])
        assert envelope["MessageAttributes"]["event"]["Value"] == "job.failed"
        assert json.loads(envelope["Message"])["failure_key"].endswith("failure.json")


def test_sns_failure_is_reported_not_raised() -> None:
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        delivery = SnsChannel("arn:aws:sns:us-east-1:123456789012:missing", sns).send(_note())
    assert not delivery.ok and delivery.error


def test_log_channel_appends_json_lines(tmp_path: Path) -> None:
    channel = LogChannel(tmp_path / "deep" / "notifications.jsonl")
    channel.send(_note())
    channel.send(_note("job.failed"))
    lines = (tmp_path / "deep" / "notifications.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["job.published", "job.failed"]
