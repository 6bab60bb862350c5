"""The tier across a model's versions: each package version gets a card of its own, cloned from the
last one, so "lowering the rating is reviewed at the tier it lowers from" must hold from one
version's card to the next, not only between versions of one card. The hub keeps the rating of each
model's latest effective approval (shared.card_links.record_group_approval) and the decision
endpoint, the workflow and the report all review at the stricter of it and the card's own."""

from __future__ import annotations

import json

import pytest

from tests.test_approval_tiers import Tiers, approve_fully, high_risk_in_review, report_row
from tests.test_workflow import HUB, edit

V2 = "churn-111111111111-v2"


@pytest.fixture
def gov(aws: None, monkeypatch: pytest.MonkeyPatch) -> Tiers:
    return Tiers(monkeypatch)


def by(gov: Tiers, name: str) -> tuple[int, dict[str, str]]:
    from tests.test_workflow import call_url

    payload = {"card": V2, "version": gov.status_of(V2)[0], "decision": "approve", "comment": "Reviewed"}
    status, answer = call_url(gov.decision_url, gov.people[name], payload)
    return status, answer


def report_tier(gov: Tiers) -> str:
    """The tier the governance report shows for v2's card, with the ratings it reads from the link table."""
    from governance_report.sources import read_links

    ratings: dict[str, str] = {}
    read_links(gov.dynamodb, "card-links", ratings=ratings)
    model_rating = ratings.get(f"arn:aws:sagemaker:us-east-1:{HUB}:model-package/churn")
    return report_row(gov, card_name=V2, version=2, model_rating=model_rating).tier


def test_the_next_versions_card_with_a_lowered_rating_is_reviewed_at_the_models_last_tier(gov: Tiers) -> None:
    high_risk_in_review(gov)
    approve_fully(gov)  # v1's card approved at High: the model's last approval
    gov.register(gov.hub, "churn")
    gov.run(gov.hub_events())
    content = json.loads(gov.sagemaker.describe_model_card(ModelCardName=V2)["Content"])
    assert content["intended_uses"]["risk_rating"] == "High"  # carried over from v1's card
    edit(gov, V2, {"intended_uses": {"risk_rating": "Low"}})
    gov.run(gov.hub_events())
    gov.run(gov.set_status(V2, "PendingReview"))
    gov.notices_received()

    status, answer = by(gov, "alice")
    # Low's tier is one model-risk person; the model was last approved at High: two people.
    assert (status, answer["policy"]) == (
        200,
        "1 of 2: model-risk approved (alice@example.com), business-owner pending",
    )
    assert gov.status_of(V2)[1] == "PendingReview"
    assert report_tier(gov) == "High"

    assert by(gov, "bob")[0] == 200
    outcomes = gov.run(gov.hub_events())
    assert any("set Approved" in o for o in outcomes), outcomes
    [effective] = [e for e in gov.ledger(V2) if e["Kind"] == "approval-effective"]
    assert (effective["RiskRating"], effective["Tier"]) == ("Low", "High")
