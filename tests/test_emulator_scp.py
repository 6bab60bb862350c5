"""Service control policies in the emulator, evaluated as the AWS Organizations User Guide describes
("SCP evaluation"; "Service control policies (SCPs)"): every level from the root to the account
needs an Allow, an explicit Deny anywhere denies, the management account and service-linked roles
are outside them, and nothing is decided until the SCP policy type is enabled in the root.

The organization is made through the Organizations API as its management account's administrator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.organizations import MANAGEMENT_ACCOUNT
from emulator.policy import Principal, Request
from emulator.sessions import account_trust, admin_session, management_session, role_session

FULL_AWS_ACCESS = "p-FullAWSAccess"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


DENY_BUCKETS = document({"Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*"})
ONLY_S3 = document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})


class Organization:
    """An organization: root -> ou -> member account, made through the Organizations API."""

    def __init__(self) -> None:
        self.api = management_session().client("organizations")
        self.api.create_organization(FeatureSet="ALL")
        self.root = self.api.list_roots()["Roots"][0]["Id"]
        self.ou = self.api.create_organizational_unit(ParentId=self.root, Name="ml")["OrganizationalUnit"]["Id"]
        created = self.api.create_account(AccountName="ml-dev", Email="ml-dev@example.com")
        self.member = created["CreateAccountStatus"]["AccountId"]
        self.api.move_account(AccountId=self.member, SourceParentId=self.root, DestinationParentId=self.ou)

    def enable_scps(self) -> None:
        self.api.enable_policy_type(RootId=self.root, PolicyType="SERVICE_CONTROL_POLICY")

    def attach(self, content: str, target: str, name: str = "guard") -> str:
        policy = self.api.create_policy(Content=content, Description="test", Name=name, Type="SERVICE_CONTROL_POLICY")[
            "Policy"
        ]["PolicySummary"]["Id"]
        self.api.attach_policy(PolicyId=policy, TargetId=target)
        return str(policy)

    def scps_of(self, target: str) -> list[str]:
        found = self.api.list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]
        return sorted(p["Name"] for p in found)


@pytest.fixture
def org(aws: None) -> Organization:
    return Organization()


def create_bucket(account: str, name: str) -> None:
    admin_session(account).client("s3").create_bucket(Bucket=name)


def refusal(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied", error
    message: str = error["Message"]
    return message


def test_fullawsaccess_is_attached_to_the_root_every_ou_and_every_account(org: Organization) -> None:
    for target in (org.root, org.ou, org.member):
        assert org.scps_of(target) == ["FullAWSAccess"]


def test_scps_decide_nothing_until_the_policy_type_is_enabled_in_the_root(org: Organization) -> None:
    org.attach(DENY_BUCKETS, org.member)
    create_bucket(org.member, "before-enabling")
    org.enable_scps()
    message = refusal(lambda: create_bucket(org.member, "after-enabling"))
    assert message.endswith("with an explicit deny in a service control policy")
    assert f"arn:aws:sts::{org.member}:assumed-role/OrganizationAccountAccessRole/admin" in message
    # Only what the Deny names: other calls of the account's administrator pass.
    admin_session(org.member).client("sqs").create_queue(QueueName="still-allowed")


@pytest.mark.parametrize("level", ["root", "ou", "account"])
def test_an_explicit_deny_at_any_level_of_the_path_denies(org: Organization, level: str) -> None:
    org.enable_scps()
    org.attach(DENY_BUCKETS, {"root": org.root, "ou": org.ou, "account": org.member}[level])
    assert "explicit deny in a service control policy" in refusal(lambda: create_bucket(org.member, "denied"))


@pytest.mark.parametrize("level", ["root", "ou", "account"])
def test_every_level_of_the_path_must_allow(org: Organization, level: str) -> None:
    """Replacing FullAWSAccess by an S3-only Allow at one level leaves only S3 to the account."""
    org.enable_scps()
    target = {"root": org.root, "ou": org.ou, "account": org.member}[level]
    org.attach(ONLY_S3, target, name="only-s3")
    org.api.detach_policy(PolicyId=FULL_AWS_ACCESS, TargetId=target)
    assert org.scps_of(target) == ["only-s3"]
    create_bucket(org.member, "s3-still-allowed")
    sqs = admin_session(org.member).client("sqs")
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName="no-longer")
    assert (
        "because no service control policy allows the sqs:CreateQueue action"
        in caught.value.response["Error"]["Message"]
    )


def test_a_level_with_no_scp_at_all_allows_nothing(org: Organization) -> None:
    org.enable_scps()
    org.api.detach_policy(PolicyId=FULL_AWS_ACCESS, TargetId=org.ou)
    assert org.scps_of(org.ou) == []
    assert "no service control policy allows" in refusal(lambda: create_bucket(org.member, "nothing"))


def test_the_management_account_is_never_restricted(org: Organization) -> None:
    org.enable_scps()
    deny_everything = document({"Effect": "Deny", "Action": "*", "Resource": "*"})
    org.attach(deny_everything, org.root)
    management_session().client("s3").create_bucket(Bucket="management-bucket")
    create = admin_session(MANAGEMENT_ACCOUNT).client("s3").create_bucket
    create(Bucket="management-admin-bucket")
    assert "explicit deny" in refusal(lambda: create_bucket(org.member, "member-bucket"))


def test_a_deny_spares_whom_its_condition_spares(org: Organization) -> None:
    """The guardrail's shape: deny everyone but one role, named by aws:PrincipalArn."""
    org.enable_scps()
    spared = "arn:aws:iam::*:role/deploy-*"
    org.attach(
        document(
            {
                "Effect": "Deny",
                "Action": "s3:CreateBucket",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": spared}},
            }
        ),
        org.member,
    )
    admin = admin_session(org.member)
    trust = account_trust(org.member)
    allow_all = document({"Effect": "Allow", "Action": "*", "Resource": "*"})
    for name in ("deploy-pipeline", "someone-else"):
        admin.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        admin.client("iam").put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=allow_all)
    role_session(org.member, "deploy-pipeline").client("s3").create_bucket(Bucket="by-the-deploy-path")
    other = role_session(org.member, "someone-else").client("s3")
    assert "explicit deny" in refusal(lambda: other.create_bucket(Bucket="by-someone-else"))


def test_service_linked_roles_and_services_are_outside_scps(org: Organization) -> None:
    from emulator.permissions import scp_refusal

    org.enable_scps()
    org.attach(document({"Effect": "Deny", "Action": "*", "Resource": "*"}), org.member)
    resource = "arn:aws:s3:::any"
    admin_role = f"arn:aws:iam::{org.member}:role/OrganizationAccountAccessRole"
    linked = f"arn:aws:iam::{org.member}:role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForSageMaker"
    session = f"arn:aws:sts::{org.member}:assumed-role/AWSServiceRoleForSageMaker/s"
    member_root = f"arn:aws:iam::{org.member}:root"
    assert scp_refusal(Request("s3:CreateBucket", resource, Principal(session, org.member, linked))) is None
    service = Principal("events.amazonaws.com", org.member, "events.amazonaws.com", service="events.amazonaws.com")
    assert scp_refusal(Request("s3:CreateBucket", resource, service)) is None
    admin = Principal(f"arn:aws:sts::{org.member}:assumed-role/OrganizationAccountAccessRole/a", org.member, admin_role)
    assert scp_refusal(Request("s3:CreateBucket", resource, admin)) is not None
    # The member account's root user is restricted like any principal of the account.
    assert scp_refusal(Request("s3:CreateBucket", resource, Principal(member_root, org.member, member_root)))


def test_an_scp_over_5120_bytes_is_refused(org: Organization) -> None:
    statement = {
        "Effect": "Deny",
        "Action": "s3:CreateBucket",
        "Resource": [f"arn:aws:s3:::b-{i:04d}" for i in range(300)],
    }
    oversized = document(statement)
    assert len(oversized.encode()) > 5_120
    with pytest.raises(ClientError) as caught:
        org.api.create_policy(Content=oversized, Description="big", Name="big", Type="SERVICE_CONTROL_POLICY")
    assert caught.value.response["Error"]["Code"] == "ConstraintViolationException"
    assert "POLICY_CONTENT_LIMIT_EXCEEDED" in caught.value.response["Error"]["Message"]
    policy = org.attach(DENY_BUCKETS, org.member)
    with pytest.raises(ClientError):
        org.api.update_policy(PolicyId=policy, Content=oversized)
    assert json.loads(org.api.describe_policy(PolicyId=policy)["Policy"]["Content"]) == json.loads(DENY_BUCKETS)
