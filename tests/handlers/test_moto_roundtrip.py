"""Real S3 → SQS notifications (as moto emits them) fed to the webhook app."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from fastapi.testclient import TestClient

from handlers.app import create_app
from ingest_service.services import Services
from storage import S3Store
from tests.conftest import make_settings
from tests.handlers.conftest import JSON, TOKEN, RecordingDispatcher


def test_s3_notifications_through_sqs_claim_each_upload_once(
    s3_store: S3Store, tmp_path: Path
) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="plates")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3_store.client.put_bucket_notification_configuration(
        Bucket=s3_store.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    services = Services.build(make_settings(tmp_path, webhook_token=TOKEN), store=s3_store)
    dispatcher = RecordingDispatcher()
    client = TestClient(create_app(services, dispatcher))

    s3_store.put("incoming/sq010/sh0040 plate+v1.mov", b"small plate")
    big = tmp_path / "big.mov"
    big.write_bytes(b"b" * (11 * 1024 * 1024))
    s3_store.multipart_threshold = s3_store.part_size = 5 * 1024 * 1024
    s3_store.upload("incoming/sq010/sh0050.mov", big)

    bodies = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    claimed = []
    for body in bodies:
        response = client.post("/events", content=body, headers=JSON)
        assert response.status_code == 200, response.text
        claimed += [item["key"] for item in response.json()["claimed"]]
    assert len(bodies) >= 2  # moto may send more than one event for a multipart upload
    assert sorted(claimed) == ["incoming/sq010/sh0040 plate+v1.mov", "incoming/sq010/sh0050.mov"]
    assert len(dispatcher.submitted) == 2
    raw_keys = [
        json.loads(b)["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b
    ]
    assert any("%2F" in key for key in raw_keys)  # moto encodes '/', and decoding still works
    assert any("s3:TestEvent" in b for b in bodies)  # sent when notifications are configured
