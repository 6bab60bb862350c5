"""What the hub may change on a model package: its approval status and only the lifecycle stages
its approval policy names.

The condition keys, as AWS names them:

- `sagemaker:ModelApprovalStatus` (String): the approval status a CreateModelPackage or
  UpdateModelPackage request sets (Service Authorization Reference, "Actions, resources, and
  condition keys for Amazon SageMaker AI").
- `sagemaker:ModelLifeCycle:stage` and `sagemaker:ModelLifeCycle:stageStatus` (String): the
  `ModelLifeCycle` Stage and StageStatus a CreateModelPackage or UpdateModelPackage request sets.
  The SageMaker Developer Guide, "Set up Staging Construct Examples", conditions both actions on
  them with StringEquals. The Service Authorization Reference lists the two keys for exactly these
  two actions, as keys of the request's model life cycle object, e.g. "Filters access by
  stageStatus field in the model life cycle object associated with the model-package resource in
  the request" (read through its generated mirror, udondan/iam-floyd
  `lib/generated/policy-statements/sagemaker.ts`, where they appear from March 2025), beside the
  resource keys `sagemaker:CurrentModelLifeCycleStage` and
  `sagemaker:CurrentModelLifeCycleStageStatus` (the package's stage before the call), which this
  project does not use.

A request without `ModelLifeCycle` has neither key. StringEquals on a missing key does not hold and
`Null: true` holds only when the key is missing (IAM User Guide, "IAM JSON policy elements:
Condition operators", "Condition operator to check existence of condition keys"). The two keys are
separate, so one statement listing every stage and every status would let any configured stage go
with any configured status (Staging/Approved from Production/Approved and Staging/PendingApproval):
each configured (stage, status) pair gets a statement of its own, and statements are alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam

from governance_config import LifecycleStage

# UpdateModelPackage's values of sagemaker:ModelApprovalStatus (API reference, UpdateModelPackage).
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
APPROVAL_STATUS_KEY = "sagemaker:ModelApprovalStatus"
STAGE_KEY = "sagemaker:ModelLifeCycle:stage"
STAGE_STATUS_KEY = "sagemaker:ModelLifeCycle:stageStatus"


def package_update_statements(packages: str, stages: Sequence[LifecycleStage]) -> list[iam.PolicyStatement]:
    """UpdateModelPackage on `packages`, only with an approval status: without a lifecycle stage,
    or with exactly one of `stages` (stage and status together). No `stages`: no stage at all."""
    statuses = {APPROVAL_STATUS_KEY: list(APPROVAL_STATUSES)}
    without_stage = iam.PolicyStatement(
        actions=["sagemaker:UpdateModelPackage"],
        resources=[packages],
        conditions={"StringEquals": statuses, "Null": {STAGE_KEY: "true", STAGE_STATUS_KEY: "true"}},
    )
    with_stage = [
        iam.PolicyStatement(
            actions=["sagemaker:UpdateModelPackage"],
            resources=[packages],
            conditions={"StringEquals": {**statuses, STAGE_KEY: stage.stage, STAGE_STATUS_KEY: stage.stage_status}},
        )
        for stage in dict.fromkeys(stages)
    ]
    return [without_stage, *with_stage]
