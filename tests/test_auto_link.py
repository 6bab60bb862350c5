"""Auto-link against the emulator: every new package version gets its own cloned, linked, shared card."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import sys
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.accounts import allow_put_events, session_for
from tests.conftest import ROOT, load_event

sys.path.insert(0, str(ROOT / "lambdas"))

from auto_link import card_linker
from auto_link import handler as auto_link_handler
from shared.runtime import RETRIES

HUB = "111111111111"
SPOKE = "222222222222"
EDIT = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelCards"


def new_version_event(group: str, version: int, account: str = HUB) -> dict[str, Any]:
    """AWS's sample event for another group and version, as a creation (no UpdatedModelPackageFields)."""
    event = load_event("model-package-state-change")
    arn = f"arn:aws:sagemaker:us-east-1:{account}:model-package/{group}/{version}"
    event["account"], event["region"], event["resources"] = account, "us-east-1", [arn]
    detail = event["detail"]
    detail.update(ModelPackageGroupName=group, ModelPackageVersion=version, ModelPackageArn=arn)
    detail["ModelApprovalStatus"] = "PendingManualApproval"
    del detail["UpdatedModelPackageFields"]
    return event


class Hub:
    """The hub's resources in the emulator, and the linker's settings pointing at them."""

    def __init__(self) -> None:
        self.session = session_for(HUB)
        self.sagemaker = self.session.client("sagemaker")
        self.ram = self.session.client("ram")
        self.dynamodb = self.session.client("dynamodb")
        self.sqs = self.session.client("sqs")
        self.dynamodb.create_table(
            TableName="card-index",
            KeySchema=[{"AttributeName": "Group", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Group", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dynamodb.create_table(
            TableName="card-links",
            KeySchema=[{"AttributeName": "CardName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "CardName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.share = self.ram.create_resource_share(name="cards", principals=[SPOKE], permissionArns=[EDIT])[
            "resourceShare"
        ]["resourceShareArn"]
        self.dlq = self.sqs.create_queue(QueueName="auto-link-dlq")["QueueUrl"]
        # The card key: SageMaker uses it for the caller, so it must exist and its policy allow.
        self.key_arn = self.session.client("kms").create_key()["KeyMetadata"]["Arn"]
        self.settings = card_linker.LinkerSettings(
            card_key_arn=self.key_arn, share_arns=[self.share], index_table="card-index", link_table="card-links"
        )

    def link(self, event: dict[str, Any], **overrides: Any) -> card_linker.LinkResult:
        clients = {"sagemaker": self.sagemaker, "ram": self.ram, "dynamodb": self.dynamodb, **overrides}
        return card_linker.link_new_version(event, settings=self.settings, **clients)

    def content(self, name: str) -> dict[str, Any]:
        described: dict[str, Any] = json.loads(self.sagemaker.describe_model_card(ModelCardName=name)["Content"])
        return described

    def shared(self) -> list[str]:
        ram = session_for(SPOKE).client("ram")
        for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
            if invitation["status"] == "PENDING":
                ram.accept_resource_share_invitation(
                    resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
                )
        listed = ram.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard")["resources"]
        return sorted(r["arn"].rsplit("/", 1)[-1] for r in listed)


@pytest.fixture
def hub(aws: None) -> Hub:
    return Hub()


def edit_v1(hub: Hub) -> None:
    """A person fills in v1's business details and intended uses (a new card version)."""
    content = hub.content("churn-111111111111-v1")
    content["business_details"] = {"business_problem": "Retail churn", "line_of_business": "Retail"}
    content["intended_uses"] = {"purpose_of_model": "Retention offers", "risk_rating": "Medium"}
    content["training_details"] = {"training_observations": "v1 only"}
    hub.sagemaker.update_model_card(ModelCardName="churn-111111111111-v1", Content=json.dumps(content))


def test_v2_carries_over_v1_and_links_its_own_package(hub: Hub) -> None:
    assert hub.link(new_version_event("churn", 1)).action == "created"
    edit_v1(hub)
    result = hub.link(new_version_event("churn", 2))
    assert (result.action, result.card_name, result.source_card) == (
        "created",
        "churn-111111111111-v2",
        "churn-111111111111-v1",
    )
    v2 = hub.content("churn-111111111111-v2")
    assert v2["business_details"]["business_problem"] == "Retail churn"
    assert v2["intended_uses"]["risk_rating"] == "Medium"
    # Training belongs to the new version: v1's observations stay behind, v2's package's lineage is in.
    image = new_version_event("churn", 2)["detail"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert v2["training_details"] == {"training_job_details": {"training_environment": {"container_image": [image]}}}
    assert v2["model_package_details"]["model_package_arn"].endswith("/churn/2")
    assert v2["model_package_details"]["model_package_version"] == 2
    assert v2["model_package_details"]["inference_specification"]["containers"][0]["image"].endswith("py3")
    custom = v2["additional_information"]["custom_details"]
    assert {k: v for k, v in custom.items() if k.startswith("cloned_")} == {
        "cloned_from_card": "churn-111111111111-v1",
        "cloned_from_card_version": "2",
    }
    assert custom["imported_from_package"].endswith("/churn/2")
    assert custom["imported_sections"] == "training_details"
    assert custom["not_imported_ModelQuality_Statistics"] == "the auto-linker is not configured to read reports"
    card = hub.sagemaker.describe_model_card(ModelCardName="churn-111111111111-v2")
    assert (card["ModelCardStatus"], card["SecurityConfig"]) == ("Draft", {"KmsKeyId": hub.key_arn})
    assert hub.shared() == ["churn-111111111111-v1", "churn-111111111111-v2"]


def test_a_version_without_card_is_skipped_over(hub: Hub) -> None:
    hub.link(new_version_event("churn", 1))
    edit_v1(hub)
    # v2 was registered before auto-link existed: no card. v3 carries over from v1.
    result = hub.link(new_version_event("churn", 3))
    assert result.source_card == "churn-111111111111-v1"
    assert hub.content("churn-111111111111-v3")["business_details"]["business_problem"] == "Retail churn"


def test_a_deleted_card_is_passed_over_as_clone_source_and_named(hub: Hub) -> None:
    """A hub principal deleted v2's card (DeleteModelCard is a name, nothing more): v3 still gets
    its card, cloned from the highest earlier card that exists, and the deleted one is named."""
    hub.link(new_version_event("churn", 1))
    edit_v1(hub)
    hub.link(new_version_event("churn", 2))
    hub.sagemaker.delete_model_card(ModelCardName="churn-111111111111-v2")
    result = hub.link(new_version_event("churn", 3))
    assert (result.action, result.source_card, list(result.deleted_sources)) == (
        "created",
        "churn-111111111111-v1",
        ["churn-111111111111-v2"],
    )
    assert hub.content("churn-111111111111-v3")["business_details"]["business_problem"] == "Retail churn"
    # Every earlier card gone: the version still gets its card, from nothing, and both are named.
    hub.sagemaker.delete_model_card(ModelCardName="churn-111111111111-v1")
    hub.sagemaker.delete_model_card(ModelCardName="churn-111111111111-v3")
    alone = hub.link(new_version_event("churn", 4))
    assert (alone.action, alone.source_card) == ("created", None)
    assert list(alone.deleted_sources) == ["churn-111111111111-v3", "churn-111111111111-v2", "churn-111111111111-v1"]
    assert hub.content("churn-111111111111-v4")["model_package_details"]["model_package_arn"].endswith("/churn/4")


def test_out_of_order_versions_take_the_highest_earlier_card(hub: Hub) -> None:
    hub.link(new_version_event("churn", 1))
    assert hub.link(new_version_event("churn", 3)).source_card == "churn-111111111111-v1"
    assert hub.link(new_version_event("churn", 2)).source_card == "churn-111111111111-v1"
    assert hub.link(new_version_event("churn", 4)).source_card == "churn-111111111111-v3"


def test_first_version_starts_from_the_template_or_an_empty_card(hub: Hub) -> None:
    empty = hub.link(new_version_event("fraud", 1))
    assert empty.source_card is None
    overview = hub.content("fraud-111111111111-v1")["model_overview"]
    assert (overview["model_name"], overview["model_version"]) == ("fraud", 1)
    assert overview["inference_environment"]["container_image"][0].endswith("py3")
    template = {"business_details": {"business_problem": "Money laundering"}, "model_overview": {"model_owner": "aml"}}
    hub.sagemaker.create_model_card(ModelCardName="aml", Content=json.dumps(template), ModelCardStatus="Draft")
    hub.settings = card_linker.LinkerSettings(
        card_key_arn=hub.key_arn,
        share_arns=[hub.share],
        index_table="card-index",
        link_table="card-links",
        template_cards={"aml": "aml"},
    )
    assert hub.link(new_version_event("aml", 1)).source_card == "aml"
    content = hub.content("aml-111111111111-v1")
    assert content["business_details"] == {"business_problem": "Money laundering"}
    assert "model_overview" not in hub.settings.carry_over
    # The owner describes the model, not the version: it carries over even so.
    overview = content["model_overview"]
    assert (overview["model_owner"], overview["model_name"], overview["model_version"]) == ("aml", "aml", 1)


def test_duplicate_delivery_yields_one_card_and_one_association(hub: Hub) -> None:
    event = new_version_event("churn", 1)
    assert hub.link(event).action == "created"
    assert hub.link(copy.deepcopy(event)).action == "completed"
    versions = hub.sagemaker.list_model_card_versions(ModelCardName="churn-111111111111-v1")[
        "ModelCardVersionSummaryList"
    ]
    assert len(versions) == 1
    assert hub.shared() == ["churn-111111111111-v1"]


def test_concurrent_duplicates_yield_one_card(hub: Hub) -> None:
    event = new_version_event("churn", 1)
    results: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(hub.link(copy.deepcopy(event)).action)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == ["completed", "completed", "completed", "created"]
    assert (
        len(
            hub.sagemaker.list_model_card_versions(ModelCardName="churn-111111111111-v1")["ModelCardVersionSummaryList"]
        )
        == 1
    )


def test_a_card_name_taken_first_is_passed_over_and_recorded(hub: Hub) -> None:
    from shared.card_links import card_link, package_plan

    squat = hub.sagemaker.create_model_card(
        ModelCardName="churn-111111111111-v1", Content="{}", ModelCardStatus="Draft"
    )["ModelCardArn"]
    result = hub.link(new_version_event("churn", 1))
    assert result.action == "created"
    assert result.card_name is not None and result.card_name.startswith("churn-111111111111-v1-n")
    assert card_linker.CARD_NAME.match(result.card_name) and len(result.card_name) <= 63
    package = f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/churn/1"
    plan = package_plan(hub.dynamodb, "card-links", package)
    assert plan is not None and plan.card_name == result.card_name
    assert [entry.split()[:2] for entry in plan.squatted] == [["churn-111111111111-v1", squat]]
    # The squatting card is bound to nothing; the hub's own card is, with what SageMaker returned.
    assert card_link(hub.dynamodb, "card-links", "churn-111111111111-v1") is None
    link = card_link(hub.dynamodb, "card-links", result.card_name)
    assert link is not None and link.package_arn == package and link.card_arn.endswith("/" + result.card_name)
    # A second delivery completes the same card.
    assert hub.link(new_version_event("churn", 1)).card_name == result.card_name


def test_long_group_names_get_distinct_stable_names() -> None:
    first, second = "a" * 60 + "-one", "a" * 60 + "-two"
    names = {card_linker.card_name_for(HUB, g, 12) for g in (first, second)}
    names.add(card_linker.card_name_for(SPOKE, first, 12))
    assert len(names) == 3
    for name in names:
        assert len(name) <= 63
        assert card_linker.CARD_NAME.match(name)
        assert name.endswith("-v12")
    assert card_linker.card_name_for(HUB, first, 12) == card_linker.card_name_for(HUB, first, 12)
    assert card_linker.card_name_for(SPOKE, "churn", 7) == "churn-222222222222-v7"
    longest = card_linker.card_name_for(SPOKE, "x" * 63, 2_000_000_000)
    assert len(longest) == 63 and card_linker.CARD_NAME.match(longest)
    with pytest.raises(ValueError, match="not a 12-digit AWS account ID"):
        card_linker.card_name_for("hub", "churn", 1)
    # A name with the hub's nonce stays in the pattern and length, and is never a plain name.
    nonce = card_linker.card_name_for(SPOKE, "x" * 63, 2_000_000_000, "0123abcd")
    assert len(nonce) == 63 and card_linker.CARD_NAME.match(nonce) and nonce.endswith("-n0123abcd")


def test_long_group_name_end_to_end(hub: Hub) -> None:
    group = "customer-lifetime-value-prediction-for-retail-banking-products"
    hub.link(new_version_event(group, 1))
    name = card_linker.card_name_for(HUB, group, 1)
    assert hub.content(name)["model_package_details"]["model_package_group_name"] == group


def test_update_events_create_nothing(hub: Hub) -> None:
    result = hub.link(load_event("model-package-state-change"))  # verbatim: UpdatedModelPackageFields present
    assert result.action == "ignored"
    assert hub.sagemaker.list_model_cards()["ModelCardSummaries"] == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e["detail"].pop("ModelPackageGroupName"), "detail.ModelPackageGroupName is missing"),
        (lambda e: e["detail"].pop("ModelPackageVersion"), "detail.ModelPackageVersion is missing"),
        (lambda e: e["detail"].update(ModelPackageArn="not-an-arn"), "detail.ModelPackageArn is missing"),
        (lambda e: e.update({"detail-type": "SageMaker Model Card State Change"}), "detail-type is"),
    ],
)
def test_malformed_events_go_to_the_dlq_with_the_reason(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, mutate: Any, message: str
) -> None:
    event = new_version_event("churn", 1)
    mutate(event)
    for name, value in {
        "CARD_KEY_ARN": hub.key_arn,
        "SHARE_ARNS": hub.share,
        "INDEX_TABLE": "card-index",
        "LINK_TABLE": "card-links",
        "DEAD_LETTER_QUEUE_URL": hub.dlq,
    }.items():
        monkeypatch.setenv(name, value)
    clients = {"sagemaker": hub.sagemaker, "ram": hub.ram, "dynamodb": hub.dynamodb, "sqs": hub.sqs}
    assert auto_link_handler.handler(event, clients=clients)["action"] == "dead-lettered"
    [parked] = hub.sqs.receive_message(QueueUrl=hub.dlq, MessageAttributeNames=["All"])["Messages"]
    assert message in parked["MessageAttributes"]["Reason"]["StringValue"]
    assert json.loads(parked["Body"]) == event
    assert hub.sagemaker.list_model_cards()["ModelCardSummaries"] == []


def test_a_clone_too_large_for_a_card_is_refused_before_create(hub: Hub) -> None:
    # The template fits in a card; with the new package's details added, the clone does not.
    # Schema-valid: 96 custom details of 1,024 characters, the most the schema allows each.
    big = {"additional_information": {"custom_details": {f"note_{i:02d}": "x" * 1024 for i in range(96)}}}
    assert 99_000 < len(json.dumps(big)) <= 100_000
    hub.sagemaker.create_model_card(ModelCardName="churn", Content=json.dumps(big), ModelCardStatus="Draft")
    hub.settings = card_linker.LinkerSettings(
        card_key_arn=hub.key_arn,
        share_arns=[hub.share],
        index_table="card-index",
        link_table="card-links",
        template_cards={"churn": "churn"},
    )
    with pytest.raises(card_linker.InvalidCard, match=r"^content: 10\d{4} characters, more than the 100000"):
        hub.link(new_version_event("churn", 1))
    assert [c["ModelCardName"] for c in hub.sagemaker.list_model_cards()["ModelCardSummaries"]] == ["churn"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"intended_uses": {"risk_rating": "Severe"}}, "content.intended_uses.risk_rating: 'Severe'"),
        ({"owner": "x"}, "content.owner: not a model card section"),
        ({"evaluation_details": {}}, "content.evaluation_details: must be an array"),
    ],
)
def test_schema_violations_name_the_field(content: dict[str, Any], message: str) -> None:
    with pytest.raises(card_linker.InvalidCard, match=re.escape(message)):
        card_linker.validate_content(content)


def throttle(client: Any, operation: str, times: int) -> list[int]:
    """Answer the first `times` HTTP attempts of `operation` with AWS's ThrottlingException, so the
    retry that follows is botocore's own (standard mode: exponential backoff with jitter)."""
    from botocore.awsrequest import AWSResponse

    attempts: list[int] = []
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= times:
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _Raw(body))
        return None

    client.meta.events.register_first(
        f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}", answer
    )
    return attempts


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def test_throttling_is_retried_with_backoff_then_succeeds(hub: Hub) -> None:
    from botocore.config import Config

    hub.link(new_version_event("churn", 1))
    sagemaker = hub.session.client("sagemaker", config=RETRIES)
    attempts = throttle(sagemaker, "DescribeModelCard", times=2)
    assert hub.link(new_version_event("churn", 2), sagemaker=sagemaker).source_card == "churn-111111111111-v1"
    # Two throttled, the third answers; the fourth reads the new card's CreationTime for its link.
    assert attempts == [1, 2, 3, 4]

    # Past the retries the error reaches the Lambda runtime (which retries, then dead-letters)
    # and nothing has been created.
    exhausted = hub.session.client("sagemaker", config=Config(retries={"mode": "standard", "max_attempts": 2}))
    throttle(exhausted, "DescribeModelCard", times=5)
    with pytest.raises(ClientError, match="ThrottlingException"):
        hub.link(new_version_event("churn", 3), sagemaker=exhausted)
    names = sorted(c["ModelCardName"] for c in hub.sagemaker.list_model_cards()["ModelCardSummaries"])
    assert names == ["churn-111111111111-v1", "churn-111111111111-v2"]


def test_a_failed_share_association_is_completed_on_the_retry(hub: Hub) -> None:
    event = new_version_event("churn", 1)
    ram = hub.session.client("ram")
    with Stubber(ram) as stub:
        stub.add_client_error("associate_resource_share", "ServiceUnavailableException", http_status_code=503)
        with pytest.raises(ClientError):
            hub.link(event, ram=ram)
    assert hub.shared() == []  # the card exists but is not shared yet
    assert hub.link(event).action == "completed"
    assert hub.shared() == ["churn-111111111111-v1"]


def test_spoke_registry_event_arrives_through_the_governance_bus(hub: Hub, templates: dict[str, Any]) -> None:
    """A spoke registers a version; the emulator emits AWS's event; the spoke stack's rule forwards
    it to the hub bus, where the hub stack's rule routes it to the linker (a queue stands in)."""
    from tests.stack_names import HUB_STACK, spoke_stack_name

    spoke = session_for(SPOKE)
    rule = next(
        r["Properties"]
        for r in templates[spoke_stack_name("ml-dev")]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
    )
    hub_rules = [
        r["Properties"] for r in templates[HUB_STACK]["Resources"].values() if r["Type"] == "AWS::Events::Rule"
    ]
    bus_rule = next(r for r in hub_rules if "EventBusName" in r)
    events = hub.session.client("events")
    events.create_event_bus(Name="model-card-governance-bus")
    # The example's bus policy requires its organization ID, which no emulated organization has.
    allow_put_events(hub.session, "model-card-governance-bus", [SPOKE])
    arrivals = hub.sqs.create_queue(QueueName="linker")["QueueUrl"]
    arrivals_arn = hub.sqs.get_queue_attributes(QueueUrl=arrivals, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="link", EventBusName="model-card-governance-bus", EventPattern=json.dumps(bus_rule["EventPattern"])
    )
    events.put_targets(
        Rule="link", EventBusName="model-card-governance-bus", Targets=[{"Id": "q", "Arn": arrivals_arn}]
    )
    spoke_events = spoke.client("events")
    spoke_events.put_rule(Name="forward", EventPattern=json.dumps(rule["EventPattern"]))
    spoke_events.put_targets(Rule="forward", Targets=[{"Id": "hub", "Arn": rule["Targets"][0]["Arn"]}])

    spoke_sagemaker = spoke.client("sagemaker")
    spoke_sagemaker.create_model_package_group(ModelPackageGroupName="spoke-churn")
    spoke_sagemaker.create_model_package(
        ModelPackageGroupName="spoke-churn",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=load_event("model-package-state-change")["detail"]["InferenceSpecification"],
    )
    [message] = hub.sqs.receive_message(QueueUrl=arrivals)["Messages"]
    delivered = json.loads(message["Body"])
    assert delivered["account"] == SPOKE
    result = hub.link(delivered)
    assert result.card_name == "spoke-churn-222222222222-v1"
    details = hub.content("spoke-churn-222222222222-v1")["model_package_details"]
    assert details["model_package_arn"] == f"arn:aws:sagemaker:us-east-1:{SPOKE}:model-package/spoke-churn/1"


def test_carry_over_takes_the_previous_cards_last_approved_version(hub: Hub) -> None:
    from card_workflow.workflow import diff_content
    from shared.card_links import record_approved_version

    hub.link(new_version_event("churn", 1))
    overview = {
        "model_owner": "churn-team",
        "problem_type": "Binary classification",
        "algorithm_type": "XGBoost",
        "model_description": "Scores retail customers by churn risk",
        "model_creator": "v1's trainer",
        "model_name": "churn",
        "model_version": 1,
    }
    approved = {**hub.content("churn-111111111111-v1"), "model_overview": overview}
    approved["business_details"] = {"business_problem": "Reviewed text"}
    hub.sagemaker.update_model_card(ModelCardName="churn-111111111111-v1", Content=json.dumps(approved))
    record_approved_version(hub.dynamodb, "card-links", "churn-111111111111-v1", 2)  # the workflow's record
    draft = {**approved, "business_details": {"business_problem": "Unreviewed draft"}}
    hub.sagemaker.update_model_card(ModelCardName="churn-111111111111-v1", Content=json.dumps(draft))  # v3

    result = hub.link(new_version_event("churn", 2))
    v2 = hub.content("churn-111111111111-v2")
    assert v2["business_details"] == {"business_problem": "Reviewed text"}
    assert v2["additional_information"]["custom_details"]["cloned_from_card_version"] == "2"
    assert result.source_card == "churn-111111111111-v1"
    kept = {k: v2["model_overview"][k] for k in ("model_owner", "problem_type", "algorithm_type", "model_description")}
    assert kept == {k: overview[k] for k in kept}
    assert (v2["model_overview"]["model_version"], "model_creator" in v2["model_overview"]) == (2, False)
    # What reviewers see for the new card: the model-level fields are not shown as removed.
    diff = diff_content(approved, v2)
    removed = [line for line in diff if line.startswith("- model_overview")]
    assert removed == ["- model_overview.model_creator: v1's trainer"]  # version-level: not carried
    assert "~ model_overview.model_version: 1 -> 2" in diff

    record_approved_version(hub.dynamodb, "card-links", "churn-111111111111-v2", 1)
    v2_draft = {**v2, "business_details": {"business_problem": "Unreviewed v2 draft"}}
    hub.sagemaker.update_model_card(ModelCardName="churn-111111111111-v2", Content=json.dumps(v2_draft))
    hub.settings = dataclasses.replace(hub.settings, carry_over_from="latest")
    hub.link(new_version_event("churn", 3))
    assert hub.content("churn-111111111111-v3")["business_details"] == {"business_problem": "Unreviewed v2 draft"}


def test_without_an_approved_version_the_latest_is_carried_over(hub: Hub) -> None:
    hub.link(new_version_event("churn", 1))
    edit_v1(hub)
    hub.link(new_version_event("churn", 2))
    custom = hub.content("churn-111111111111-v2")["additional_information"]["custom_details"]
    cloned = {k: v for k, v in custom.items() if k.startswith("cloned_")}
    assert cloned == {"cloned_from_card": "churn-111111111111-v1", "cloned_from_card_version": "2"}


def test_a_card_name_linked_to_another_package_is_not_taken_over(hub: Hub) -> None:
    from shared.card_links import CardLink, card_link, record_card_link

    name = card_linker.card_name_for(HUB, "churn", 1)
    other = f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/other/1"
    record_card_link(hub.dynamodb, "card-links", CardLink(name, other, HUB, "other", 1))
    result = hub.link(new_version_event("churn", 1))
    assert result.card_name != name
    linked = card_link(hub.dynamodb, "card-links", name)
    assert linked is not None and linked.package_arn == other


def test_the_owner_share_is_found_by_name_and_joined_with_the_read_share(hub: Hub) -> None:
    owner = hub.ram.create_resource_share(name=f"cards-{SPOKE}", principals=[SPOKE], permissionArns=[EDIT])[
        "resourceShare"
    ]["resourceShareArn"]
    hub.settings = dataclasses.replace(hub.settings, owner_share_prefix="cards-")
    assert card_linker.shares_for(hub.ram, hub.settings, SPOKE) == [hub.share, owner]
    # An account without an owner share (a read spoke, an OU member, the hub) joins the read share only.
    assert card_linker.shares_for(hub.ram, hub.settings, "444444444444") == [hub.share]
    assert card_linker.shares_for(hub.ram, hub.settings, HUB) == [hub.share]


def test_a_link_written_before_binding_is_adopted_when_its_card_came_after_it(hub: Hub) -> None:
    """Links the auto-linker wrote before cards were bound: the link first, then the card."""
    from shared.card_links import CardLink, card_link, record_card_link

    name = card_linker.card_name_for(HUB, "churn", 1)
    package = f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/churn/1"
    record_card_link(hub.dynamodb, "card-links", CardLink(name, package, HUB, "churn", 1))
    made = hub.sagemaker.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")["ModelCardArn"]
    result = hub.link(new_version_event("churn", 1))
    assert (result.action, result.card_name, result.squatted) == ("completed", name, ())
    link = card_link(hub.dynamodb, "card-links", name)
    assert link is not None and link.card_arn == made and link.package_created
