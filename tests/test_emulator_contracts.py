"""Contracts the emulator keeps with AWS, each checked against botocore's service model and AWS's
documentation (the source is named on each test): RAM permissions for model cards, a share's
default permission, ListModelCardVersions pagination, one `UserContext` shape for cards, packages
and their events, and content updates on an Approved card.

Called as product code calls AWS, with permission evaluation on (the `aws` fixture).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader

from tests.accounts import session_for
from tests.test_emulator import capture_default_bus, drain

HUB = "111111111111"
SPOKE = "222222222222"
CARD_TYPE = "sagemaker:ModelCard"
EDIT_NAME = "AWSRAMPermissionSageMakerModelCards"
EXPORT_NAME = "AWSRAMPermissionSageMakerModelCardsAllowExport"
EDIT = f"arn:aws:ram::aws:permission/{EDIT_NAME}"
EXPORT = f"arn:aws:ram::aws:permission/{EXPORT_NAME}"
READ_ACTIONS = ["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"]
CONTENT = {"model_overview": {"model_owner": "churn-team"}}
INFERENCE = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = caught.value.response["Error"]["Code"]
    return code


def shape_members(service: str, shape: str) -> set[str]:
    model = Loader().load_service_model(service, "service-2")
    return set(model["shapes"][shape]["members"])


def create_read_permission(ram: Any, name: str = "cards-read") -> str:
    arn: str = ram.create_permission(
        name=name,
        resourceType=CARD_TYPE,
        policyTemplate=json.dumps({"Effect": "Allow", "Action": READ_ACTIONS}),
    )["permission"]["arn"]
    return arn


def create_card(sagemaker: Any, name: str = "churn", status: str = "Draft") -> str:
    arn: str = sagemaker.create_model_card(ModelCardName=name, Content=json.dumps(CONTENT), ModelCardStatus=status)[
        "ModelCardArn"
    ]
    return arn


def accept_invitations(account: str) -> None:
    ram = session_for(account).client("ram")
    for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
        if invitation["status"] == "PENDING":
            ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])


def all_pages(call: Any, key: str, **kwargs: Any) -> list[list[dict[str, Any]]]:
    """Every page of a RAM list call that botocore has no paginator for, following nextToken."""
    pages = []
    token = None
    while True:
        answer = call(**kwargs, **({"nextToken": token} if token else {}))
        pages.append(answer[key])
        token = answer.get("nextToken")
        if not token:
            return pages


# 1. RAM ListPermissions for sagemaker:ModelCard ---------------------------------------------------
# RAM API reference, ListPermissions: resourceType "is not case sensitive"; permissionType is one of
# botocore's PermissionTypeFilter (ALL, AWS_MANAGED, CUSTOMER_MANAGED), ALL by default; maxResults
# and nextToken page. SageMaker developer guide, "Set up cross-account support for Amazon SageMaker
# Model Cards": the two managed permissions, AWSRAMPermissionSageMakerModelCards the default.


def test_list_permissions_names_the_two_managed_permissions_and_the_callers_own(aws: None) -> None:
    ram = session_for(HUB).client("ram")
    own = create_read_permission(ram)
    listed = ram.list_permissions(resourceType=CARD_TYPE)["permissions"]
    by_arn = {p["arn"]: p for p in listed}
    assert set(by_arn) == {EDIT, EXPORT, own}
    assert {p["name"] for p in listed} == {EDIT_NAME, EXPORT_NAME, "cards-read"}
    assert {p["resourceType"] for p in listed} == {CARD_TYPE}
    assert [by_arn[a]["permissionType"] for a in (EDIT, EXPORT, own)] == [
        "AWS_MANAGED",
        "AWS_MANAGED",
        "CUSTOMER_MANAGED",
    ]
    assert [by_arn[a]["isResourceTypeDefault"] for a in (EDIT, EXPORT, own)] == [True, False, False]
    assert {p["status"] for p in listed} == {"ATTACHABLE"}
    for permission in listed:
        assert set(permission) <= shape_members("ram", "ResourceSharePermissionSummary"), permission


@pytest.mark.parametrize("spelling", ["sagemaker:modelcard", "SAGEMAKER:MODELCARD", "SageMaker:ModelCard"])
def test_list_permissions_resource_type_is_not_case_sensitive(aws: None, spelling: str) -> None:
    ram = session_for(HUB).client("ram")
    create_read_permission(ram)
    names = {p["name"] for p in ram.list_permissions(resourceType=spelling)["permissions"]}
    assert names == {EDIT_NAME, EXPORT_NAME, "cards-read"}


def test_list_permissions_filters_by_permission_type_and_keeps_accounts_apart(aws: None) -> None:
    ram = session_for(HUB).client("ram")
    own = create_read_permission(ram)

    def arns(**filters: str) -> set[str]:
        return {p["arn"] for p in ram.list_permissions(resourceType=CARD_TYPE, **filters)["permissions"]}

    assert arns(permissionType="ALL") == {EDIT, EXPORT, own}
    assert arns(permissionType="AWS_MANAGED") == {EDIT, EXPORT}
    assert arns(permissionType="CUSTOMER_MANAGED") == {own}
    # Another account sees AWS's permissions, not the hub's own.
    spoke = session_for(SPOKE).client("ram")
    assert {p["arn"] for p in spoke.list_permissions(resourceType=CARD_TYPE)["permissions"]} == {EDIT, EXPORT}


@pytest.mark.parametrize("value", ["AWS", "LOCAL", "MANAGED"])
def test_list_permissions_refuses_a_permission_type_outside_the_model(aws: None, value: str) -> None:
    # The API reference's prose names AWS and LOCAL; botocore's enum (what SDKs send) does not.
    with pytest.raises(ClientError) as caught:
        session_for(HUB).client("ram").list_permissions(resourceType=CARD_TYPE, permissionType=value)
    assert error_code(caught) == "InvalidParameterException"
    assert value in str(caught.value)


def test_list_permissions_pages_with_max_results_and_next_token(aws: None) -> None:
    ram = session_for(HUB).client("ram")
    own = {create_read_permission(ram, f"cards-read-{n}") for n in range(3)}
    pages = all_pages(ram.list_permissions, "permissions", resourceType=CARD_TYPE, maxResults=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    arns = [p["arn"] for page in pages for p in page]
    assert sorted(arns) == sorted({EDIT, EXPORT} | own)
    with pytest.raises(ClientError) as caught:
        ram.list_permissions(resourceType=CARD_TYPE, nextToken="not-a-token-ram-gave")
    assert error_code(caught) == "InvalidNextTokenException"


# 2. ListResourceSharePermissions and GetPermission ------------------------------------------------
# RAM API reference: ListResourceSharePermissions lists "the RAM permissions that are associated with
# a resource share"; GetPermission "retrieves the contents of a managed permission in JSON format",
# permissionVersion optional ("the default version"); `permission` is "the permission's effect and
# actions in JSON format".


def test_list_resource_share_permissions_names_the_permission_of_the_share(aws: None) -> None:
    hub = session_for(HUB)
    ram = hub.client("ram")
    card = create_card(hub.client("sagemaker"))
    share = ram.create_resource_share(name="s", principals=[SPOKE], resourceArns=[card], permissionArns=[EXPORT])[
        "resourceShare"
    ]["resourceShareArn"]
    [permission] = ram.list_resource_share_permissions(resourceShareArn=share)["permissions"]
    assert (permission["arn"], permission["name"], permission["resourceType"]) == (EXPORT, EXPORT_NAME, CARD_TYPE)
    assert (permission["permissionType"], permission["isResourceTypeDefault"]) == ("AWS_MANAGED", False)
    assert set(permission) <= shape_members("ram", "ResourceSharePermissionSummary")
    own = create_read_permission(ram)
    read_share = ram.create_resource_share(name="r", principals=[SPOKE], resourceArns=[card], permissionArns=[own])[
        "resourceShare"
    ]["resourceShareArn"]
    [mine] = ram.list_resource_share_permissions(resourceShareArn=read_share)["permissions"]
    assert (mine["arn"], mine["permissionType"]) == (own, "CUSTOMER_MANAGED")


def test_list_resource_share_permissions_of_an_unknown_share_is_refused(aws: None) -> None:
    ram = session_for(HUB).client("ram")
    missing = f"arn:aws:ram:us-east-1:{HUB}:resource-share/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as caught:
        ram.list_resource_share_permissions(resourceShareArn=missing)
    assert error_code(caught) == "UnknownResourceException"
    with pytest.raises(ClientError) as malformed:
        ram.list_resource_share_permissions(resourceShareArn="cards")
    assert error_code(malformed) == "MalformedArnException"


@pytest.mark.parametrize(
    ("name", "actions", "default"),
    [
        (EDIT_NAME, {*READ_ACTIONS, "sagemaker:UpdateModelCard"}, True),
        (
            EXPORT_NAME,
            {
                *READ_ACTIONS,
                "sagemaker:UpdateModelCard",
                "sagemaker:CreateModelCardExportJob",
                "sagemaker:DescribeModelCardExportJob",
            },
            False,
        ),
    ],
)
def test_get_permission_returns_the_managed_policy_template(
    aws: None, name: str, actions: set[str], default: bool
) -> None:
    ram = session_for(HUB).client("ram")
    arn = f"arn:aws:ram::aws:permission/{name}"
    permission = ram.get_permission(permissionArn=arn)["permission"]
    assert set(permission) <= shape_members("ram", "ResourceSharePermissionDetail"), permission
    assert (permission["arn"], permission["name"], permission["resourceType"]) == (arn, name, CARD_TYPE)
    assert (permission["permissionType"], permission["isResourceTypeDefault"]) == ("AWS_MANAGED", default)
    assert (permission["version"], permission["defaultVersion"], permission["status"]) == ("1", True, "ATTACHABLE")
    template = json.loads(permission["permission"])
    assert template["Effect"] == "Allow"
    assert set(template["Action"]) == actions
    assert ram.get_permission(permissionArn=arn, permissionVersion=1)["permission"] == permission


def test_get_permission_returns_a_customer_permission_as_it_was_created(aws: None) -> None:
    ram = session_for(HUB).client("ram")
    own = create_read_permission(ram)
    permission = ram.get_permission(permissionArn=own)["permission"]
    assert json.loads(permission["permission"]) == {"Effect": "Allow", "Action": READ_ACTIONS}
    assert (permission["permissionType"], permission["isResourceTypeDefault"]) == ("CUSTOMER_MANAGED", False)
    assert (permission["name"], permission["resourceType"], permission["version"]) == ("cards-read", CARD_TYPE, "1")


@pytest.mark.parametrize(
    ("arn", "version", "code"),
    [
        (EDIT, 2, "UnknownResourceException"),  # the permission has one version
        ("arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerNoSuchThing", None, "UnknownResourceException"),
        (f"arn:aws:ram:us-east-1:{HUB}:permission/not-created", None, "UnknownResourceException"),
        ("AWSRAMPermissionSageMakerModelCards", None, "MalformedArnException"),
    ],
)
def test_get_permission_refuses_what_does_not_exist(aws: None, arn: str, version: int | None, code: str) -> None:
    ram = session_for(HUB).client("ram")
    with pytest.raises(ClientError) as caught:
        ram.get_permission(permissionArn=arn, **({"permissionVersion": version} if version else {}))
    assert error_code(caught) == code


def test_another_accounts_customer_permission_is_not_found(aws: None) -> None:
    own = create_read_permission(session_for(HUB).client("ram"))
    with pytest.raises(ClientError) as caught:
        session_for(SPOKE).client("ram").get_permission(permissionArn=own)
    assert error_code(caught) == "UnknownResourceException"


# 3. A share without permissionArns gets the resource type's default permission ---------------------
# RAM API reference, CreateResourceShare permissionArns: "If you do not specify an ARN for the
# permission, RAM automatically attaches the default version of the permission for each resource
# type." For sagemaker:ModelCard the default is AWSRAMPermissionSageMakerModelCards (SageMaker guide).


def test_a_share_created_without_a_permission_gets_the_card_default(aws: None) -> None:
    hub = session_for(HUB)
    card = create_card(hub.client("sagemaker"))
    ram = hub.client("ram")
    share = ram.create_resource_share(name="s", principals=[SPOKE], resourceArns=[card])["resourceShare"][
        "resourceShareArn"
    ]
    [permission] = ram.list_resource_share_permissions(resourceShareArn=share)["permissions"]
    assert (permission["arn"], permission["isResourceTypeDefault"]) == (EDIT, True)
    accept_invitations(SPOKE)
    # The default is what the share grants: the spoke may edit (and only edit, not export).
    spoke = session_for(SPOKE).client("sagemaker")
    spoke.update_model_card(ModelCardName=card, Content=json.dumps({"model_overview": {"model_owner": "spoke"}}))
    assert hub.client("sagemaker").describe_model_card(ModelCardName="churn")["ModelCardVersion"] == 2
    with pytest.raises(ClientError) as caught:
        spoke.create_model_card_export_job(
            ModelCardName=card, ModelCardExportJobName="j", OutputConfig={"S3OutputPath": "s3://bucket/x"}
        )
    assert error_code(caught) == "AccessDeniedException"


def test_a_card_added_to_a_share_without_a_permission_brings_the_default(aws: None) -> None:
    hub = session_for(HUB)
    card = create_card(hub.client("sagemaker"))
    ram = hub.client("ram")
    share = ram.create_resource_share(name="s", principals=[SPOKE])["resourceShare"]["resourceShareArn"]
    assert ram.list_resource_share_permissions(resourceShareArn=share)["permissions"] == []
    ram.associate_resource_share(resourceShareArn=share, resourceArns=[card])
    assert [p["arn"] for p in ram.list_resource_share_permissions(resourceShareArn=share)["permissions"]] == [EDIT]


@pytest.mark.parametrize("sharing", ["own-account", "all-spokes"])
def test_the_product_names_a_permission_on_every_share(example_raw: dict[str, Any], sharing: str) -> None:
    """The product never relies on RAM's default: every share it declares names its permission."""
    from aws_cdk import aws_ram as ram

    from tests.test_hub_stack import card_shares

    stack, _ = card_shares({**example_raw, "sharing": sharing}, [])
    shares = [c for c in stack.node.find_all() if isinstance(c, ram.CfnResourceShare)]
    assert len(shares) >= 2
    for share in shares:
        assert isinstance(share.permission_arns, list) and len(share.permission_arns) == 1, share.node.path


# 4. ListModelCardVersions pages --------------------------------------------------------------------
# botocore: MaxResults (1-100), NextToken, SortBy (Version), SortOrder (Ascending, Descending), and a
# paginator on NextToken/MaxResults.


def card_with_versions(sagemaker: Any, count: int) -> None:
    create_card(sagemaker)
    for n in range(2, count + 1):
        sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps({"model_overview": {"model_id": str(n)}}))


def test_list_model_card_versions_pages_with_the_boto3_paginator(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    card_with_versions(sagemaker, 5)
    paginator = sagemaker.get_paginator("list_model_card_versions")
    pages = list(paginator.paginate(ModelCardName="churn", PaginationConfig={"PageSize": 2}))
    assert [[v["ModelCardVersion"] for v in p["ModelCardVersionSummaryList"]] for p in pages] == [[1, 2], [3, 4], [5]]
    assert "NextToken" not in pages[-1]
    descending = paginator.paginate(
        ModelCardName="churn", SortBy="Version", SortOrder="Descending", PaginationConfig={"PageSize": 2}
    ).build_full_result()
    assert [v["ModelCardVersion"] for v in descending["ModelCardVersionSummaryList"]] == [5, 4, 3, 2, 1]


def test_list_model_card_versions_answers_a_page_of_ten_by_default(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    card_with_versions(sagemaker, 12)
    first = sagemaker.list_model_card_versions(ModelCardName="churn")
    assert [v["ModelCardVersion"] for v in first["ModelCardVersionSummaryList"]] == list(range(1, 11))
    rest = sagemaker.list_model_card_versions(ModelCardName="churn", NextToken=first["NextToken"])
    assert [v["ModelCardVersion"] for v in rest["ModelCardVersionSummaryList"]] == [11, 12]
    assert "NextToken" not in rest


def test_list_model_card_versions_pages_a_status_filter(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    for n in range(2, 6):
        sagemaker.update_model_card(ModelCardName="churn", ModelCardStatus="PendingReview" if n % 2 else "Draft")
        sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps({"model_overview": {"model_id": str(n)}}))
    statuses = {
        v["ModelCardVersion"]: v["ModelCardStatus"]
        for v in sagemaker.get_paginator("list_model_card_versions")
        .paginate(ModelCardName="churn")
        .build_full_result()["ModelCardVersionSummaryList"]
    }
    drafts = [v for v, s in statuses.items() if s == "Draft"]
    pages = list(
        sagemaker.get_paginator("list_model_card_versions").paginate(
            ModelCardName="churn", ModelCardStatus="Draft", PaginationConfig={"PageSize": 1}
        )
    )
    assert [v["ModelCardVersion"] for p in pages for v in p["ModelCardVersionSummaryList"]] == drafts
    assert len(pages) == len(drafts) >= 2


@pytest.mark.parametrize(
    "arguments",
    [{"SortBy": "CreationTime"}, {"SortOrder": "Up"}, {"NextToken": "not-a-token-sagemaker-gave"}],
)
def test_list_model_card_versions_refuses_what_the_model_does_not_offer(aws: None, arguments: dict[str, str]) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker)
    with pytest.raises(ClientError) as caught:
        sagemaker.list_model_card_versions(ModelCardName="churn", **arguments)
    assert error_code(caught) == "ValidationException"


# 5. CreatedBy / LastModifiedBy: botocore's UserContext, one shape for cards, packages and events ------
# botocore UserContext: UserProfileArn, UserProfileName, DomainId (a Studio user profile) and
# IamIdentity {Arn, PrincipalId, SourceIdentity}, whose details "are associated with model package
# groups, model packages, project entities, hubs, and hub content only". The emulator has no Studio:
# a caller is an IAM principal, so a card names nobody and a package names the IAM identity.


def test_card_users_are_a_user_context_naming_no_studio_profile(aws: None) -> None:
    hub = session_for(HUB)
    sqs, url = capture_default_bus(hub)
    sagemaker = hub.client("sagemaker")
    create_card(sagemaker)
    sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps({"model_overview": {"model_id": "2"}}))
    described = sagemaker.describe_model_card(ModelCardName="churn")
    members = shape_members("sagemaker", "UserContext")
    for field in ("CreatedBy", "LastModifiedBy"):
        assert set(described[field]) <= members
        # An IAM caller outside Studio: no profile, and cards carry no IamIdentity.
        assert described[field] == {}
    events = drain(sqs, url)
    assert len(events) == 2
    for event in events:
        assert (event["detail"]["CreatedBy"], event["detail"]["LastModifiedBy"]) == ({}, {})


def test_package_users_are_the_callers_iam_identity_in_describe_and_events(aws: None) -> None:
    hub = session_for(HUB)
    sqs, url = capture_default_bus(hub)
    sagemaker = hub.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn", InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
    )["ModelPackageArn"]
    identity = hub.client("sts").get_caller_identity()
    creator = {"IamIdentity": {"Arn": identity["Arn"], "PrincipalId": identity["UserId"]}}
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["CreatedBy"] == creator
    assert set(described["CreatedBy"]) <= shape_members("sagemaker", "UserContext")
    assert set(described["CreatedBy"]["IamIdentity"]) <= shape_members("sagemaker", "IamIdentity")

    # Another principal of the hub updates it: LastModifiedBy names that one, CreatedBy stays.
    iam = hub.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="approver", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="approver",
        PolicyName="packages",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["sagemaker:UpdateModelPackage", "sts:GetCallerIdentity"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    from emulator.sessions import role_session

    approver = role_session(HUB, "approver", via=hub, session_name="reviewer-1")
    approver.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    approver_identity = approver.client("sts").get_caller_identity()
    modifier = {"IamIdentity": {"Arn": approver_identity["Arn"], "PrincipalId": approver_identity["UserId"]}}
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert (described["CreatedBy"], described["LastModifiedBy"]) == (creator, modifier)

    created, updated = drain(sqs, url)
    assert created["detail"]["CreatedBy"] == creator
    assert (updated["detail"]["CreatedBy"], updated["detail"]["LastModifiedBy"]) == (creator, modifier)


# 6. Content on an Approved card ------------------------------------------------------------------
# SageMaker developer guide, "Model card FAQs": "A given model version is immutable across all
# attributes other than the model card status. If you make any other changes ... SageMaker creates a
# new version"; ModelPackageModelCard: an Archived card refuses content with "Model Card is in
# Archived state". What status the new version of an Approved card has, AWS does not say: the
# emulator keeps Approved, the case a governance product cannot miss (an unreviewed version that
# reads Approved); see docs/emulator.md, "Still unlike AWS".


def test_content_on_an_approved_card_makes_a_new_version_that_still_reads_approved(aws: None) -> None:
    hub = session_for(HUB)
    sagemaker = hub.client("sagemaker")
    create_card(sagemaker, status="Approved")
    sqs, url = capture_default_bus(hub)
    edited = {"model_overview": {"model_owner": "someone-else"}}
    sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps(edited))
    latest = sagemaker.describe_model_card(ModelCardName="churn")
    assert (latest["ModelCardVersion"], latest["ModelCardStatus"], json.loads(latest["Content"])) == (
        2,
        "Approved",
        edited,
    )
    first = sagemaker.describe_model_card(ModelCardName="churn", ModelCardVersion=1)
    assert (first["ModelCardStatus"], json.loads(first["Content"])) == ("Approved", CONTENT)
    [event] = drain(sqs, url)
    assert (event["detail"]["ModelCardVersion"], event["detail"]["ModelCardStatus"]) == (2, "Approved")


def test_an_archived_card_refuses_content_with_awss_message(aws: None) -> None:
    sagemaker = session_for(HUB).client("sagemaker")
    create_card(sagemaker, status="Archived")
    with pytest.raises(ClientError) as caught:
        sagemaker.update_model_card(ModelCardName="churn", Content=json.dumps(CONTENT))
    assert "Model Card is in Archived state" in str(caught.value)
    assert sagemaker.describe_model_card(ModelCardName="churn")["ModelCardVersion"] == 1


# Model packages: what CreateModelPackage takes beyond moto's model ----------------------------------

METRICS_SOURCE = {"ContentType": "application/json", "S3Uri": "s3://reports/quality.json", "ContentDigest": "ab12"}


def test_package_returns_metrics_baselines_card_and_life_cycle_in_botocores_shapes(aws: None) -> None:
    from tests.test_emulator import HUB, INFERENCE

    sagemaker = session_for(HUB).client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    metrics = {
        "ModelQuality": {"Statistics": METRICS_SOURCE},
        "Bias": {"PostTrainingReport": METRICS_SOURCE},
        "Explainability": {"Report": METRICS_SOURCE},
        "ModelDataQuality": {"Constraints": METRICS_SOURCE},
    }
    baselines = {"ModelQuality": {"Constraints": METRICS_SOURCE}}
    card = {"ModelCardContent": json.dumps({"model_overview": {"model_creator": "team"}}), "ModelCardStatus": "Draft"}
    life_cycle = {"Stage": "Development", "StageStatus": "InProgress", "StageDescription": "first fit"}
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification=INFERENCE,
        ModelMetrics=metrics,
        DriftCheckBaselines=baselines,
        ModelCard=card,
        ModelLifeCycle=life_cycle,
    )["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert (described["ModelMetrics"], described["DriftCheckBaselines"]) == (metrics, baselines)
    assert (described["ModelCard"], described["ModelLifeCycle"]) == (card, life_cycle)
    assert set(described["ModelLifeCycle"]) <= shape_members("sagemaker", "ModelLifeCycle")
    assert set(described["ModelMetrics"]) <= shape_members("sagemaker", "ModelMetrics")

    # UpdateModelPackage takes a new life cycle stage; the metrics are the package's for good.
    staged = {"Stage": "Staging", "StageStatus": "Approved"}
    sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=staged)
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert (described["ModelLifeCycle"], described["ModelMetrics"]) == (staged, metrics)
    assert {"ModelMetrics", "DriftCheckBaselines"}.isdisjoint(shape_members("sagemaker", "UpdateModelPackageInput"))


# Export job events ----------------------------------------------------------------------------------


def test_a_finished_export_job_sends_its_state_change_to_the_card_owners_default_bus(aws: None) -> None:
    """EventBridge events reference, "Amazon SageMaker AI events": SageMaker sends "SageMaker Model
    Card Export Job State Change" directly to EventBridge. AWS gives no sample of its detail; the
    emulator's carries the job ARN in `resources` and DescribeModelCardExportJob's fields but the
    artifacts and output (which the follower reads from DescribeModelCardExportJob itself). A job a
    spoke starts on a shared card is the hub's, so its event is on the hub's bus, not the spoke's."""
    hub = session_for(HUB)
    hub_sqs, hub_events = capture_default_bus(hub)
    spoke_sqs, spoke_events = capture_default_bus(session_for(SPOKE))
    sagemaker = hub.client("sagemaker")
    hub.client("s3").create_bucket(Bucket="evidence-bucket")
    card = create_card(sagemaker)
    ram = hub.client("ram")
    ram.create_resource_share(name="s", principals=[SPOKE], resourceArns=[card], permissionArns=[EXPORT])
    accept_invitations(SPOKE)
    drain(hub_sqs, hub_events)
    mine = sagemaker.create_model_card_export_job(
        ModelCardName="churn", ModelCardExportJobName="mine", OutputConfig={"S3OutputPath": "s3://evidence-bucket/a"}
    )["ModelCardExportJobArn"]
    theirs = (
        session_for(SPOKE)
        .client("sagemaker")
        .create_model_card_export_job(
            ModelCardName=card, ModelCardExportJobName="theirs", OutputConfig={"S3OutputPath": "s3://evidence-bucket/b"}
        )["ModelCardExportJobArn"]
    )
    events = drain(hub_sqs, hub_events)
    assert [(e["source"], e["detail-type"], e["account"], e["resources"]) for e in events] == [
        ("aws.sagemaker", "SageMaker Model Card Export Job State Change", HUB, [mine]),
        ("aws.sagemaker", "SageMaker Model Card Export Job State Change", HUB, [theirs]),
    ]
    detail = events[0]["detail"]
    assert (detail["ModelCardExportJobArn"], detail["ModelCardName"], detail["ModelCardVersion"]) == (mine, "churn", 1)
    assert detail["Status"] == "Completed" and "ExportArtifacts" not in detail
    assert set(detail) <= shape_members("sagemaker", "DescribeModelCardExportJobResponse")
    assert drain(spoke_sqs, spoke_events) == []


def keyed_table(dynamodb: Any, name: str, *, sort_type: str) -> None:
    """A table keyed by `k` (a string) and `s` (of `sort_type`), billed on demand."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "k", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": sort_type},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_dynamodb_items_come_back_as_written_whichever_way_the_emulator_answers(aws: None) -> None:
    """DynamoDB API reference, AttributeValue: every type round-trips through PutItem, GetItem,
    Query and Scan. Plain JSON answers are written directly (emulator/dynamodb.py); an item with a
    binary attribute still goes through moto's serializer, which encodes it as base64."""
    dynamodb = session_for(HUB).client("dynamodb")
    keyed_table(dynamodb, "t", sort_type="N")
    plain = {
        "k": {"S": "card"},
        "s": {"N": "1"},
        "text": {"S": 'Ünïcode "quoted" \\ text'},
        "flag": {"BOOL": False},
        "none": {"NULL": True},
        "list": {"L": [{"N": "2.5"}, {"S": "x"}]},
        "map": {"M": {"inner": {"SS": ["a", "b"]}}},
    }
    binary = {"k": {"S": "card"}, "s": {"N": "2"}, "blob": {"B": b"\x00\xff bytes"}}
    for item in (plain, binary):
        dynamodb.put_item(TableName="t", Item=item)
    assert dynamodb.get_item(TableName="t", Key={"k": plain["k"], "s": plain["s"]})["Item"] == plain
    assert dynamodb.get_item(TableName="t", Key={"k": binary["k"], "s": binary["s"]})["Item"] == binary
    queried = dynamodb.query(
        TableName="t", KeyConditionExpression="k = :k", ExpressionAttributeValues={":k": {"S": "card"}}
    )
    assert (queried["Count"], queried["Items"]) == (2, [plain, binary])
    assert dynamodb.scan(TableName="t", Limit=1)["LastEvaluatedKey"] == {"k": {"S": "card"}, "s": {"N": "1"}}


def test_a_cancelled_transaction_changes_no_item(aws: None) -> None:
    """DynamoDB API reference, TransactWriteItems: "an all-or-nothing operation"; a failed condition
    cancels every action (TransactionCanceledException, one reason per action, in order)."""
    dynamodb = session_for(HUB).client("dynamodb")
    keyed_table(dynamodb, "chain", sort_type="S")
    head = {"k": {"S": "card"}, "s": {"S": "head"}, "n": {"N": "1"}}
    other = {"k": {"S": "other"}, "s": {"S": "head"}, "n": {"N": "1"}}
    for item in (head, other):
        dynamodb.put_item(TableName="chain", Item=item)
    with pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "chain", "Item": {"k": {"S": "card"}, "s": {"S": "entry-2"}}}},
                {
                    "Update": {
                        "TableName": "chain",
                        "Key": {"k": {"S": "card"}, "s": {"S": "head"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "chain",
                        "Key": {"k": {"S": "other"}, "s": {"S": "head"}},
                        "ConditionExpression": "n = :five",
                        "ExpressionAttributeValues": {":five": {"N": "5"}},
                    }
                },
            ]
        )
    assert error_code(caught) == "TransactionCanceledException"
    reasons = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    items = dynamodb.scan(TableName="chain")["Items"]
    assert sorted(items, key=lambda i: i["k"]["S"]) == [head, other]
