"""AWS names and ARN forms the constructs rely on, each in one place.

Sources: the AWS RAM managed-permission list for SageMaker model cards, the SageMaker EventBridge
guide ("Automating Amazon SageMaker with Amazon EventBridge"), and the Service Authorization
Reference for SageMaker and KMS.
"""

from __future__ import annotations

MODEL_CARD_RESOURCE_TYPE = "sagemaker:ModelCard"
EDIT_PERMISSION_NAME = "AWSRAMPermissionSageMakerModelCards"
EXPORT_PERMISSION_NAME = "AWSRAMPermissionSageMakerModelCardsAllowExport"

SAGEMAKER_SOURCE = "aws.sagemaker"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
MODEL_CARD_STATE_CHANGE = "SageMaker Model Card State Change"
# EventBridge events reference, "Amazon SageMaker AI events": SageMaker sends it directly to
# EventBridge. AWS publishes no sample of its detail.
MODEL_CARD_EXPORT_JOB_STATE_CHANGE = "SageMaker Model Card Export Job State Change"

READ_ACTIONS = ("sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions")
EDIT_ACTIONS = ("sagemaker:UpdateModelCard",)
EXPORT_CARD_ACTIONS = ("sagemaker:CreateModelCardExportJob",)
EXPORT_JOB_ACTIONS = ("sagemaker:DescribeModelCardExportJob",)

# SageMaker sets this encryption context on every KMS call it makes for a model card.
CARD_ENCRYPTION_CONTEXT_KEY = "kms:EncryptionContext:aws:sagemaker:model-card-arn"
S3_ENCRYPTION_CONTEXT_KEY = "kms:EncryptionContext:aws:s3:arn"


def aws_managed_permission_arn(partition: str, name: str) -> str:
    """Every AWS-managed RAM permission has this ARN form: no region, account `aws`."""
    return f"arn:{partition}:ram::aws:permission/{name}"


def model_card_arn(partition: str, region: str, account: str, name: str = "*") -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:model-card/{name}"


def model_card_export_job_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:model-card/*/export-job/*"


def via_services(region: str, *services: str) -> list[str]:
    return [f"{service}.{region}.amazonaws.com" for service in services]


def ou_arn(partition: str, management_account: str, org_id: str, ou_id: str) -> str:
    """RAM names an OU by this ARN, which lives in the organization's management account."""
    return f"arn:{partition}:organizations::{management_account}:ou/{org_id}/{ou_id}"


def organization_arn(partition: str, management_account: str, org_id: str) -> str:
    """RAM names a whole organization by this ARN, in the organization's management account."""
    return f"arn:{partition}:organizations::{management_account}:organization/{org_id}"


def ou_principal_path(org_id: str, ou_id: str) -> str:
    """An `aws:PrincipalOrgPaths` pattern for every account in the OU and its child OUs."""
    return f"{org_id}/*/{ou_id}/*"
