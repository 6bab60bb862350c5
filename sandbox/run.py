"""The whole governance lifecycle against the local emulator, from the synthesized templates.

    python -m sandbox.run [--assembly cdk.out] [--keep]

Starts the emulator on 127.0.0.1 (a free port) as the hub and the spoke accounts, provisions what
the templates describe, then walks the lifecycle and prints each step. Exits 1 when any step does
not behave as documented. With --keep it leaves the emulator running and prints the lines that let
a person run the spoke-user AWS CLI commands of docs/spoke-users.md against it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow.review_cli import signed  # noqa: E402
from shared.card_names import card_name_for  # noqa: E402

from emulator import function_urls  # noqa: E402
from emulator.organizations import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, access_role_arn  # noqa: E402
from emulator.server import start  # noqa: E402
from emulator.sessions import environment_session, role_session, service_role_session  # noqa: E402
from governance_config import (  # noqa: E402
    HUB_STACK_SUFFIX,
    SPOKE_STACK_INFIX,
    ConfigError,
    GovernanceConfig,
    Organization,
    load_config,
)
from sandbox.live import serve  # noqa: E402
from sandbox.organization import deploy_guardrails, emulate_organization, service_control_policies  # noqa: E402
from sandbox.personas import REVIEWER_PERSON, reviewer_person_role  # noqa: E402
from sandbox.policy_walk import PolicyWalk  # noqa: E402
from sandbox.provision import (  # noqa: E402
    ENVIRONMENT_LOCK,
    REGION,
    Deployed,
    Function,
    load_assembly,
    provision_hub,
    provision_spoke,
    session_for,
)
from sandbox.provision import function_urls as template_function_urls  # noqa: E402

GROUP = "customer-churn"
# The same file serves the AWS CLI commands of docs/try-it-yourself.md (--inference-specification file://...).
INFERENCE = json.loads((ROOT / "sandbox" / "inference-specification.json").read_text())
# Export jobs are followed through a delayed queue; the emulator's queue delays are real seconds,
# so the sandbox looks again at once instead of after the deployed 30 seconds.
# Approvals: the emulator's CloudTrail has every record at once, so what is not in the hub's history
# never will be; the sandbox decides at once instead of looking again for the deployed 30 minutes.
SANDBOX_ENVIRONMENT = {
    "FOLLOW_UP_DELAY_SECONDS": "0",
    "ATTRIBUTION_DEADLINE_SECONDS": "0",
    "RECHECK_DELAY_SECONDS": "0",
}


NOTICE_KINDS = ("notice-claim", "notice-sent")


class StepFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


@dataclass
class StepResult:
    title: str
    ok: bool
    lines: list[str]


class Sandbox:
    def __init__(
        self,
        assembly: Path,
        endpoint: str,
        out: Callable[[str], None] = print,
        *,
        organization: Organization | None = None,
        ous: Sequence[str] = (),
    ) -> None:
        self.endpoint = endpoint
        self.out = out
        # What the kept run (sandbox.live) sets over SANDBOX_ENVIRONMENT.
        self.live_environment: dict[str, str] = {}
        self.warm_sessions: dict[tuple[str, str], boto3.Session] = {}
        stacks = load_assembly(assembly)
        # Stack names are `<prefix>-hub` and `<prefix>-spoke-<name>` (GovernanceConfig).
        hubs = [name for name in stacks if name.endswith(HUB_STACK_SUFFIX)]
        if len(hubs) != 1:
            raise FileNotFoundError(f"{assembly} has no single <prefix>{HUB_STACK_SUFFIX} stack (found {hubs})")
        hub_stack = hubs[0]
        spoke_prefix = hub_stack.removesuffix(HUB_STACK_SUFFIX) + SPOKE_STACK_INFIX
        hub_account, hub_template = stacks[hub_stack]
        self.hub = Deployed(hub_stack, hub_account, session_for(hub_account, endpoint), endpoint, hub_template)
        self.spokes = {
            name.removeprefix(spoke_prefix): Deployed(name, account, session_for(account, endpoint), endpoint, template)
            for name, (account, template) in stacks.items()
            if name.startswith(spoke_prefix)
        }
        if not self.spokes:
            raise ValueError("the sandbox needs a config with at least one account spoke (see config/local.json)")
        if organization is not None:
            members = [s.account for s in self.spokes.values()]
            emulate_organization(
                organization.id, hub_account, members, management_account=organization.management_account, ous=ous
            )
        sqs = self.hub.client("sqs")
        url = sqs.create_queue(QueueName="reviewer-inbox")["QueueUrl"]
        self.inbox = (
            url,
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        )
        provision_hub(self.hub, self.inbox)
        for spoke in self.spokes.values():
            provision_spoke(spoke)
        # The guardrail stack (organization.guardrails): its SCP, created in the emulated organization.
        self.guardrail_policies: list[str] = []
        if organization is not None:
            for _, template in stacks.values():
                if service_control_policies(template):
                    self.guardrail_policies += deploy_guardrails(hub_account, template)
        # Outside an organization each spoke accepts its share once; inside one nobody is invited.
        self.accepted_invitations = self.accept_invitations()
        spokes = list(self.spokes.values())
        self.registry = spokes[0]  # the spoke whose data scientists register models
        # the spoke whose users read the shared cards: a read-only one where the config has one
        self.reader = next((s for s in spokes if not can_edit_cards(s)), spokes[-1])
        self.role_sessions: dict[str, boto3.Session] = {}
        # Spoke users work through the role the spoke stack gives them for shared cards.
        access_role = next(
            logical_id for logical_id, p in self.reader.resources("AWS::IAM::Role") if "ManagedPolicyArns" in p
        )
        self.reader_user = Deployed(
            self.reader.stack,
            self.reader.account,
            role_session(self.reader.account, self.reader.refs[access_role], endpoint),
            endpoint,
            self.reader.template,
        )
        # Each spoke's users work through the role its stack gives them for shared cards.
        registry_role = next(
            logical_id for logical_id, p in self.registry.resources("AWS::IAM::Role") if "ManagedPolicyArns" in p
        )
        self.registry_user = Deployed(
            self.registry.stack,
            self.registry.account,
            role_session(self.registry.account, self.registry.refs[registry_role], endpoint),
            endpoint,
            self.registry.template,
        )
        # A reviewer: a person in the hub who assumes the hub stack's reviewer role (docs/review-and-approval.md).
        workflow = next(f for f in self.hub.functions.values() if "APPROVERS" in f.environment)
        self.reviewer_role = json.loads(workflow.environment["APPROVERS"])[0]
        self.reviewer_person = role_session(
            self.hub.account, reviewer_person_role(self.hub, self.reviewer_role).split(":role/", 1)[1], endpoint
        )
        self.reviewer = role_session(
            self.hub.account,
            self.reviewer_role.rsplit("/", 1)[-1],
            endpoint,
            via=self.reviewer_person,
            session_name=REVIEWER_PERSON,  # the trust policy holds it equal to the source identity
            SourceIdentity=REVIEWER_PERSON,
        )
        # The hub's decision endpoint: its function behind a function URL (AuthType AWS_IAM).
        self.function_urls = {
            logical_id: function_urls.register(
                self.hub.attrs[(logical_id, "Arn")],
                functools.partial(self.invoke, self.hub.functions[logical_id]),
                policy=policy,
            )
            for logical_id, policy in template_function_urls(self.hub).items()
        }
        # The approval policy's steps, when the hub's policy has the groups and people they show.
        self.policy_walk = PolicyWalk.of(self)

    def accept_invitations(self) -> list[str]:
        """What a spoke administrator does once outside an organization (docs/spoke-users.md: accept the share).
        Returns the shares accepted, as `account: share name`."""
        accepted = []
        for spoke in self.spokes.values():
            ram = spoke.client("ram")
            for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
                if invitation["status"] == "PENDING":
                    ram.accept_resource_share_invitation(
                        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
                    )
                    accepted.append(f"{spoke.account}: {invitation['resourceShareName']}")
        return accepted

    # --- Running the Lambdas: their stand-in queues, drained into the real handlers ---------------

    def admin_role_arn(self, account: str) -> str:
        """The role an administrator of the account works in (AWS Organizations' access role)."""
        return access_role_arn(account)

    @contextmanager
    def function_environment(self, function: Function) -> Iterator[None]:
        """What Lambda gives the handler: its environment and its execution role's credentials."""
        if function.logical_id not in self.role_sessions:
            self.role_sessions[function.logical_id] = service_role_session(function.role_arn, name=function.logical_id)
        credentials = self.role_sessions[function.logical_id].get_credentials()
        assert credentials is not None
        values = {
            **function.environment,
            **SANDBOX_ENVIRONMENT,
            **self.live_environment,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
            "AWS_SESSION_TOKEN": credentials.token or "",
        }
        with ENVIRONMENT_LOCK:
            saved = {k: os.environ.get(k) for k in values}
            os.environ.update(values)
            # Lambda keeps a function's execution environment warm between invocations: its boto3
            # default session (with the service models it loaded) lives on while its credentials do.
            warm = (function.logical_id, credentials.access_key)
            boto3.DEFAULT_SESSION = self.warm_sessions.get(warm) or environment_session()
            try:
                yield
            finally:
                if boto3.DEFAULT_SESSION is not None:
                    self.warm_sessions[warm] = boto3.DEFAULT_SESSION
                boto3.DEFAULT_SESSION = None
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    def invoke(self, function: Function, payload: dict[str, Any]) -> Any:
        module_name, _, attribute = function.handler.rpartition(".")
        entry = getattr(importlib.import_module(module_name), attribute)
        with self.function_environment(function):
            return entry(payload)

    def pump(self) -> list[str]:
        """Deliver until nothing is left: EventBridge targets, then queue event sources."""
        sqs = self.hub.client("sqs")
        outcomes: list[str] = []
        for _ in range(100):
            moved = False
            for function in self.hub.functions.values():
                for message in drain(sqs, function.queue_url):
                    moved = True
                    event = json.loads(message["Body"])
                    result = self.invoke(function, event)
                    outcomes.append(f"{function.handler.split('.')[0]}: {json.dumps(result)}")
            for queue_id, function_id in self.hub.event_sources.items():
                messages = drain(sqs, self.hub.refs[queue_id])
                if messages:
                    moved = True
                    records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
                    result = self.invoke(self.hub.functions[function_id], {"Records": records})
                    outcomes.append(f"export follower: {json.dumps(result)}")
            if not moved:
                return outcomes
        raise StepFailed("events kept flowing after 100 rounds: a loop between handlers")

    # --- Reading state ------------------------------------------------------------------------------

    def card(self, name: str) -> dict[str, Any] | None:
        sagemaker = self.hub.client("sagemaker")
        try:
            described: dict[str, Any] = sagemaker.describe_model_card(ModelCardName=name)
        except sagemaker.exceptions.ResourceNotFound:
            return None
        return described

    def content(self, name: str) -> dict[str, Any]:
        card = self.card(name)
        expect(card is not None, f"card {name} does not exist in the hub")
        assert card is not None
        content: dict[str, Any] = json.loads(card["Content"])
        return content

    def package_status(self, arn: str) -> str:
        account = arn.split(":")[4]
        owner = (
            self.hub if account == self.hub.account else next(s for s in self.spokes.values() if s.account == account)
        )
        status: str = owner.client("sagemaker").describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        return status

    def notices(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.hub.client("sqs"), self.inbox[0])]

    def register(self, version: int) -> str:
        sagemaker = self.registry.client("sagemaker")
        if version == 1:
            sagemaker.create_model_package_group(ModelPackageGroupName=GROUP, ModelPackageGroupDescription="Churn")
        arn: str = sagemaker.create_model_package(
            ModelPackageGroupName=GROUP, InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
        )["ModelPackageArn"]
        expect(arn.endswith(f"/{version}"), f"the registry gave version {arn.rsplit('/', 1)[-1]}, expected {version}")
        return arn

    def card_of(self, version: int) -> str:
        """The hub's card of the registry spoke's version (the card name carries the account)."""
        return card_name_for(self.registry.account, GROUP, version)

    def set_status(self, card: str, status: str) -> None:
        """A status change by the hub's platform team (approvals are decisions: `decide`)."""
        self.hub.session.client("sagemaker", endpoint_url=self.endpoint).update_model_card(
            ModelCardName=card, ModelCardStatus=status
        )

    def decide(
        self,
        card: str,
        version: int,
        comment: str,
        *,
        decision: str = "approve",
        session: boto3.Session | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """A decision through the hub's decision endpoint, signed as scripts/review signs it (by
        default the reviewer's approval)."""
        (endpoint,) = self.function_urls.values()
        url = endpoint.url or "https://decisions.lambda-url.us-east-1.on.aws/"
        payload = {"card": card, "version": version, "decision": decision, "comment": comment}
        headers, body = signed(session or self.reviewer, url, REGION, payload)
        status, _, answer = function_urls.invoke(endpoint, "POST", url, headers, body)
        parsed: dict[str, Any] = json.loads(answer)
        return status, parsed

    def current_version(self, card: str) -> int:
        version: int = self.hub.client("sagemaker").describe_model_card(ModelCardName=card)["ModelCardVersion"]
        return version

    # --- The lifecycle --------------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], list[str]]]]:
        return self.lifecycle_steps() + (self.policy_walk.steps() if self.policy_walk else [])

    def lifecycle_steps(self) -> list[tuple[str, Callable[[], list[str]]]]:
        return [
            (f"A data scientist in spoke {self.registry.account} registers {GROUP} v1", self.step_register_v1),
            ("The card goes to review; reviewers get a notice with the diff", self.step_review),
            ("A reviewer approves the card", self.step_approve),
            ("v2 is registered; its card carries over v1's business details", self.step_register_v2),
            (f"A user in spoke {self.registry.account} sets v2's card Approved", self.step_spoke_approves),
            (
                f"The reviewer approves v2's card; at once a user in spoke {self.registry.account} writes a new "
                "version and sets it Approved",
                self.step_hijack,
            ),
            ("Someone approves v2's package before its card is approved", self.step_gate),
            (f"A user in spoke {self.reader.account} reads the shared card by ARN", self.step_spoke_reads),
            (
                f"Spoke {self.registry.account} disables its forwarding rule and approves v3 itself; "
                "the reconciler finds it",
                self.step_silenced_spoke,
            ),
        ]

    def step_register_v1(self) -> list[str]:
        self.package_v1 = self.register(1)
        self.pump()
        content = self.content(self.card_of(1))
        details = content.get("model_package_details", {})
        expect(
            details.get("model_package_arn") == self.package_v1,
            f"card {self.card_of(1)} is not linked to {self.package_v1}",
        )
        template = self.template_cards().get(GROUP)
        if template is not None:
            expect(
                content.get("intended_uses") == self.content(template).get("intended_uses"),
                "intended uses were not carried over from the group's template card",
            )
        shared = self.reader_user.client("ram").list_resources(
            resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard"
        )
        names = sorted(r["arn"].rsplit("/", 1)[-1] for r in shared["resources"])
        expect(self.card_of(1) in names, f"{self.card_of(1)} is not shared with {self.reader.account}: {names}")
        source = content["additional_information"]["custom_details"]["cloned_from_card"]
        return [
            f"package {self.package_v1}",
            f"hub card {self.card_of(1)}: cloned from {source}, linked to v{details['model_package_version']}",
            f"shared with {self.reader.account}: {', '.join(names)}",
        ]

    def step_review(self) -> list[str]:
        card = self.card_of(1)
        content = self.content(card)
        content["business_details"] = {"business_problem": "Retail customers leave", "line_of_business": "Retail"}
        self.hub.client("sagemaker").update_model_card(ModelCardName=card, Content=json.dumps(content))
        self.set_status(card, "PendingReview")
        self.pump()
        reviews = [n for n in self.notices() if n.get("Subject", "").endswith("awaits review")]
        expect(len(reviews) == 1, f"expected one review notice, got {len(reviews)}")
        expect("business_details.business_problem" in reviews[0]["Message"], "the notice does not show the diff")
        return [f"notice: {reviews[0]['Subject']}", *("  " + line for line in reviews[0]["Message"].splitlines())]

    def step_approve(self) -> list[str]:
        card = self.card_of(1)
        version = self.current_version(card)
        decided, answer = self.decide(card, version, "Business details and metrics reviewed")
        expect(decided == 200, f"the decision endpoint refused the reviewer: {answer}")
        outcomes = self.pump()
        status = self.package_status(self.package_v1)
        expect(status == "Approved", f"package v1 is {status}, expected Approved")
        bucket = self.hub.refs[next(i for i, p in self.hub.resources("AWS::S3::Bucket") if p.get("ObjectLockEnabled"))]
        listed = self.hub.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"evidence/{card}/")
        keys = sorted(o["Key"] for o in listed.get("Contents", []))
        expect(any(k.endswith("approval.json") for k in keys), f"no approval snapshot under evidence/{card}/")
        expect(any(k.endswith(".pdf") for k in keys), f"no exported PDF under evidence/{card}/")
        ledger = self.ledger(card)
        expect(("status", "Approved") in [(e["Kind"], e.get("Status")) for e in ledger], "no Approved ledger entry")
        expect(any(e["Kind"] == "evidence-pdf" for e in ledger), "the ledger does not record the exported PDF")
        gate = [o for o in outcomes if "approval stands" in o]
        expect(bool(gate), "the gate did not see the workflow's approval")
        effective = next((e for e in ledger if e["Kind"] == "approval-effective"), {})
        expect(effective.get("Principal") == self.reviewer_role, "the approval is not attributed to the reviewer role")
        return [
            f"scripts/review approve {card} --version {version}: {answer['outcome']}, {answer['person']}",
            f"approved by {effective['Person']} ({effective['Caller']}), decision on v{effective['Version']}",
            f"ledger: {', '.join(e.get('Status') or e['Kind'] for e in ledger if e['Kind'] not in NOTICE_KINDS)}",
            *(f"evidence: s3://{bucket}/{k}" for k in keys),
            f"package v1 in spoke {self.registry.account}: {status}",
            "gate: the workflow approved package v1 for this approval: the approval stands",
        ]

    def step_register_v2(self) -> list[str]:
        self.package_v2 = self.register(2)
        self.pump()
        content = self.content(self.card_of(2))
        expect(
            content.get("business_details", {}).get("business_problem") == "Retail customers leave",
            "v2's card did not carry over v1's business details",
        )
        expect(content.get("intended_uses", {}).get("risk_rating") == "Medium", "v2's card lost the intended uses")
        expect(
            content["model_package_details"]["model_package_arn"] == self.package_v2, "v2's card is not linked to v2"
        )
        custom = content["additional_information"]["custom_details"]
        return [
            f"hub card {self.card_of(2)} cloned from "
            f"{custom['cloned_from_card']} v{custom['cloned_from_card_version']}",
            f"business_details carried over: {content['business_details']}",
        ]

    def step_spoke_approves(self) -> list[str]:
        card = self.card_of(2)
        card_arn = f"arn:aws:sagemaker:{REGION}:{self.hub.account}:model-card/{card}"
        self.registry_user.client("sagemaker").update_model_card(ModelCardName=card_arn, ModelCardStatus="Approved")
        self.pump()
        status = self.hub.client("sagemaker").describe_model_card(ModelCardName=card)["ModelCardStatus"]
        expect(status == "PendingReview", f"card {card} is {status} after a spoke's approval, expected PendingReview")
        package = self.package_status(self.package_v2)
        expect(package == "PendingManualApproval", f"package v2 is {package} after a spoke's approval")
        refused = [e for e in self.ledger(card) if e["Kind"] == "approval-refused"]
        expect(len(refused) == 1, "the ledger does not record the refused approval")
        notices = [n for n in self.notices() if n.get("Subject", "").endswith("refused")]
        expect(len(notices) == 1, "reviewers were not told of the refused approval")
        return [
            f"card {card}: Approved by the spoke -> {status}",
            f"package v2: {package}",
            f"ledger: approval-refused ({refused[0]['Reason']})",
            f"notice: {notices[0]['Subject']}",
        ]

    def step_hijack(self) -> list[str]:
        card = self.card_of(2)
        card_arn = f"arn:aws:sagemaker:{REGION}:{self.hub.account}:model-card/{card}"
        decided_on = self.current_version(card)
        status, answer = self.decide(card, decided_on, "Reviewed the carried-over details")
        expect(status == 200, f"the decision endpoint refused the reviewer: {answer}")
        # Before the hub has looked: the decided version back to review, a new one, set Approved.
        spoke = self.registry_user.client("sagemaker")
        spoke.update_model_card(ModelCardName=card_arn, ModelCardStatus="PendingReview")
        content = json.loads(spoke.describe_model_card(ModelCardName=card_arn)["Content"])
        content["intended_uses"] = {**content.get("intended_uses", {}), "risk_rating": "Low"}
        spoke.update_model_card(ModelCardName=card_arn, Content=json.dumps(content))
        spoke.update_model_card(ModelCardName=card_arn, ModelCardStatus="Approved")
        self.pump()
        now, card_status = self.current_version(card), self.card(card) or {}
        expect(now == decided_on + 1, f"card {card} is at version {now}, expected {decided_on + 1}")
        expect(card_status.get("ModelCardStatus") == "PendingReview", f"card {card} v{now} was not set back")
        package = self.package_status(self.package_v2)
        expect(package == "PendingManualApproval", f"package v2 is {package} after the hijack")
        refused = [e for e in self.ledger(card) if e["Kind"] == "approval-refused" and e["Version"] == str(now)]
        expect(len(refused) == 1, f"the ledger does not record the refused approval of v{now}")
        notices = [n for n in self.notices() if n.get("Subject", "").endswith(f"v{now} refused")]
        expect(len(notices) == 1, "reviewers were not told of the refused approval")
        expect("scripts/review approve" in notices[0]["Message"], "the notice does not say how to decide again")
        stale, again = self.decide(card, decided_on, "Reviewed the carried-over details")
        expect(stale == 409, f"a decision on v{decided_on} was not refused: {again}")
        return [
            f"scripts/review approve {card} --version {decided_on}: {answer['outcome']}, {answer['person']}",
            f"spoke: v{decided_on} -> PendingReview, v{now} written, v{now} -> Approved, within a second",
            f"card {card}: v{now} Approved by the spoke -> {card_status.get('ModelCardStatus')}",
            f"package v2: {package}",
            f"ledger: approval-refused v{now} ({refused[0]['Reason']})",
            f"notice: {notices[0]['Subject']}",
            f"scripts/review approve {card} --version {decided_on} again: refused ({again['reason']})",
        ]

    def step_gate(self) -> list[str]:
        sagemaker = self.registry.client("sagemaker")
        if self.guardrail_policies:
            # The organization's guardrail SCP keeps Approved for the hub's approval-sync role.
            try:
                sagemaker.update_model_package(ModelPackageArn=self.package_v2, ModelApprovalStatus="Approved")
                refusal = ""
            except sagemaker.exceptions.ClientError as error:
                refusal = error.response["Error"]["Message"]
            expect("explicit deny in a service control policy" in refusal, "the guardrail did not refuse the approval")
            status = self.package_status(self.package_v2)
            expect(status == "PendingManualApproval", f"package v2 is {status} after a refused approval")
            return [f"package v2: Approved by the spoke's administrator -> refused by the guardrail SCP, {status}"]
        sagemaker.update_model_package(ModelPackageArn=self.package_v2, ModelApprovalStatus="Approved")
        self.pump()
        status = self.package_status(self.package_v2)
        expect(status == "PendingManualApproval", f"package v2 is {status}; the gate should have sent it back")
        reverted = [n for n in self.notices() if "reverted" in n.get("Subject", "")]
        expect(len(reverted) == 1, "reviewers were not told of the reverted approval")
        return [f"package v2: Approved by hand -> {status}", f"notice: {reverted[0]['Subject']}"]

    def step_silenced_spoke(self) -> list[str]:
        """The spoke's administrator owns its rules: disabled, its events reach no one, so the gate
        never hears of the approval. The reconciler (on its schedule in AWS; run here once) reads the
        registry through the spoke's registry-reader role and finds the version without a card and
        the approval without an effective one."""
        reconciler = next(f for f in self.hub.functions.values() if f.handler.startswith("reconciler."))
        rule = reconciler.environment["FORWARDING_RULE_NAME"]
        events = self.registry.client("events")
        if self.guardrail_policies:
            # The organization's guardrail SCP keeps the forwarding rule as the spoke stack made it.
            try:
                events.disable_rule(Name=rule)
                refusal = ""
            except events.exceptions.ClientError as error:
                refusal = error.response["Error"]["Message"]
            expect("explicit deny in a service control policy" in refusal, "the guardrail did not refuse DisableRule")
            state = events.describe_rule(Name=rule)["State"]
            expect(state == "ENABLED", f"the forwarding rule is {state} after a refused DisableRule")
            return [f"forwarding rule {rule}: DisableRule by the spoke's administrator -> refused by the guardrail SCP"]
        events.disable_rule(Name=rule)
        package = self.register(3)
        self.registry.client("sagemaker").update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
        self.pump()
        expect(self.package_status(package) == "Approved", "an event reached the hub through a disabled rule")
        report = self.reconcile(reconciler)
        self.pump()  # the auto-linker and the gate, handed their work by the reconciler
        status = self.package_status(package)
        expect(status == "PendingManualApproval", f"package v3 is {status}; the reconciler should have reverted it")
        card = self.card(self.card_of(3))
        expect(card is not None, f"v3 has no card {self.card_of(3)} after the reconciler ran")
        subjects = [n.get("Subject", "") for n in self.notices()]
        broken = f"Event forwarding of {self.registry.account} is broken"
        expect(broken in subjects, f"the hub's administrators were not told ({subjects})")
        events.enable_rule(Name=rule)
        return [
            *(f"reconciler: {line}" for line in report),
            f"package v3: Approved in the spoke -> {status}",
            f"card {self.card_of(3)} made for v3",
            f"notice: {broken}",
        ]

    def reconcile(self, reconciler: Function) -> list[str]:
        """One run of the reconciler with its function's environment and role. What it hands the
        auto-linker and the workflow goes to their stand-in queues, as an asynchronous invocation
        would (the emulator runs no Lambda service); a recheck goes to the workflow's recheck queue."""
        from reconciler import handler as reconciler_handler

        with self.function_environment(reconciler):
            clients = {name: boto3.client(name) for name in reconciler_handler.SERVICES}
            settings = dataclasses.replace(reconciler_handler.settings_from_environment(), grace_seconds=0)
            functions = {f.logical_id: f for f in self.hub.functions.values()}
            # The stand-ins take what Lambda would, as the platform (lambda:InvokeFunction is the
            # reconciler's grant, which the emulator, running no Lambda service, does not evaluate).
            dispatch = StandInDispatch(
                self.hub.client("sqs"),
                clients["sqs"],
                {
                    "auto_link": functions[reconciler.environment["AUTO_LINK_FUNCTION"]].queue_url,
                    "card_workflow": functions[reconciler.environment["WORKFLOW_FUNCTION"]].queue_url,
                },
                reconciler.environment["RECHECK_QUEUE_URL"],
            )
            report = reconciler_handler.run(clients, settings, dispatch)
        return [*report.done, *report.reported]

    def step_spoke_reads(self) -> list[str]:
        card_arn = f"arn:aws:sagemaker:{REGION}:{self.hub.account}:model-card/{self.card_of(1)}"
        sagemaker = self.reader_user.client("sagemaker")
        described = sagemaker.describe_model_card(ModelCardName=card_arn)
        versions = sagemaker.list_model_card_versions(ModelCardName=card_arn)["ModelCardVersionSummaryList"]
        lines = [
            f"describe-model-card {card_arn}: {described['ModelCardStatus']}, version {described['ModelCardVersion']}",
            f"list-model-card-versions: {[v['ModelCardVersion'] for v in versions]}",
        ]
        if can_edit_cards(self.reader):
            return lines  # the config has no read-only spoke to try an edit from
        try:
            sagemaker.update_model_card(ModelCardName=card_arn, Content="{}")
            denied = False
        except sagemaker.exceptions.ClientError as error:
            denied = error.response["Error"]["Code"] == "AccessDeniedException"
        expect(denied, "a read-only spoke could update the card")
        return [*lines, "update-model-card: AccessDeniedException (read-only share)"]

    def template_cards(self) -> dict[str, str]:
        """Model package group -> its template card, from the auto-link function's environment."""
        found: dict[str, str] = {}
        for function in self.hub.functions.values():
            found |= json.loads(function.environment.get("TEMPLATE_CARDS") or "{}")
        return found

    def ledger_table(self) -> str:
        table = next(i for i, p in self.hub.resources("AWS::DynamoDB::Table") if len(p["KeySchema"]) == 2)
        return str(self.hub.refs[table])

    def ledger(self, card: str) -> list[dict[str, str]]:
        from card_workflow.ledger import ledger_entries

        card_arn = f"arn:aws:sagemaker:{REGION}:{self.hub.account}:model-card/{card}"
        return ledger_entries(self.hub.client("dynamodb"), self.ledger_table(), card_arn)

    def summary(self) -> list[str]:
        rows = [("card", "version", "status", "linked package", "approval")]
        for summary in self.hub.client("sagemaker").list_model_cards()["ModelCardSummaries"]:
            card = self.card(summary["ModelCardName"])
            assert card is not None
            package = json.loads(card["Content"]).get("model_package_details", {}).get("model_package_arn", "")
            approval = self.package_status(package) if package else "-"
            short = package.split(":model-package/")[-1] if package else "-"
            rows.append(
                (card["ModelCardName"], str(card["ModelCardVersion"]), card["ModelCardStatus"], short, approval)
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]

    def run(self) -> list[StepResult]:
        results = []
        for number, (title, step) in enumerate(self.steps(), start=1):
            self.out(f"\n[{number}] {title}")
            try:
                lines = step()
                ok = True
            except StepFailed as failure:
                lines, ok = [f"FAILED: {failure}"], False
            for line in lines:
                self.out(f"    {line}")
            results.append(StepResult(title, ok, lines))
            if not ok:
                break  # later steps build on this one
        return results


class StandInDispatch:
    """The reconciler's dispatch in the sandbox: a function's stand-in queue takes what Lambda would."""

    def __init__(self, platform_sqs: Any, sqs: Any, stand_ins: dict[str, str], recheck_queue_url: str) -> None:
        self.platform_sqs, self.sqs, self.stand_ins = platform_sqs, sqs, stand_ins
        self.recheck_queue_url = recheck_queue_url

    def _send(self, function: str, event: Any) -> str:
        self.platform_sqs.send_message(QueueUrl=self.stand_ins[function], MessageBody=json.dumps(event))
        return f"{function} invoked"

    def link(self, event: Any) -> str:
        return self._send("auto_link", event)

    def gate(self, event: Any) -> str:
        return self._send("card_workflow", event)

    def card_event(self, event: Any) -> str:
        return self._send("card_workflow", event)

    def recheck(self, card_name: str) -> str:
        self.sqs.send_message(QueueUrl=self.recheck_queue_url, MessageBody=json.dumps({"card_name": card_name}))
        return f"recheck of {card_name} queued"

    def redrive(self, function: str, event: Any) -> str:
        return self._send(function, event)


def can_edit_cards(spoke: Deployed) -> bool:
    """Whether the spoke stack's policies let its users update shared cards (its share's access)."""
    return "sagemaker:UpdateModelCard" in json.dumps(
        [p["PolicyDocument"] for _, p in spoke.resources("AWS::IAM::ManagedPolicy")]
    )


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += batch
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the model card governance lifecycle locally.")
    parser.add_argument("--assembly", type=Path, default=ROOT / "cdk.out", help="synthesized cloud assembly")
    parser.add_argument("--config", type=Path, help="the config the assembly was synthesized from (names OU spokes)")
    parser.add_argument("--keep", action="store_true", help="keep the product running for the AWS CLI until Ctrl-C")
    parser.add_argument("--no-walk", action="store_true", help="provision only; skip the scripted lifecycle")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local-run", help="where --keep writes its files")
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # one handler run, one line, as it happens
    try:
        config = load_config(args.config) if args.config else None
    except ConfigError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    notes = not_emulated(config) if config else []
    os.environ.update(
        AWS_ACCESS_KEY_ID=ADMIN_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION=REGION
    )
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log
    server, endpoint = start()
    try:
        # Every run starts from an empty emulator, even inside a process that used it before.
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        print(f"emulator: {endpoint} (moto with the model card extension)")
        for note in notes:
            print(f"note: {note}")
        try:
            sandbox = sandbox_for(args.assembly, endpoint, config)
        except (FileNotFoundError, ValueError, KeyError) as error:
            print(f"sandbox: {error}", file=sys.stderr)
            return 2
        print(
            f"provisioned from {args.assembly}: hub {sandbox.hub.account}, spokes "
            f"{', '.join(s.account for s in sandbox.spokes.values())}"
        )
        if sandbox.accepted_invitations:
            print(f"spokes accepted {len(sandbox.accepted_invitations)} share invitations (outside an organization)")
        failed = 0
        if not args.no_walk:
            results = sandbox.run()
            print("\nSummary")
            for line in sandbox.summary():
                print(f"    {line}")
            # A failed step stops the run, so the steps never reached count as failed too.
            passed, total = sum(r.ok for r in results), len(sandbox.steps())
            failed = total - passed
            print(f"\n{passed} passed, {failed} failed")
        if args.keep:
            serve(sandbox, args.state_dir, notes=notes)
        return 1 if failed else 0
    finally:
        server.stop()  # type: ignore[attr-defined]


def sandbox_for(
    assembly: Path, endpoint: str, config: GovernanceConfig | None, out: Callable[[str], None] = print
) -> Sandbox:
    """The sandbox of the assembly synthesized from `config`: its organization and OUs emulated."""
    organization = config.organization if config else None
    ous = [spoke.ou for spoke in config.ou_spokes if spoke.ou] if config else []
    return Sandbox(assembly, endpoint, out, organization=organization, ous=ous)


def not_emulated(config: GovernanceConfig) -> list[str]:
    """What the config has that the local run plays differently or not at all."""
    notes = [
        f"spoke {spoke.name} (OU {spoke.ou}) is not emulated: the local run plays account spokes only"
        for spoke in config.ou_spokes
    ]
    if config.organization and config.organization.management_account not in (None, config.hub_account):
        notes.append(
            f"organization {config.organization.id}: the hub plays its management account "
            f"({config.organization.management_account} in the config)"
        )
    return notes


if __name__ == "__main__":
    sys.exit(main())
