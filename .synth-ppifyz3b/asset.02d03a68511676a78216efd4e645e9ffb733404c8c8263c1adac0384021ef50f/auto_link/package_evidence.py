"""What a new package version says about itself, read for its card: the evaluation reports its
ModelMetrics names (from S3, through the registering spoke's registry-reader role) and its lineage.

Nothing here stops a card: a report that cannot be read, is too large, is not JSON or maps to
nothing is left out with the reason, which the card and the hub's link record keep.

The package description is the event's detail: SageMaker's `Model Package State Change` event
carries the package as DescribeModelPackage returns it, ModelMetrics included (the sample event in
the SageMaker developer guide, tests/fixtures/aws-events/model-package-state-change.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from shared.metrics import (
    ReportRejected,
    evaluation_detail,
    evaluation_from_report,
    report_sources,
    split_s3_uri,
    training_details_of,
)

# A report larger than this is not read: model quality and Clarify reports are kilobytes, and a
# card holds 100,000 characters in all.
MAX_REPORT_BYTES = 1_048_576
IMPORTED_FROM = "imported_from_package"


@dataclass
class Imported:
    evaluation_details: list[dict[str, Any]] = field(default_factory=list)
    training_details: dict[str, Any] = field(default_factory=dict)
    custom_details: dict[str, str] = field(default_factory=dict)
    # What was read: where, uri, etag, version_id, bytes; for the approval's evidence.
    objects: list[dict[str, Any]] = field(default_factory=list)
    # ModelMetrics member.field -> why it is not in the card
    not_imported: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """As the hub read it: kept in the link record, copied into the approval's evidence."""
        return {
            "evaluation_details": self.evaluation_details,
            "training_details": self.training_details,
            "objects": self.objects,
            "not_imported": self.not_imported,
        }


def read_package_evidence(package: Mapping[str, Any], account: str, s3_of: Callable[[], Any]) -> Imported:
    """The package's reports and lineage. `s3_of` makes the S3 client of the registering account's
    reader role (or raises ClientError), called only when there is a report to read."""
    imported = Imported()
    imported.training_details, imported.custom_details = training_details_of(package)
    sources, imported.not_imported = report_sources(package.get("ModelMetrics"))
    if not sources:
        return imported
    try:
        s3 = s3_of()
    except LookupError as error:
        imported.not_imported.update({source.where: str(error) for source in sources})
        return imported
    except (ClientError, BotoCoreError) as error:
        reason = f"the registry-reader role of {account} was not assumed: {error}"
        imported.not_imported.update({source.where: reason for source in sources})
        return imported
    for source in sources:
        bucket, key = split_s3_uri(source.s3_uri)
        try:
            head = s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=account)
            size = int(head.get("ContentLength", 0))
            if size > MAX_REPORT_BYTES:
                imported.not_imported[source.where] = f"{size} bytes, more than the {MAX_REPORT_BYTES} read"
                continue
            # The object read is the one the HEAD sized, pinned by its ETag: a VersionId would need
            # s3:GetObjectVersion, which the reader role does not have (the current version's ID
            # comes back in the answer either way).
            got = s3.get_object(Bucket=bucket, Key=key, ExpectedBucketOwner=account, IfMatch=head["ETag"])
            body = got["Body"].read(MAX_REPORT_BYTES + 1)
        except ClientError as error:
            imported.not_imported[source.where] = f"{source.s3_uri} not read: {error}"
            continue
        except BotoCoreError as error:
            imported.not_imported[source.where] = f"{source.s3_uri} not read: {error}"
            continue
        try:
            mapped = evaluation_from_report(source.where, json.loads(body))
        except (ValueError, ReportRejected) as error:
            reason = str(error) if isinstance(error, ReportRejected) else f"not JSON ({error})"
            imported.not_imported[source.where] = reason
            continue
        etag, version_id = str(got.get("ETag", head.get("ETag", ""))), str(got.get("VersionId") or "")
        imported.evaluation_details.append(evaluation_detail(source, mapped, etag, version_id))
        imported.objects.append(
            {"where": source.where, "uri": source.s3_uri, "etag": etag, "version_id": version_id, "bytes": len(body)}
        )
    return imported


def reader_s3_client(sts: Any, *, partition: str, account: str, role_name: str, like: Any) -> Any:
    """An S3 client in `account`'s registry-reader role, in the region and config of `like` (S3's
    endpoint is boto3's own, or AWS_ENDPOINT_URL's where that is set)."""
    import boto3

    credentials = sts.assume_role(
        RoleArn=f"arn:{partition}:iam::{account}:role/{role_name}", RoleSessionName="model-card-auto-link"
    )["Credentials"]
    return boto3.client(
        "s3",
        region_name=like.meta.region_name,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=like.meta.config,
    )
