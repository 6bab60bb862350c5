"""SageMaker Search as AWS answers it for model cards and training jobs, the two the SageMaker
Python SDK searches when it loads a card: botocore's shapes, the caller's own account only, and
`sagemaker:Search` authorized on "*" (each test names its source).

Called as product code calls AWS, with permission evaluation on (the `aws` fixture).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.accounts import session_for
from tests.test_emulator_contracts import EDIT, HUB, SPOKE, accept_invitations, error_code, shape_members
from tests.test_emulator_permissions import allow, denied, make_role

PACKAGE = f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/customer-churn/1"
PACKAGE_CARD = {
    "model_overview": {"model_owner": "churn-team"},
    "intended_uses": {"risk_rating": "Low"},
    "model_package_details": {"model_package_arn": PACKAGE, "model_package_group_name": "customer-churn"},
}
SPOKE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"}, "Action": "sts:AssumeRole"}],
}


def by_group(group: str) -> dict[str, Any]:
    return {"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}]}


def search_user(role_of: Any, *statements: dict[str, Any], name: str = "searcher") -> Any:
    make_role(session_for(SPOKE), name, SPOKE_TRUST, *statements)
    return role_of(SPOKE, name).client("sagemaker")


def test_a_model_card_search_answers_botocore_search_records(aws: None) -> None:
    """botocore: ResourceType has ModelCard; SearchRecord's ModelCard member has the ModelCard shape."""
    sagemaker = session_for(SPOKE).client("sagemaker")
    sagemaker.create_model_card(ModelCardName="churn-v1", Content=json.dumps(PACKAGE_CARD), ModelCardStatus="Draft")
    sagemaker.create_model_card(ModelCardName="other", Content="{}", ModelCardStatus="Draft")
    results = sagemaker.search(Resource="ModelCard", SearchExpression=by_group("customer-churn"))["Results"]
    assert [set(r) for r in results] == [{"ModelCard"}]
    card = results[0]["ModelCard"]
    assert set(card) <= shape_members("sagemaker", "ModelCard")
    assert (card["ModelCardName"], card["ModelCardVersion"], card["ModelCardStatus"]) == ("churn-v1", 1, "Draft")
    assert (card["ModelId"], card["RiskRating"], card["ModelPackageGroupName"]) == (PACKAGE, "Low", "customer-churn")
    assert json.loads(card["Content"]) == PACKAGE_CARD
    # The SDK finds a package's card by ModelId (sagemaker.model_card.ModelPackage).
    by_model = {"Filters": [{"Name": "ModelId", "Operator": "Equals", "Value": PACKAGE}]}
    assert [
        r["ModelCard"]["ModelCardName"]
        for r in sagemaker.search(Resource="ModelCard", SearchExpression=by_model)["Results"]
    ] == ["churn-v1"]


def test_search_sorts_by_last_modified_time_descending_by_default_and_pages(aws: None) -> None:
    """API reference, Search: SortBy defaults to LastModifiedTime, SortOrder to Descending; MaxResults 1-100."""
    sagemaker = session_for(SPOKE).client("sagemaker")
    for name in ("first", "second", "third"):
        sagemaker.create_model_card(ModelCardName=name, Content=json.dumps(PACKAGE_CARD), ModelCardStatus="Draft")
    sagemaker.update_model_card(ModelCardName="first", ModelCardStatus="PendingReview")
    names = [r["ModelCard"]["ModelCardName"] for r in sagemaker.search(Resource="ModelCard")["Results"]]
    assert names == ["first", "third", "second"]
    pages = sagemaker.get_paginator("search").paginate(
        Resource="ModelCard", SortBy="ModelCardName", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    assert [[r["ModelCard"]["ModelCardName"] for r in p["Results"]] for p in pages] == [["first", "second"], ["third"]]
    with pytest.raises(ClientError) as caught:
        sagemaker.search(Resource="ModelCard", MaxResults=101)
    assert error_code(caught) == "ValidationException"


def test_a_training_job_search_finds_the_job_by_its_model_artifacts(aws: None) -> None:
    """The SDK's call (sagemaker.model_card.TrainingDetails.call_search_training_job); botocore's TrainingJob shape."""
    spoke = session_for(SPOKE)
    sagemaker = spoke.client("sagemaker")
    sagemaker.create_training_job(
        TrainingJobName="churn-train",
        AlgorithmSpecification={
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
            "TrainingInputMode": "File",
        },
        RoleArn=f"arn:aws:iam::{SPOKE}:role/training",
        OutputDataConfig={"S3OutputPath": "s3://models/churn"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    artifacts = sagemaker.describe_training_job(TrainingJobName="churn-train")["ModelArtifacts"]["S3ModelArtifacts"]
    expression = {"Filters": [{"Name": "ModelArtifacts.S3ModelArtifacts", "Operator": "Equals", "Value": artifacts}]}
    [found] = sagemaker.search(Resource="TrainingJob", SearchExpression=expression)["Results"]
    assert set(found) == {"TrainingJob"}
    assert found["TrainingJob"]["TrainingJobName"] == "churn-train"
    assert set(found["TrainingJob"]) <= shape_members("sagemaker", "TrainingJob")
    elsewhere = {"Filters": [{"Name": "ModelArtifacts.S3ModelArtifacts", "Value": "s3://elsewhere/model.tar.gz"}]}
    assert sagemaker.search(Resource="TrainingJob", SearchExpression=elsewhere)["Results"] == []


def test_search_needs_an_identity_policy_that_allows_it_on_every_resource(aws: None, role_of: Any) -> None:
    """Service Authorization Reference: sagemaker:Search has no resource type, so only "*" allows it."""
    named = search_user(
        role_of, allow("sagemaker:Search", f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-card/*"), name="named"
    )
    with pytest.raises(ClientError) as caught:
        named.search(Resource="ModelCard")
    assert "is not authorized to perform: sagemaker:Search on resource: *" in denied(caught)
    assert search_user(role_of, allow("sagemaker:Search", "*")).search(Resource="ModelCard")["Results"] == []


def test_search_reveals_cards_whose_describe_is_denied(aws: None, role_of: Any) -> None:
    """Developer Guide, SageMaker API permissions reference: a user denied a Describe "can still access
    the description information through the Search API"."""
    session_for(SPOKE).client("sagemaker").create_model_card(
        ModelCardName="secret", Content=json.dumps(PACKAGE_CARD), ModelCardStatus="Draft"
    )
    user = search_user(role_of, allow("sagemaker:Search", "*"))
    with pytest.raises(ClientError) as caught:
        user.describe_model_card(ModelCardName="secret")
    assert "sagemaker:DescribeModelCard" in denied(caught)
    [found] = user.search(Resource="ModelCard")["Results"]
    assert json.loads(found["ModelCard"]["Content"]) == PACKAGE_CARD


@pytest.mark.parametrize("option", [None, "SameAccount", "CrossAccount"])
def test_a_card_shared_through_ram_is_never_a_search_result(aws: None, role_of: Any, option: str | None) -> None:
    """API reference, SearchRequest CrossAccountFilterOption: by default only "resources from your account";
    CrossAccount only resources "made discoverable" (Feature Store's cross-account discoverability)."""
    hub = session_for(HUB)
    card = hub.client("sagemaker").create_model_card(
        ModelCardName="customer-churn-222222222222-v1", Content=json.dumps(PACKAGE_CARD), ModelCardStatus="Draft"
    )["ModelCardArn"]
    hub.client("ram").create_resource_share(
        name="cards", principals=[SPOKE], resourceArns=[card], permissionArns=[EDIT]
    )
    accept_invitations(SPOKE)
    user = search_user(role_of, allow("sagemaker:Search", "*"), allow("sagemaker:DescribeModelCard", card))
    assert user.describe_model_card(ModelCardName=card)["ModelCardArn"] == card  # shared, and readable by ARN
    extra = {"CrossAccountFilterOption": option} if option else {}
    assert user.search(Resource="ModelCard", SearchExpression=by_group("customer-churn"), **extra)["Results"] == []


def test_an_encrypted_card_is_found_only_by_a_caller_who_may_decrypt_it(aws: None, role_of: Any) -> None:
    """DescribeModelCard needs kms:Decrypt on the card's key; AWS does not say what Search does (stricter)."""
    spoke = session_for(SPOKE)
    key = spoke.client("kms").create_key()["KeyMetadata"]["Arn"]
    spoke.client("sagemaker").create_model_card(
        ModelCardName="sealed",
        Content=json.dumps(PACKAGE_CARD),
        ModelCardStatus="Draft",
        SecurityConfig={"KmsKeyId": key},
    )
    blind = search_user(role_of, allow("sagemaker:Search", "*"), name="blind")
    assert blind.search(Resource="ModelCard")["Results"] == []
    decrypting = search_user(role_of, allow("sagemaker:Search", "*"), allow("kms:Decrypt", key), name="decrypting")
    assert [r["ModelCard"]["ModelCardName"] for r in decrypting.search(Resource="ModelCard")["Results"]] == ["sealed"]


def test_an_unknown_operator_and_nested_filters_are_refused(aws: None) -> None:
    """botocore: Operator is an enum; NestedFilters are not evaluated locally, so they are refused, not ignored."""
    sagemaker = session_for(SPOKE).client("sagemaker")
    nested = {"NestedFilters": [{"NestedPropertyName": "Metrics", "Filters": [{"Name": "Metrics.x", "Value": "1"}]}]}
    with pytest.raises(ClientError) as caught:
        sagemaker.search(Resource="ModelCard", SearchExpression=nested)
    assert error_code(caught) == "ValidationException"
    sagemaker.create_model_card(ModelCardName="one", Content="{}", ModelCardStatus="Draft")
    with pytest.raises(ClientError) as bad:
        sagemaker.search(
            Resource="ModelCard",
            SearchExpression={"Filters": [{"Name": "ModelCardName", "Operator": "Like", "Value": "o"}]},
        )
    assert error_code(bad) == "ValidationException"
