"""The people of the local run, as named profiles of one AWS CLI config file.

    export AWS_CONFIG_FILE=.local-run/aws-config
    aws --profile ml-dev sagemaker list-model-packages --model-package-group-name customer-churn

One profile per persona, each with the emulator's `endpoint_url`, the region, and the static
credentials of a session of that persona's role (the emulator maps them to the role's account):

- `hub-admin`: an administrator of the hub account;
- `reviewer`: the hub stack's reviewer role (output `ReviewerRoleArn`) when the stack has one;
- `auditor`: the hub stack's auditor role (output `AuditorRoleArn`) when the stack has one;
- one per account spoke (`ml-dev`, `ml-prod`, ...): a user of that spoke, in a role that has the
  spoke stack's shared-card policy (output `CardUserPolicyArn`) and what the spoke team gives its
  data scientists for their own Model Registry.

AWS CLI v1 (what the setup installs) sends `sqs`, and a few other services, in us-east-1 to a fixed
endpoint unless `--endpoint-url` is given, ignoring AWS_ENDPOINT_URL and a profile's `endpoint_url`
(aws/aws-cli#8737). The config file therefore loads the `awscli_profile_endpoint` plugin (installed by
the setup from tools/awscli-profile-endpoint), which hands the profile's `endpoint_url` to those
commands as if `--endpoint-url` had been given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3

from emulator.sessions import account_trust
from sandbox.provision import REGION, Deployed

PLUGIN_MODULE = "awscli_profile_endpoint"
SPOKE_USER_ROLE = "local-spoke-user"
# The reviewer's own role in the hub, as IAM Identity Center names a permission set's role (path
# aws-reserved/sso.amazonaws.com/, a unique suffix): the configs' reviewer_principals match it with
# `*`. The person's e-mail is the source identity every reviewer session carries.
REVIEWER_PERSON_PATH = "/aws-reserved/sso.amazonaws.com/"
REVIEWER_PERSON_ROLE = "AWSReservedSSO_ModelRiskReviewer_0123456789abcdef"
REVIEWER_PERSON = "model-risk@example.com"


def reviewer_person_role(hub: Deployed, reviewer_role_arn: str) -> str:
    """The reviewer's role: it may assume the hub stack's reviewer role, naming the person."""
    iam = hub.client("iam")
    arn = f"arn:aws:iam::{hub.account}:role{REVIEWER_PERSON_PATH}{REVIEWER_PERSON_ROLE}"
    trust = account_trust(hub.account)
    review = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"], "Resource": reviewer_role_arn}
        ],
    }
    if not any(r["RoleName"] == REVIEWER_PERSON_ROLE for r in iam.list_roles()["Roles"]):
        iam.create_role(
            RoleName=REVIEWER_PERSON_ROLE, Path=REVIEWER_PERSON_PATH, AssumeRolePolicyDocument=json.dumps(trust)
        )
        iam.put_role_policy(RoleName=REVIEWER_PERSON_ROLE, PolicyName="review", PolicyDocument=json.dumps(review))
    return arn


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str


@dataclass(frozen=True)
class Persona:
    profile: str
    account: str
    role_arn: str
    who: str
    credentials: Credentials


# (who assumes: an account's session, or None for the run's own administrator), role ARN, session
# name -> credentials. The emulator evaluates trust policies, so each role is assumed from where its
# trust policy allows: the hub administrator's access role from the management account, a spoke
# user's role from inside that spoke.
class Assume(Protocol):
    def __call__(
        self, via: boto3.Session | None, role_arn: str, session_name: str, source_identity: str | None = None
    ) -> Credentials: ...


def assume_in_emulator(endpoint: str) -> Assume:
    def assume(
        via: boto3.Session | None, role_arn: str, session_name: str, source_identity: str | None = None
    ) -> Credentials:
        sts = (via or boto3.Session()).client("sts", endpoint_url=endpoint, region_name=REGION)
        extra = {"SourceIdentity": source_identity} if source_identity else {}
        granted = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **extra)["Credentials"]
        return Credentials(granted["AccessKeyId"], granted["SecretAccessKey"], granted["SessionToken"])

    return assume


def reports_bucket(account: str) -> str:
    """The spoke team's bucket of evaluation reports (Model Monitor, Clarify) in the local run."""
    return f"model-reports-{account}"


def spoke_user_role(spoke: Deployed, card_user_policy_arn: str) -> str:
    """A role for the spoke's people: the shared-card policy plus their own Model Registry."""
    iam = spoke.client("iam")
    trust = account_trust(spoke.account)
    registry = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnModelRegistry",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateModelPackageGroup",
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:UpdateModelPackage",
                ],
                "Resource": [
                    f"arn:aws:sagemaker:{REGION}:{spoke.account}:model-package-group/*",
                    f"arn:aws:sagemaker:{REGION}:{spoke.account}:model-package/*",
                ],
            },
            {
                # The team's bucket for evaluation reports, which its packages name in ModelMetrics.
                "Sid": "OwnEvaluationReports",
                "Effect": "Allow",
                "Action": ["s3:CreateBucket", "s3:PutObject", "s3:GetObject"],
                "Resource": [
                    f"arn:aws:s3:::{reports_bucket(spoke.account)}",
                    f"arn:aws:s3:::{reports_bucket(spoke.account)}/*",
                ],
            },
            {
                # The Service Authorization Reference gives these two no resource type: AWS
                # authorizes them on "*" only, and they list the caller's own account anyway.
                "Sid": "ListOwnModelRegistry",
                "Effect": "Allow",
                "Action": ["sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"],
                "Resource": "*",
            },
        ],
    }
    arn: str = iam.create_role(RoleName=SPOKE_USER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=SPOKE_USER_ROLE, PolicyArn=card_user_policy_arn)
    iam.put_role_policy(RoleName=SPOKE_USER_ROLE, PolicyName="own-model-registry", PolicyDocument=json.dumps(registry))
    return arn


def personas(
    hub: Deployed,
    spokes: dict[str, Deployed],
    outputs: dict[str, dict[str, str]],
    assume: Assume,
    admin_role_arn: Callable[[str], str],
    inbox: tuple[str, str] | None = None,
) -> tuple[list[Persona], list[str]]:
    """Every persona, and a note for each one that stands in for a role the stacks do not have."""
    notes: list[str] = []
    hub_outputs = outputs.get(hub.stack, {})
    admin = admin_role_arn(hub.account)
    found = [
        Persona("hub-admin", hub.account, admin, "administrator of the hub account", assume(None, admin, "hub-admin"))
    ]
    for profile, output, who in (
        ("reviewer", "ReviewerRoleArn", "approver of model cards (hub)"),
        ("auditor", "AuditorRoleArn", "read-only auditor of the ledger and the evidence (hub)"),
    ):
        role = hub_outputs.get(output)
        if role is None:
            notes.append(f"{profile}: the hub stack has no {output} output; hub-admin's role stands in")
            found.append(Persona(profile, hub.account, admin, who, assume(None, admin, profile)))
        elif profile == "reviewer":
            # A person in their own role assumes the reviewer role, naming themselves.
            person = assume(hub.session, reviewer_person_role(hub, role), "reviewer")
            via = boto3.Session(person.access_key, person.secret_key, person.token)
            found.append(Persona(profile, hub.account, role, who, assume(via, role, REVIEWER_PERSON, REVIEWER_PERSON)))
            if inbox is not None:
                let_read_inbox(hub, inbox, role)
        else:
            found.append(Persona(profile, hub.account, role, who, assume(hub.session, role, profile)))
    for name, spoke in spokes.items():
        role = spoke_user_role(spoke, outputs[spoke.stack]["CardUserPolicyArn"])
        who = f"user of spoke {name} ({spoke.account})"
        found.append(Persona(name, spoke.account, role, who, assume(spoke.session, role, name)))
    return found, notes


def let_read_inbox(hub: Deployed, inbox: tuple[str, str], role_arn: str) -> None:
    """The inbox stands in for the reviewers' e-mail, so the reviewer role may read it (a queue policy)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": inbox[1],
            }
        ],
    }
    hub.client("sqs").set_queue_attributes(QueueUrl=inbox[0], Attributes={"Policy": json.dumps(policy)})


def write_config(path: Path, found: list[Persona], endpoint: str) -> None:
    """An AWS CLI config file with one profile per persona (credentials included: they only open the emulator)."""
    lines = [
        "# Written by the local run; the credentials open only the local emulator.",
        "[plugins]",
        f"profile_endpoint = {PLUGIN_MODULE}",
        "",
    ]
    for persona in found:
        lines += [
            f"# {persona.who}: {persona.role_arn}",
            f"[profile {persona.profile}]",
            f"region = {REGION}",
            f"endpoint_url = {endpoint}",
            f"aws_access_key_id = {persona.credentials.access_key}",
            f"aws_secret_access_key = {persona.credentials.secret_key}",
            f"aws_session_token = {persona.credentials.token}",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    path.chmod(0o600)


def describe(found: list[Persona]) -> list[str]:
    width = max(len(p.profile) for p in found)
    return [f"{p.profile:<{width}}  {p.who}" for p in found]


def as_dict(persona: Persona) -> dict[str, Any]:
    return {"profile": persona.profile, "account": persona.account, "role": persona.role_arn}
