"""`ingest-service aws setup`: wire a bucket's drop zone to the webhook, idempotently.

Via SNS: a topic S3 may publish to, the bucket's notification for the drop zone (one
configuration per footage suffix and letter case, since S3 suffix filters are
case-sensitive) and an HTTPS subscription with the token as basic-auth password. Via
EventBridge: the bucket's EventBridge switch, a rule for the drop zone, and an API
destination that posts with the bearer token. Running it again changes nothing that is
already right, and only ever replaces configurations it created (ids starting "ingest-").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from handlers.filtering import FOOTAGE_EXTENSIONS
from ingest_service.jobs.layout import BucketLayout

OUR_ID = "ingest-"


@dataclass
class SetupReport:
    actions: list[str] = field(default_factory=list)
    topic_arn: str | None = None
    rule_arn: str | None = None


def suffix_filters() -> list[str]:
    """Every footage suffix in lower and upper case, and sidecars (`.json`, `.JSON`)."""
    suffixes = sorted({s for ext in FOOTAGE_EXTENSIONS for s in (ext, ext.upper())})
    return [*suffixes, ".json", ".JSON"]


def _with_basic_auth(url: str, token: str) -> str:
    parts = urlsplit(url)
    netloc = f"ingest:{quote(token, safe='')}@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def setup_sns(
    s3: Any,
    sns: Any,
    *,
    bucket: str,
    prefix: str,
    webhook_url: str,
    token: str,
    topic_name: str = "ingest-events",
) -> SetupReport:
    if urlsplit(webhook_url).scheme != "https":
        raise ValueError("SNS only delivers to https endpoints with a valid certificate")
    report = SetupReport()
    topic = sns.create_topic(Name=topic_name)["TopicArn"]  # returns the existing one
    report.topic_arn = topic
    account = topic.split(":")[4]
    policy = _allowing(
        {
            "Sid": "S3PublishesDropZoneEvents",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "SNS:Publish",
            "Resource": topic,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
                "StringEquals": {"aws:SourceAccount": account},
            },
        }
    )
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy)
    )
    report.actions.append(f"topic {topic} allows s3://{bucket} to publish")
    endpoint = _with_basic_auth(webhook_url, token)
    existing = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    if any(s["Endpoint"] == endpoint for s in existing):
        report.actions.append("webhook already subscribed")
    else:
        sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=endpoint)
        report.actions.append("webhook subscribed (the service confirms it on first delivery)")
    config = _without_ours(s3.get_bucket_notification_configuration(Bucket=bucket))
    config.setdefault("TopicConfigurations", []).extend(
        {
            "Id": f"{OUR_ID}{suffix.lstrip('.')}",
            "TopicArn": topic,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {
                "Key": {
                    "FilterRules": [
                        {"Name": "prefix", "Value": prefix},
                        {"Name": "suffix", "Value": suffix},
                    ]
                }
            },
        }
        for suffix in suffix_filters()
    )
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    report.actions.append(f"s3://{bucket}/{prefix} notifies {len(suffix_filters())} suffixes")
    return report


def setup_eventbridge(
    s3: Any,
    events: Any,
    iam: Any,
    *,
    bucket: str,
    prefix: str,
    webhook_url: str,
    token: str,
    name: str = "ingest-events",
) -> SetupReport:
    report = SetupReport()
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    if "EventBridgeConfiguration" not in config:
        config["EventBridgeConfiguration"] = {}
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
        report.actions.append(f"s3://{bucket} sends events to EventBridge")
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }
    report.rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")[
        "RuleArn"
    ]
    connection = _upsert_connection(events, name, token)
    destination = _upsert_destination(events, name, connection, webhook_url)
    role = _invoke_role(iam, name, destination)
    events.put_targets(Rule=name, Targets=[{"Id": "webhook", "Arn": destination, "RoleArn": role}])
    report.actions.append(f"rule {name} posts Object Created under {prefix} to {webhook_url}")
    return report


def setup_cors(s3: Any, *, bucket: str, origins: list[str]) -> list[str]:
    """Let the dashboard's pages (at `origins`) PUT upload parts straight to the bucket
    and read back each part's ETag. Other CORS rules on the bucket are kept."""
    try:
        rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchCORSConfiguration":
            raise
        rules = []
    rules = [r for r in rules if r.get("ID") != "ingest-dashboard-uploads"]
    rules.append(
        {
            "ID": "ingest-dashboard-uploads",
            "AllowedOrigins": origins,
            "AllowedMethods": ["PUT", "GET"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3600,
        }
    )
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    return [f"CORS: {', '.join(origins)} may upload parts to {bucket} and read their ETags"]


def least_privilege_policy(
    bucket: str, layout: BucketLayout, *, browser_uploads: bool = False
) -> dict[str, Any]:
    """What the service's credentials need: read the drop zone, write results and state,
    and no way to delete an incoming plate. With `browser_uploads` the dashboard's
    presigned uploads are signed with these credentials, so they may also create objects
    in the drop zone; the service completes every upload with If-None-Match, so an
    existing plate is still never replaced."""
    arn = f"arn:aws:s3:::{bucket}"
    incoming, published, state = layout.incoming, layout.published, layout.state
    uploads = (
        [
            {
                "Sid": "BrowserUploadsIntoTheDropZone",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": f"{arn}/{incoming}*",
            }
        ]
        if browser_uploads
        else []
    )
    return _allowing(
        {
            "Sid": "ListWatchedPrefixes",
            "Action": "s3:ListBucket",
            "Resource": arn,
            "Condition": {
                "StringLike": {"s3:prefix": [f"{incoming}*", f"{published}*", f"{state}*"]}
            },
        },
        {
            "Sid": "ReadPlates",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{arn}/{incoming}*",
        },
        {
            "Sid": "WriteResultsAndState",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            "Resource": [f"{arn}/{published}*", f"{arn}/{state}*"],
        },
        *uploads,
    )


def _allowing(*statements: dict[str, Any]) -> dict[str, Any]:
    """An IAM policy document whose statements each allow what they name."""
    return {
        "Version": "2012-10-17",  # the policy language's version, not a date to update
        "Statement": [{"Effect": "Allow", **statement} for statement in statements],
    }


def _without_ours(config: dict[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in config.items() if k != "ResponseMetadata"}
    for kind in ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations"):
        kept = [c for c in config.get(kind, []) if not c.get("Id", "").startswith(OUR_ID)]
        if kept:
            config[kind] = kept
        else:
            config.pop(kind, None)
    return config


def _upsert_connection(events: Any, name: str, token: str) -> str:
    auth = {
        "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": f"Bearer {token}"}
    }
    try:
        return str(events.describe_connection(Name=name)["ConnectionArn"])
    except events.exceptions.ResourceNotFoundException:
        return str(
            events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters=auth)[
                "ConnectionArn"
            ]
        )


def _upsert_destination(events: Any, name: str, connection: str, url: str) -> str:
    try:
        return str(events.describe_api_destination(Name=name)["ApiDestinationArn"])
    except events.exceptions.ResourceNotFoundException:
        return str(
            events.create_api_destination(
                Name=name,
                ConnectionArn=connection,
                InvocationEndpoint=url,
                HttpMethod="POST",
            )["ApiDestinationArn"]
        )


def _invoke_role(iam: Any, name: str, destination: str) -> str:
    trust = _allowing(
        {"Action": "sts:AssumeRole", "Principal": {"Service": "events.amazonaws.com"}}
    )
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
    invoke = _allowing({"Action": "events:InvokeApiDestination", "Resource": destination})
    iam.put_role_policy(
        RoleName=name, PolicyName="invoke-webhook", PolicyDocument=json.dumps(invoke)
    )
    return str(arn)
