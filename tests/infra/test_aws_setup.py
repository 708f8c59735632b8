"""Wiring a bucket to the webhook against moto: idempotent, and it leaves others' config alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.aws_setup import (
    least_privilege_policy,
    setup_cors,
    setup_eventbridge,
    setup_sns,
    suffix_filters,
)
from infra.cli import main
from ingest_service.jobs.layout import BucketLayout

BUCKET = "studio-plates"
URL = "https://hooks.example.com/events"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {
            name: boto3.client(name, region_name="us-east-1")
            for name in ("s3", "sns", "sqs", "events", "iam")
        }
        clients["s3"].create_bucket(Bucket=BUCKET)
        yield clients


def test_suffixes_cover_both_cases_and_sidecars() -> None:
    suffixes = suffix_filters()
    assert {".mov", ".MOV", ".mxf", ".MXF", ".json", ".JSON"} <= set(suffixes)
    assert len(suffixes) == len(set(suffixes))


def test_sns_wiring_is_idempotent_and_keeps_other_configurations(aws: dict[str, Any]) -> None:
    s3, sns, sqs = aws["s3"], aws["sns"], aws["sqs"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="someone-elses")["QueueUrl"],
        AttributeNames=["QueueArn"],
    )["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "theirs", "QueueArn": queue_arn, "Events": ["s3:ObjectRemoved:*"]}
            ]
        },
    )
    for _ in range(2):
        report = setup_sns(
            s3,
            sns,
            bucket=BUCKET,
            prefix="incoming/",
            webhook_url=URL,
            token="t0ken/with:odd@chars",
        )
    assert report.actions[1] == "webhook already subscribed"
    config = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    ours = [c for c in config["TopicConfigurations"] if c["Id"].startswith("ingest-")]
    assert len(ours) == len(suffix_filters())
    rules = {r["Name"]: r["Value"] for r in ours[0]["Filter"]["Key"]["FilterRules"]}
    assert rules["prefix"] == "incoming/"
    assert [c["Id"] for c in config["QueueConfigurations"]] == ["theirs"]
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=report.topic_arn)["Subscriptions"]
    assert subscription["Protocol"] == "https"
    assert (
        subscription["Endpoint"]
        == "https://ingest:t0ken%2Fwith%3Aodd%40chars@hooks.example.com/events"
    )
    policy = json.loads(sns.get_topic_attributes(TopicArn=report.topic_arn)["Attributes"]["Policy"])
    [publish] = policy["Statement"]
    assert (publish["Effect"], publish["Action"]) == ("Allow", "SNS:Publish")
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{BUCKET}"


def test_sns_refuses_plain_http(aws: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="https"):
        setup_sns(
            aws["s3"],
            aws["sns"],
            bucket=BUCKET,
            prefix="incoming/",
            webhook_url="http://hooks.example.com/events",
            token="x",
        )


def test_eventbridge_wiring(aws: dict[str, Any]) -> None:
    s3, events, iam = aws["s3"], aws["events"], aws["iam"]
    sent: list[dict[str, Any]] = []
    # moto does not echo EventBridgeConfiguration back, so watch what is sent instead.
    s3.meta.events.register(
        "before-call.s3.PutBucketNotificationConfiguration",
        lambda params, **_: sent.append(params["body"]),
    )
    for _ in range(2):
        setup_eventbridge(
            s3,
            events,
            iam,
            bucket=BUCKET,
            prefix="incoming/",
            webhook_url=URL,
            token="secret-token",
        )
    assert sent
    assert all(b"EventBridgeConfiguration" in body for body in sent)
    rule = events.describe_rule(Name="ingest-events")
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": "incoming/"}]
    [target] = events.list_targets_by_rule(Rule="ingest-events")["Targets"]
    assert (
        target["Arn"] == events.describe_api_destination(Name="ingest-events")["ApiDestinationArn"]
    )
    role = iam.get_role(RoleName="ingest-events")["Role"]
    assert role["Arn"] == target["RoleArn"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "events.amazonaws.com"},
    }
    invoke = iam.get_role_policy(RoleName="ingest-events", PolicyName="invoke-webhook")
    [allowed] = invoke["PolicyDocument"]["Statement"]
    assert allowed["Effect"] == "Allow"
    assert allowed["Resource"] == target["Arn"]


def test_policy_never_lets_the_service_delete_plates() -> None:
    doc = least_privilege_policy(BUCKET, BucketLayout("drop/", "out/", ".state/"))
    deletes = [
        s
        for s in doc["Statement"]
        if "s3:DeleteObject" in s["Action"] or s["Action"] == "s3:DeleteObject"
    ]
    assert deletes
    for statement in deletes:
        assert all("drop/" not in r for r in statement["Resource"])
    assert {s["Effect"] for s in doc["Statement"]} == {"Allow"}
    read = next(s for s in doc["Statement"] if s["Sid"] == "ReadPlates")
    assert read["Resource"] == f"arn:aws:s3:::{BUCKET}/drop/*"
    listed = next(s for s in doc["Statement"] if s["Sid"] == "ListWatchedPrefixes")
    assert listed["Condition"]["StringLike"]["s3:prefix"] == ["drop/*", "out/*", ".state/*"]


def test_browser_uploads_add_puts_to_the_drop_zone_but_never_deletes() -> None:
    doc = least_privilege_policy(BUCKET, BucketLayout(), browser_uploads=True)
    uploads = next(s for s in doc["Statement"] if s["Sid"] == "BrowserUploadsIntoTheDropZone")
    assert uploads["Resource"] == f"arn:aws:s3:::{BUCKET}/incoming/*"
    assert "s3:DeleteObject" not in uploads["Action"]


def test_cors_lets_the_dashboard_put_parts_and_keeps_other_rules(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    other = {"ID": "theirs", "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [other]})
    for _ in range(2):  # idempotent
        setup_cors(s3, bucket=BUCKET, origins=["https://ingest.example.com"])
    rules = {r["ID"]: r for r in s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]}
    assert set(rules) == {"theirs", "ingest-dashboard-uploads"}
    ours = rules["ingest-dashboard-uploads"]
    assert ours["AllowedOrigins"] == ["https://ingest.example.com"]
    assert "PUT" in ours["AllowedMethods"] and ours["ExposeHeaders"] == ["ETag"]


def test_cli(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INGEST_INCOMING_PREFIX", "drop/")
    assert main(["aws", "policy", "--bucket", BUCKET]) == 0
    doc = json.loads(capsys.readouterr().out)
    read = next(s for s in doc["Statement"] if s["Sid"] == "ReadPlates")
    assert read["Resource"] == f"arn:aws:s3:::{BUCKET}/drop/*"
    with pytest.raises(SystemExit):  # printed, never sent: no region to name
        main(["aws", "policy", "--bucket", BUCKET, "--region", "us-east-1"])
    origin = "https://ingest.example.com"
    assert (
        main(["aws", "cors", "--bucket", BUCKET, "--origin", origin, "--region", "us-east-1"]) == 0
    )
    assert f"{origin} may upload parts to {BUCKET}" in capsys.readouterr().out
    monkeypatch.delenv("INGEST_WEBHOOK_TOKEN", raising=False)
    assert main(["aws", "setup", "--bucket", BUCKET, "--webhook-url", URL]) == 2
    assert "INGEST_WEBHOOK_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("INGEST_WEBHOOK_TOKEN", "a-long-enough-token")
    assert (
        main(["aws", "setup", "--bucket", BUCKET, "--webhook-url", URL, "--region", "us-east-1"])
        == 0
    )
    assert "webhook subscribed" in capsys.readouterr().out
