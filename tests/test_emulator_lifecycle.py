"""The model package lifecycle stage (ModelLifeCycle) as AWS documents it: stored and returned,
validated, a condition key of CreateModelPackage and UpdateModelPackage, carried by the model
package state change event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.accounts import session_for
from tests.conftest import load_event
from tests.test_emulator import HUB, INFERENCE, capture_default_bus, drain, error_code
from tests.test_emulator_permissions import TRUST_HUB_ROOT, allow, denied, make_role

DEVELOPMENT = {"Stage": "Development", "StageStatus": "Approved", "StageDescription": "first fit"}
PRODUCTION = {"Stage": "Production", "StageStatus": "Approved"}


def new_package(sagemaker: Any, **extra: Any) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    arn: str = sagemaker.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=INFERENCE, **extra)[
        "ModelPackageArn"
    ]
    return arn


def test_the_stage_is_kept_listed_and_replaced_whole(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    arn = new_package(sagemaker, ModelLifeCycle=DEVELOPMENT, ModelApprovalStatus="PendingManualApproval")
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == DEVELOPMENT
    (summary,) = sagemaker.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert summary["ModelLifeCycle"] == DEVELOPMENT  # ModelPackageSummary has it (botocore)
    # An update that sets no stage leaves it; one that sets a stage replaces the structure.
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == DEVELOPMENT
    sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=PRODUCTION)
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert (described["ModelLifeCycle"], described["ModelApprovalStatus"]) == (PRODUCTION, "Approved")


@pytest.mark.parametrize(
    ("life_cycle", "message"),
    [
        ({"Stage": "Pre_Production", "StageStatus": "Approved"}, "at 'modelLifeCycle.stage'"),
        ({"Stage": "Production", "StageStatus": "Approved-"}, "at 'modelLifeCycle.stageStatus'"),
        ({"Stage": "P" * 64, "StageStatus": "Approved"}, "Member must have length between 1 and 63"),
        ({**PRODUCTION, "StageDescription": "x" * 1025}, "Member must have length between 0 and 1024"),
        ({**PRODUCTION, "StageDescription": "two\nlines"}, "at 'modelLifeCycle.stageDescription'"),
    ],
)
def test_a_stage_the_api_refuses_changes_nothing(aws: None, life_cycle: dict[str, str], message: str) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    arn = new_package(sagemaker, ModelLifeCycle=DEVELOPMENT)
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=life_cycle)
    assert error_code(caught) == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == DEVELOPMENT
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model_package(
            ModelPackageGroupName="churn", InferenceSpecification=INFERENCE, ModelLifeCycle=life_cycle
        )
    assert error_code(caught) == "ValidationException"
    assert len(sagemaker.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]) == 1


def test_the_stage_is_a_condition_key_of_create_and_update(admin_of: Any, role_of: Any) -> None:
    """The data scientist's policy of AWS's example (SageMaker Developer Guide, "Set up Staging
    Construct Examples"): create or update only at stage Development, status Approved."""
    hub = admin_of(HUB)
    arn = new_package(hub.client("sagemaker"), ModelLifeCycle=DEVELOPMENT)
    development_only = {
        "StringEquals": {
            "sagemaker:ModelLifeCycle:stage": "Development",
            "sagemaker:ModelLifeCycle:stageStatus": "Approved",
        }
    }
    make_role(
        hub,
        "data-scientist",
        TRUST_HUB_ROOT,
        allow(["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"], "*", Condition=development_only),
        allow("sagemaker:DescribeModelPackage", "*"),
    )
    scientist = role_of(HUB, "data-scientist").client("sagemaker")
    scientist.update_model_package(ModelPackageArn=arn, ModelLifeCycle={**DEVELOPMENT, "StageDescription": "refit"})
    scientist.create_model_package(
        ModelPackageGroupName="churn", InferenceSpecification=INFERENCE, ModelLifeCycle=DEVELOPMENT
    )
    refused: list[Callable[[], Any]] = [
        lambda: scientist.update_model_package(ModelPackageArn=arn, ModelLifeCycle=PRODUCTION),
        # No stage in the request: no key, and StringEquals on a missing key does not hold.
        lambda: scientist.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved"),
        lambda: scientist.create_model_package(
            ModelPackageGroupName="churn", InferenceSpecification=INFERENCE, ModelLifeCycle=PRODUCTION
        ),
    ]
    for call in refused:
        with pytest.raises(ClientError) as caught:
            call()
        assert "sagemaker:" in denied(caught)
    described = scientist.describe_model_package(ModelPackageName=arn)
    assert described["ModelLifeCycle"]["StageDescription"] == "refit"
    assert described["ModelLifeCycle"]["Stage"] == "Development"
    listed = hub.client("sagemaker").list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert len(listed) == 2


def test_a_request_without_a_stage_has_neither_key_for_null_and_if_exists(admin_of: Any, role_of: Any) -> None:
    """A request without ModelLifeCycle carries neither sagemaker:ModelLifeCycle key: `Null: true`
    holds and `StringEqualsIfExists` holds, on UpdateModelPackage and CreateModelPackage alike (IAM
    User Guide, "Condition operators": ...IfExists and Null on a missing key); a request with a
    stage carries both keys and is held to them."""
    hub = admin_of(HUB)
    arn = new_package(hub.client("sagemaker"), ModelLifeCycle=DEVELOPMENT)
    stage_keys = ("sagemaker:ModelLifeCycle:stage", "sagemaker:ModelLifeCycle:stageStatus")
    actions = ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]
    make_role(
        hub,
        "no-stage",
        TRUST_HUB_ROOT,
        allow(actions, "*", Condition={"Null": dict.fromkeys(stage_keys, "true")}),
        allow("sagemaker:DescribeModelPackage", "*"),
    )
    make_role(
        hub,
        "qa-if-any",
        TRUST_HUB_ROOT,
        allow(actions, "*", Condition={"StringEqualsIfExists": dict(zip(stage_keys, ("QA", "OnHold"), strict=True))}),
        allow("sagemaker:DescribeModelPackage", "*"),
    )
    for name in ("no-stage", "qa-if-any"):
        sagemaker = role_of(HUB, name).client("sagemaker")
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
        sagemaker.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=INFERENCE)
        with pytest.raises(ClientError) as caught:
            sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=PRODUCTION)
        assert "sagemaker:UpdateModelPackage" in denied(caught), name
        with pytest.raises(ClientError) as caught:
            sagemaker.create_model_package(
                ModelPackageGroupName="churn", InferenceSpecification=INFERENCE, ModelLifeCycle=PRODUCTION
            )
        assert "sagemaker:CreateModelPackage" in denied(caught), name
        assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == DEVELOPMENT
    qa = role_of(HUB, "qa-if-any").client("sagemaker")
    qa.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": "QA", "StageStatus": "OnHold"})
    assert qa.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"]["Stage"] == "QA"
    # The keys are separate: a policy of lists on each admits any stage with any listed status.
    listed = {"StringEquals": {stage_keys[0]: ["QA", "Production"], stage_keys[1]: ["OnHold", "Approved"]}}
    make_role(hub, "lists", TRUST_HUB_ROOT, allow("sagemaker:UpdateModelPackage", "*", Condition=listed))
    role_of(HUB, "lists").client("sagemaker").update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "QA", "StageStatus": "Approved"}
    )
    mixed = hub.client("sagemaker").describe_model_package(ModelPackageName=arn)["ModelLifeCycle"]
    assert (mixed["Stage"], mixed["StageStatus"]) == ("QA", "Approved")
    listed_packages = hub.client("sagemaker").list_model_packages(ModelPackageGroupName="churn")
    assert len(listed_packages["ModelPackageSummaryList"]) == 3  # the first and one per role


def test_a_deny_on_the_production_stage_holds_against_an_administrator(admin_of: Any, role_of: Any) -> None:
    """How a hub keeps Production for its workflow: deny everyone else that stage."""
    hub = admin_of(HUB)
    arn = new_package(hub.client("sagemaker"), ModelLifeCycle=DEVELOPMENT)
    deny_production = {
        "Effect": "Deny",
        "Action": "sagemaker:UpdateModelPackage",
        "Resource": "*",
        "Condition": {"StringEquals": {"sagemaker:ModelLifeCycle:stage": "Production"}},
    }
    make_role(hub, "developer", TRUST_HUB_ROOT, allow("sagemaker:*", "*"), deny_production)
    developer = role_of(HUB, "developer").client("sagemaker")
    with pytest.raises(ClientError) as caught:
        developer.update_model_package(ModelPackageArn=arn, ModelLifeCycle=PRODUCTION)
    denied(caught)
    developer.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": "QA", "StageStatus": "OnHold"})
    assert developer.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"]["Stage"] == "QA"


def test_the_state_change_event_carries_the_stage_as_awss_sample(aws: None) -> None:
    hub = session_for(HUB)
    sqs, url = capture_default_bus(hub)
    sagemaker = hub.client("sagemaker")
    arn = new_package(sagemaker)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=DEVELOPMENT)
    created, updated = drain(sqs, url)
    sample = load_event("model-package-state-change")["detail"]
    assert "ModelLifeCycle" not in created["detail"]
    assert updated["detail"]["UpdatedModelPackageFields"] == sample["UpdatedModelPackageFields"] == ["ModelLifeCycle"]
    assert updated["detail"]["ModelLifeCycle"] == DEVELOPMENT
    assert set(updated["detail"]["ModelLifeCycle"]) == set(sample["ModelLifeCycle"])
