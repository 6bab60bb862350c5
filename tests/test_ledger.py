"""The ledger's hash chains: appends under duplicates, races and lost answers, and verification that
finds the first broken link."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))

from card_workflow import anchors, ledger, verify_ledger

ACCOUNT = "111111111111"
CARD = "arn:aws:sagemaker:us-east-1:123456789012:model-card/churn-v1"
OTHER = "arn:aws:sagemaker:us-east-1:123456789012:model-card/fraud-v1"


@pytest.fixture
def dynamodb(admin_of: Any) -> Any:
    client = admin_of(ACCOUNT).client("dynamodb")
    client.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "CardArn", "KeyType": "HASH"}, {"AttributeName": "EntryKey", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "CardArn", "AttributeType": "S"},
            {"AttributeName": "EntryKey", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def fill(dynamodb: Any) -> None:
    for index, status in enumerate(("Draft", "PendingReview", "Approved"), start=1):
        assert ledger.append_entry(dynamodb, "ledger", CARD, f"00000001#t{index}#{status}", {"Status": status})
    assert ledger.append_entry(dynamodb, "ledger", OTHER, "00000001#t1#Draft", {"Status": "Draft"})


def item(dynamodb: Any, card: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = dynamodb.get_item(TableName="ledger", Key={"CardArn": {"S": card}, "EntryKey": {"S": key}})[
        "Item"
    ]
    return found


def test_each_entry_links_to_the_previous_one_of_its_card(dynamodb: Any) -> None:
    fill(dynamodb)
    entries = ledger.ledger_entries(dynamodb, "ledger", CARD)
    assert [e["Status"] for e in entries] == ["Draft", "PendingReview", "Approved"]
    assert [e["Seq"] for e in entries] == ["0000000001", "0000000002", "0000000003"]
    assert entries[0]["PrevHash"] == ledger.GENESIS
    assert entries[1]["PrevHash"] == entries[0]["Hash"] and entries[2]["PrevHash"] == entries[1]["Hash"]
    assert ledger.entry_hash(entries[2]) == entries[2]["Hash"]
    report = ledger.verify_table(dynamodb, "ledger")
    assert (report.cards, report.entries, report.broken) == (2, 4, ())


def test_a_duplicate_appends_nothing(dynamodb: Any) -> None:
    fill(dynamodb)
    assert not ledger.append_entry(dynamodb, "ledger", CARD, "00000001#t1#Draft", {"Status": "Draft"})
    assert len(ledger.ledger_entries(dynamodb, "ledger", CARD)) == 3


def test_a_writer_that_lost_the_race_for_the_head_appends_after_the_winner(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(dynamodb)
    real_head = ledger.chain_head
    stale = real_head(dynamodb, "ledger", CARD)
    calls = []

    def head_read_before_the_other_writer(client: Any, table: str, card: str) -> tuple[int, str]:
        calls.append(card)
        if len(calls) == 1:
            # Another writer appends between this writer's head read and its transaction.
            ledger.append_entry(client, table, card, "00000002#t5#Draft", {"Status": "Draft"})
            return stale
        return real_head(client, table, card)

    monkeypatch.setattr(ledger, "chain_head", head_read_before_the_other_writer)
    assert ledger.append_entry(dynamodb, "ledger", CARD, "00000002#t4#Archived", {"Status": "Archived"})
    assert [e["Seq"] for e in ledger.ledger_entries(dynamodb, "ledger", CARD)][-2:] == ["0000000004", "0000000005"]
    assert ledger.verify_table(dynamodb, "ledger").broken == ()


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        ("edit", 2, "the entry's content no longer matches its hash"),
        ("delete", 2, "the entry this link names is missing"),
        ("delete-both", 2, "link 2 is missing (next is 3)"),
        ("rehash", 3, "PrevHash is not the hash of the previous entry"),
        ("insert", 4, "the entry is not in the chain"),
    ],
)
def test_verification_names_the_first_broken_link(dynamodb: Any, tamper: str, seq: int, reason: str) -> None:
    fill(dynamodb)
    entry = item(dynamodb, CARD, "00000001#t2#PendingReview")
    if tamper == "edit":
        entry["Status"] = {"S": "Approved"}
        dynamodb.put_item(TableName="ledger", Item=entry)
    elif tamper == "delete":
        dynamodb.delete_item(TableName="ledger", Key={"CardArn": {"S": CARD}, "EntryKey": entry["EntryKey"]})
    elif tamper == "delete-both":
        for key in ("00000001#t2#PendingReview", "chain#0000000002"):
            dynamodb.delete_item(TableName="ledger", Key={"CardArn": {"S": CARD}, "EntryKey": {"S": key}})
    elif tamper == "rehash":  # an edit whose own hash was recomputed: the next link breaks
        entry["Status"] = {"S": "Approved"}
        plain = {k: v["S"] for k, v in entry.items()}
        entry["Hash"] = {"S": ledger.entry_hash(plain)}
        dynamodb.put_item(TableName="ledger", Item=entry)
        link = item(dynamodb, CARD, "chain#0000000002")
        link["Hash"] = entry["Hash"]
        dynamodb.put_item(TableName="ledger", Item=link)
    else:
        dynamodb.put_item(
            TableName="ledger",
            Item={"CardArn": {"S": CARD}, "EntryKey": {"S": "00000001#t0#Approved"}, "Status": {"S": "Approved"}},
        )
    [broken] = ledger.verify_table(dynamodb, "ledger").broken
    assert (broken.card_arn, broken.seq, broken.reason) == (CARD, seq, reason)


def test_verify_ledger_command_exits_1_at_a_broken_link(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fill(dynamodb)
    assert verify_ledger.main(["--table", "ledger", "--region", "us-east-1"], dynamodb=dynamodb) == 0
    assert capsys.readouterr().out == "2 cards, 4 entries: 0 broken chains\n"
    entry = item(dynamodb, OTHER, "00000001#t1#Draft")
    entry["Status"] = {"S": "Approved"}
    dynamodb.put_item(TableName="ledger", Item=entry)
    assert verify_ledger.main(["--table", "ledger", "--region", "us-east-1"], dynamodb=dynamodb) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"broken: {OTHER}: link 1 (00000001#t1#Draft): the entry's content no longer matches its hash",
        "2 cards, 4 entries: 1 broken chains",
    ]


def test_verify_ledger_command_names_a_missing_table(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify_ledger.main(["--table", "nowhere", "--region", "us-east-1"], dynamodb=dynamodb) == 2
    assert capsys.readouterr().err.startswith("verify-ledger: cannot read table 'nowhere': ")


def test_a_chain_cut_below_its_anchor_or_deleted_is_truncated() -> None:
    card = "arn:aws:sagemaker:us-east-1:111111111111:model-card/c"
    items = [{"CardArn": card, "EntryKey": "e1"}, {"CardArn": card, "EntryKey": "chain#0000000001", "Hash": "h1"}]
    assert anchors.truncations({card: items}, {card: anchors.Anchor(card, 1, "h1")}) == []
    [cut] = anchors.truncations({card: items}, {card: anchors.Anchor(card, 2, "h2")})
    assert str(cut) == f"{card} has 1 entries, the evidence bucket anchors entry 2 (h2)"
    [gone] = anchors.truncations({}, {card: anchors.Anchor(card, 2, "h2")})
    assert gone.what.endswith("the whole chain was deleted")


def test_anchoring_a_head_twice_writes_one_version_and_the_cli_compares_the_table_with_it(
    dynamodb: Any, admin_of: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = admin_of(ACCOUNT).client("s3")
    s3.create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
    fill(dynamodb)
    for card in (CARD, OTHER, CARD):  # the retry finds its anchor there (If-None-Match) and adds nothing
        anchors.anchor_head(dynamodb, s3, "ledger", "evidence", card)
    versions = s3.list_object_versions(Bucket="evidence", Prefix=anchors.ANCHOR_PREFIX)["Versions"]
    assert sorted(v["Key"] for v in versions) == [
        "evidence/_anchors/churn-v1/0000000003.json",
        "evidence/_anchors/fraud-v1/0000000001.json",
    ]
    argv = ["--table", "ledger", "--bucket", "evidence", "--region", "us-east-1"]
    assert verify_ledger.main(argv, dynamodb=dynamodb, s3=s3) == 0
    assert capsys.readouterr().out == "2 cards, 4 entries: 0 broken chains, 2 anchored, 0 truncated\n"
    head = ledger.ledger_entries(dynamodb, "ledger", CARD)[-1]
    for key in (head["EntryKey"], f"chain#{head['Seq']}"):
        dynamodb.delete_item(TableName="ledger", Key={"CardArn": {"S": CARD}, "EntryKey": {"S": key}})
    assert verify_ledger.main(argv, dynamodb=dynamodb, s3=s3) == 1
    assert capsys.readouterr().out == (
        f"truncated: {CARD} has 2 entries, the evidence bucket anchors entry 3 ({head['Hash']})\n"
        "2 cards, 3 entries: 0 broken chains, 2 anchored, 1 truncated\n"
    )
    with pytest.raises(anchors.AnchorConflict):
        anchors.write_anchor(s3, "evidence", anchors.Anchor(CARD, 3, "0" * 64))
