"""The local run's steps of the approval policy (config `approval_policy`), after the lifecycle's.

They run when the hub's policy has what they show: a High tier whose first two groups name people,
the local reviewer (model-risk@example.com) among the first group's, an incident group with a
person, and a review interval that reverts on expiry (config/local.json has all of it). On v2's
card, which the lifecycle's steps left in review:

- a High rating needs a person of each group: one approval leaves it "1 of 2" with no package
  change; the same person again, or a second person of the same group, change nothing;
- the spoke's content edit is a new version: the decisions on the last one do not count for it;
- the second group's approval makes it effective: package Approved with the policy's stage;
- only the incident group suspends; lifting the suspension needs a new approval under the tier;
- a year on, the review sweep reverts the overdue approval (package and stage) once;
- lowering the rating in content is still reviewed at the tier of the last approved version;
- a request for changes sends the card back to Draft and reaches the spoke on its own bus.

Every decision goes through the hub's decision endpoint, signed by the person's session of the
reviewer role (its trust policy holds the session name equal to the source identity).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from card_workflow.approval_policy import ApprovalPolicy
from card_workflow.ledger import verify_table
from card_workflow.reviews import REVIEW_DECISION, REVIEW_SOURCE

from emulator.sessions import role_session
from sandbox.personas import REVIEWER_PERSON
from sandbox.provision import REGION

if TYPE_CHECKING:
    from sandbox.run import Sandbox

SPOKE_INBOX = "review-decisions"
# The time of day of a due date: the walk shows the date.
ISO_TIME = re.compile(r"(?<=\d{4}-\d{2}-\d{2})T[0-9:.]+\+00:00")


@dataclass(frozen=True)
class People:
    """Who decides in the policy steps, by the policy's groups."""

    first_group: str  # the High tier's first group: the local reviewer is one of its people
    second_group: str
    colleague: str  # another person of the first group
    owner: str  # a person of the second group
    incident: str  # a person of the incident group


def people_of(policy: ApprovalPolicy, reviewer_role: str) -> People | None:
    """The personas the steps need from the policy, or None when it lacks them."""
    high = policy.tiers.get("High")
    groups = list(dict.fromkeys(high.groups)) if high else []
    incident = policy.groups.get(policy.incident_group or "")
    if len(groups) < 2 or incident is None or policy.on_expiry != "revert" or policy.on_approval is None:
        return None
    first, second = (policy.groups[g] for g in groups[:2])
    if not all(group.admits(reviewer_role, group.people[0] if group.people else None) for group in (first, second)):
        return None
    colleagues = [p for p in first.people if p.casefold() != REVIEWER_PERSON.casefold()]
    if len(colleagues) == len(first.people) or not colleagues or not second.people or not incident.people:
        return None
    return People(groups[0], groups[1], colleagues[0], second.people[0], incident.people[0])


class PolicyWalk:
    def __init__(self, sandbox: Sandbox, policy: ApprovalPolicy, people: People) -> None:
        self.sandbox, self.policy, self.people = sandbox, policy, people
        self.sessions: dict[str, boto3.Session] = {}

    @classmethod
    def of(cls, sandbox: Sandbox) -> PolicyWalk | None:
        from card_workflow.tiers import policy_from_environment

        workflow = next(f for f in sandbox.hub.functions.values() if "APPROVERS" in f.environment)
        policy = policy_from_environment(workflow.environment.get("APPROVAL_POLICY"))
        people = people_of(policy, sandbox.reviewer_role) if policy else None
        return cls(sandbox, policy, people) if policy and people else None

    def steps(self) -> list[tuple[str, Callable[[], list[str]]]]:
        p = self.people
        return [
            (
                f"A spoke user rates v2's card High; one {p.first_group} approval leaves it at 1 of 2",
                self.step_first_of_two,
            ),
            (
                f"The same person again, and a second person of {p.first_group}, change nothing",
                self.step_same_group,
            ),
            ("The spoke edits the card: decisions on the earlier version do not count", self.step_edit_voids),
            (
                f"A person of {p.first_group} approves too: the approval takes effect, with its lifecycle stage",
                self.step_effective,
            ),
            (
                f"The {self.policy.incident_group} group suspends v2's card; lifting it needs a new approval",
                self.step_suspend,
            ),
            (
                f"{self.policy.review_interval_days} days on, the review is overdue: the sweep reverts it once",
                self.step_expiry,
            ),
            ("The spoke lowers the rating to Low: the tier of the last approval still applies", self.step_lowered),
            (
                f"A person of {p.second_group} requests changes: Draft, and the spoke gets the comment",
                self.step_request_changes,
            ),
        ]

    # --- Helpers --------------------------------------------------------------------------------------

    @property
    def card(self) -> str:
        return self.sandbox.card_of(2)

    def session(self, person: str) -> boto3.Session:
        if person == REVIEWER_PERSON:
            return self.sandbox.reviewer
        if person not in self.sessions:
            self.sessions[person] = role_session(
                self.sandbox.hub.account,
                self.sandbox.reviewer_role.rsplit("/", 1)[-1],
                self.sandbox.endpoint,
                via=self.sandbox.reviewer_person,
                session_name=person,
                SourceIdentity=person,
            )
        return self.sessions[person]

    def decide(self, person: str, decision: str, comment: str, version: int | None = None) -> tuple[int, Any]:
        version = version or self.sandbox.current_version(self.card)
        return self.sandbox.decide(self.card, version, comment, decision=decision, session=self.session(person))

    def said(self, person: str, decision: str, version: int, answer: dict[str, Any]) -> str:
        """A decision as scripts/review shows it."""
        told = answer.get("policy") or answer.get("status") or answer.get("reason")
        return f"scripts/review {decision} {self.card} --version {version} ({person}): {answer['outcome']}, {told}"

    def spoke_writes(self, change: Callable[[dict[str, Any]], None]) -> int:
        """The registering spoke's user writes a new version of the card and submits it for review."""
        arn = f"arn:aws:sagemaker:{REGION}:{self.sandbox.hub.account}:model-card/{self.card}"
        spoke = self.sandbox.registry_user.client("sagemaker")
        content = json.loads(spoke.describe_model_card(ModelCardName=arn)["Content"])
        change(content)
        # A new version (content), then its status: SageMaker takes one or the other per request.
        spoke.update_model_card(ModelCardName=arn, Content=json.dumps(content))
        if spoke.describe_model_card(ModelCardName=arn)["ModelCardStatus"] != "PendingReview":
            spoke.update_model_card(ModelCardName=arn, ModelCardStatus="PendingReview")
        self.sandbox.pump()
        self.sandbox.notices()  # the review notice of the new version
        return self.sandbox.current_version(self.card)

    def package(self) -> tuple[str, str]:
        """Package v2's approval status and lifecycle stage (Stage/StageStatus, "-" without one)."""
        described = self.sandbox.registry.client("sagemaker").describe_model_package(
            ModelPackageName=self.sandbox.package_v2
        )
        stage = described.get("ModelLifeCycle")
        shown = f"{stage['Stage']}/{stage['StageStatus']}" if stage else "none"
        return described["ModelApprovalStatus"], shown

    def told(self) -> list[str]:
        """The notices reviewers got since the last look."""
        return [f"notice: {n.get('Subject', '')}" for n in self.sandbox.notices()]

    def status(self) -> str:
        card = self.sandbox.card(self.card) or {}
        return str(card.get("ModelCardStatus"))

    def unchanged(self) -> str:
        status, stage = self.package()
        expect(status == "PendingManualApproval", f"package v2 is {status}; the policy is not met")
        expect(self.status() == "PendingReview", f"card {self.card} is {self.status()}, expected PendingReview")
        return f"card {self.card}: PendingReview; package v2: {status} (stage {stage})"

    def approved(self, answer: dict[str, Any]) -> list[str]:
        expect("of" in str(answer.get("policy")), f"the endpoint gave no verdict: {answer}")
        outcomes = self.sandbox.pump()
        status, stage = self.package()
        want = self.policy.on_approval
        assert want is not None
        expect(status == "Approved", f"package v2 is {status} after the policy was met ({outcomes})")
        expect(stage == f"{want.stage}/{want.status}", f"package v2's stage is {stage}")
        return [f"card {self.card}: {self.status()}; package v2: {status}, stage {stage}"]

    # --- The steps ------------------------------------------------------------------------------------

    def step_first_of_two(self) -> list[str]:
        version = self.spoke_writes(lambda c: c.setdefault("intended_uses", {}).update(risk_rating="High"))
        code, answer = self.decide(REVIEWER_PERSON, "approve", "Validation report reviewed")
        expect(code == 200, f"the endpoint refused the reviewer: {answer}")
        text = str(answer.get("policy"))
        expect(text.startswith("1 of 2"), f"the verdict is {text!r}, expected 1 of 2")
        self.sandbox.pump()
        partial = [n for n in self.sandbox.notices() if n.get("Subject", "").endswith("1 of 2 approvals")]
        expect(len(partial) == 1, "reviewers were not told of the partial approval")
        return [
            f"spoke: v{version} written with intended_uses.risk_rating High, PendingReview",
            self.said(REVIEWER_PERSON, "approve", version, answer),
            f"notice: {partial[0]['Subject']}",
            self.unchanged(),
        ]

    def step_same_group(self) -> list[str]:
        version = self.sandbox.current_version(self.card)
        _, again = self.decide(REVIEWER_PERSON, "approve", "Validation report reviewed")
        expect(again.get("outcome") == "already recorded", f"a repeated decision was recorded anew: {again}")
        code, second = self.decide(self.people.colleague, "approve", "Second validation")
        expect(code == 200 and str(second.get("policy")).startswith("1 of 2"), f"verdict {second}")
        self.sandbox.pump()
        return [
            self.said(REVIEWER_PERSON, "approve", version, again),
            self.said(self.people.colleague, "approve", version, second),
            *self.told(),
            self.unchanged(),
        ]

    def step_edit_voids(self) -> list[str]:
        before = self.sandbox.current_version(self.card)

        def caveat(content: dict[str, Any]) -> None:
            content.setdefault("intended_uses", {})["intended_uses"] = "Rank retail customers for retention offers only"

        version = self.spoke_writes(caveat)
        expect(version == before + 1, f"the edit made version {version}")
        code, answer = self.decide(self.people.owner, "approve", "Business case holds")
        text = str(answer.get("policy"))
        expect(code == 200 and text.startswith("1 of 2") and f"{self.people.first_group} pending" in text, text)
        self.sandbox.pump()
        return [
            f"spoke: v{version} written (intended uses narrowed); v{before}'s two approvals cover only v{before}",
            self.said(self.people.owner, "approve", version, answer),
            *self.told(),
            self.unchanged(),
        ]

    def step_effective(self) -> list[str]:
        version = self.sandbox.current_version(self.card)
        code, answer = self.decide(REVIEWER_PERSON, "approve", "Validation report reviewed")
        expect(code == 200, f"the endpoint refused the reviewer: {answer}")
        lines = [self.said(REVIEWER_PERSON, "approve", version, answer), *self.approved(answer)]
        decisions = [e for e in self.sandbox.ledger(self.card) if e["Kind"] == "decision"]
        chain = verify_table(self.sandbox.hub.client("dynamodb"), self.sandbox.ledger_table())
        expect(chain.broken == (), f"the ledger's chain is broken: {chain.broken}")
        return [
            *lines,
            *(f"ledger: decision v{e['Version']} {e['Decision']} by {e['Person']} ({e['Groups']})" for e in decisions),
            f"ledger: {chain.entries} entries, chain intact",
            *self.told(),
        ]

    def step_suspend(self) -> list[str]:
        version = self.sandbox.current_version(self.card)
        reason = "INC-1042: drift on the retail segment"
        code, refused = self.decide(REVIEWER_PERSON, "suspend", reason)
        expect(code == 403, f"a person outside the incident group suspended the card: {refused}")
        expect(self.package()[0] == "Approved", "a refused suspension changed the package")
        code, answer = self.decide(self.people.incident, "suspend", reason)
        expect(code == 200, f"the incident group could not suspend: {answer}")
        self.sandbox.pump()
        suspended = self.package()
        want = self.policy.on_suspension
        expect(suspended[0] == "PendingManualApproval", f"package v2 is {suspended[0]} while suspended")
        if want is not None:
            expect(suspended[1] == f"{want.stage}/{want.status}", f"package v2's stage is {suspended[1]}")
        code, lifted = self.decide(self.people.incident, "reinstate", "INC-1042 resolved")
        expect(code == 200, f"the incident group could not lift the suspension: {lifted}")
        self.sandbox.pump()
        expect(self.package()[0] == "PendingManualApproval", "lifting the suspension approved the package")
        told = self.told()
        expect(any(line.endswith("suspended") for line in told), f"nobody was told of the suspension: {told}")
        _, first = self.decide(REVIEWER_PERSON, "approve", "Drift fix validated")
        expect(str(first.get("policy")).startswith("1 of 2"), f"decisions before the suspension counted: {first}")
        _, second = self.decide(self.people.owner, "approve", "Business case holds")
        return [
            f"scripts/review suspend {self.card} --version {version} ({REVIEWER_PERSON}): {refused['reason']}",
            self.said(self.people.incident, "suspend", version, answer),
            f"package v2: {suspended[0]} (stage {suspended[1]})",
            self.said(self.people.incident, "reinstate", version, lifted),
            *told,
            self.said(REVIEWER_PERSON, "approve", version, first),
            self.said(self.people.owner, "approve", version, second),
            *self.approved(second),
            *self.told(),
        ]

    def step_expiry(self) -> list[str]:
        """The workflow's daily sweep, run here for v2's card as if the interval had passed."""
        from card_workflow import handler as workflow_handler
        from card_workflow.reviews import sweep_reviews

        days = (self.policy.review_interval_days or 0) + 1
        workflow = next(f for f in self.sandbox.hub.functions.values() if "APPROVERS" in f.environment)
        arn = f"arn:aws:sagemaker:{REGION}:{self.sandbox.hub.account}:model-card/{self.card}"

        def sweep(at: datetime) -> list[str]:
            with self.sandbox.function_environment(workflow):
                return sweep_reviews(
                    at,
                    sagemaker=boto3.client("sagemaker"),
                    dynamodb=boto3.client("dynamodb"),
                    sns=boto3.client("sns"),
                    sts=boto3.client("sts"),
                    settings=workflow_handler.settings_from_environment(),
                    card_arns=[arn],
                )

        later = datetime.now(UTC) + timedelta(days=days)
        first = sweep(later)
        reverted = self.package()
        want = self.policy.on_revert
        expect(reverted[0] == "PendingManualApproval", f"package v2 is {reverted[0]} after the expiry ({first})")
        if want is not None:
            expect(reverted[1] == f"{want.stage}/{want.status}", f"package v2's stage is {reverted[1]}")
        again = sweep(later + timedelta(days=1))
        kinds = [e["Kind"] for e in self.sandbox.ledger(self.card)]
        expect(kinds.count("review-expired") == 1, "the expiry was recorded more than once")
        expect(self.package() == reverted, "a second sweep changed the package again")
        told = self.told()
        expect(any(line.endswith("expired") for line in told), f"nobody was told of the expiry: {told}")
        return [
            *(f"sweep (+{days} days): {ISO_TIME.sub('', line)}" for line in first),
            *(f"sweep (+{days + 1} days): {ISO_TIME.sub('', line)}" for line in again),
            f"package v2: {reverted[0]} (stage {reverted[1]}); card {self.card}: {self.status()}",
            *told,
        ]

    def step_lowered(self) -> list[str]:
        version = self.spoke_writes(lambda c: c.setdefault("intended_uses", {}).update(risk_rating="Low"))
        code, answer = self.decide(REVIEWER_PERSON, "approve", "Rating lowered after the drift fix")
        text = str(answer.get("policy"))
        expect(code == 200 and text.startswith("1 of 2"), f"a lowered rating was reviewed at its own tier: {text}")
        self.sandbox.pump()
        return [
            f"spoke: v{version} written with intended_uses.risk_rating Low, PendingReview",
            self.said(REVIEWER_PERSON, "approve", version, answer),
            *self.told(),
            self.unchanged(),
        ]

    def step_request_changes(self) -> list[str]:
        spoke = self.sandbox.registry
        sqs = spoke.client("sqs")
        url = sqs.create_queue(QueueName=SPOKE_INBOX)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = spoke.client("events")
        pattern = {"source": [REVIEW_SOURCE], "detail-type": [REVIEW_DECISION]}
        rule_arn = events.put_rule(Name=SPOKE_INBOX, EventPattern=json.dumps(pattern))["RuleArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy(queue_arn, rule_arn))})
        events.put_targets(Rule=SPOKE_INBOX, Targets=[{"Id": "inbox", "Arn": queue_arn}])
        version = self.sandbox.current_version(self.card)
        comment = "Show the fairness evaluation on the retail segment before lowering the rating"
        code, answer = self.decide(self.people.owner, "request-changes", comment)
        expect(code == 200 and answer.get("status") == "Draft", f"the request for changes was refused: {answer}")
        self.sandbox.pump()
        expect(self.status() == "Draft", f"card {self.card} is {self.status()}, expected Draft")
        from sandbox.run import drain

        received = [json.loads(m["Body"]) for m in drain(sqs, url)]
        expect(len(received) == 1, f"the spoke received {len(received)} review decisions")
        detail = received[0]["detail"]
        expect(detail.get("comment") == comment, f"the spoke received {detail}")
        return [
            f"spoke {spoke.account}: rule {SPOKE_INBOX} on its default bus -> queue {SPOKE_INBOX}",
            self.said(self.people.owner, "request-changes", version, answer),
            f"card {self.card}: {self.status()}",
            f"spoke {spoke.account} receives {received[0]['detail-type']}: {detail['decision']} of "
            f"v{detail['version']} by {detail['person']}: {detail['comment']}",
        ]


def queue_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """What lets the spoke's rule deliver to its queue (EventBridge User Guide, "Permissions for Amazon SQS")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def expect(condition: bool, message: str) -> None:
    from sandbox.run import StepFailed

    if not condition:
        raise StepFailed(message)
