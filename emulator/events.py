"""EventBridge: the events SageMaker emits for cards and packages, and delivery between accounts."""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.events.models import Rule as EventsRule
from moto.events.models import events_backends
from moto.events.responses import EventsHandler
from moto.events.utils import EventTemplateParser
from moto.sagemaker.models import FakeModelCard, ModelPackage, SageMakerModelBackend
from moto.utilities.arns import parse_arn

from emulator.core import iso
from emulator.permissions import bus_accepts

# --- Events: AWS emits them, moto emitted none ------------------------------------------------------
# "Automating Amazon SageMaker with Amazon EventBridge": SageMaker Model Card State Change on every
# card create and update; SageMaker Model Package State Change on every package create and update.


def _emit(account: str, region: str, detail_type: str, resources: list[str], detail: dict[str, Any]) -> None:
    events_backends[account][region].put_events(
        [
            {
                "Source": "aws.sagemaker",
                "DetailType": detail_type,
                "Detail": json.dumps(iso(detail)),
                "Resources": resources,
                "EventBusName": "default",
            }
        ]
    )


def emit_card_event(backend: SageMakerModelBackend, card: FakeModelCard) -> None:
    history = backend.model_cards[card.model_card_name]
    try:
        model_id = json.loads(card.content or "{}").get("model_overview", {}).get("model_id", "")
    except ValueError:
        model_id = ""
    _emit(
        backend.account_id,
        backend.region_name,
        "SageMaker Model Card State Change",
        [card.arn],
        {
            "ModelCardVersion": card.model_card_version,
            "LastModifiedTime": card.last_modified_time,
            "LastModifiedBy": getattr(card, "last_modified_by", {}),
            "CreationTime": history[0].creation_time,
            "CreatedBy": getattr(history[0], "created_by", {}),
            "ModelCardName": card.model_card_name,
            "ModelId": model_id,
            "ModelCardStatus": card.model_card_status,
            "AccountId": backend.account_id,
            "SecurityConfig": card.security_config or {},
        },
    )


def emit_package_event(backend: SageMakerModelBackend, package: ModelPackage, updated: list[str] | None) -> None:
    detail = package.gen_response_object()
    detail.pop("ModelPackageName", None)
    # A new package has been modified when it was created; moto left the field out.
    detail.setdefault("LastModifiedTime", package.creation_time)
    if updated is not None:
        detail["UpdatedModelPackageFields"] = updated
    _emit(backend.account_id, backend.region_name, "SageMaker Model Package State Change", [package.arn], detail)


def emit_export_job_event(account: str, region: str, job: dict[str, Any]) -> None:
    """SageMaker Model Card Export Job State Change (EventBridge events reference, "Amazon SageMaker
    AI events"), sent when a job finishes. AWS publishes no sample of its detail: this one carries
    the job ARN in `resources`, as SageMaker's other state change events carry their resource's ARN,
    and DescribeModelCardExportJob's fields but its artifacts as the detail, the emulator's guess."""
    detail = {k: v for k, v in job.items() if k not in ("ExportArtifacts", "OutputConfig")}
    _emit(account, region, "SageMaker Model Card Export Job State Change", [job["ModelCardExportJobArn"]], detail)


# --- EventBridge delivery -------------------------------------------------------------------------
# AWS delivers every event with its `account`, and an event a rule sends to another account's bus
# arrives unchanged: same id, account (the sender), time and resources ("Sending and receiving
# events between AWS accounts in Amazon EventBridge"). moto left `account` out of every delivered
# event and rebuilt forwarded events as new ones in the receiving account, without resources.


def emit_as_service(account: str, region: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Put an event on a bus of `account` as an AWS service does (an `aws.*` source), not as a
    customer's PutEvents call, which AWS refuses for such sources (below). For tests that play a
    service with AWS's verbatim sample events."""
    result: list[dict[str, Any]] = events_backends[account][region].put_events([entry])
    return result


# PutEventsResultEntry (EventBridge API reference): NotAuthorizedForSourceException, "You do not
# have permissions to publish events with this source onto this event bus"; the User Guide's event
# structure reference reserves sources starting with "aws." for AWS services. The wording of the
# message is the emulator's.
RESERVED_SOURCE = {
    "ErrorCode": "NotAuthorizedForSourceException",
    "ErrorMessage": "Not authorized for the source: sources starting with aws. are reserved for AWS services",
}


def install() -> None:
    original_put_events = EventsHandler.put_events

    def put_events(self: EventsHandler) -> str:
        entries = self._get_param("Entries") or []
        reserved = [str(e.get("Source") or "").startswith("aws.") for e in entries]
        if not any(reserved) or len(entries) > 10:
            return original_put_events(self)
        allowed = [e for e, refused in zip(entries, reserved, strict=True) if not refused]
        results = iter(self.events_backend.put_events(allowed) if allowed else [])
        answered = [dict(RESERVED_SOURCE) if refused else next(results) for refused in reserved]
        failed = sum(1 for entry in answered if "ErrorCode" in entry)
        return json.dumps({"FailedEntryCount": failed, "Entries": answered})

    EventsHandler.put_events = put_events  # type: ignore[method-assign]
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0",', '"version": "0", "account": "<account>",'
        )
    original = EventsRule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        # A rule without an event pattern has a schedule (PutRule needs one or the other): in AWS
        # it runs on its schedule and matches no event; moto's empty pattern matched every event.
        if not self.event_pattern.get_pattern():
            return
        # A disabled rule "does not match any events" (EventBridge API reference, PutRule: State;
        # DisableRule). moto delivered through it all the same.
        if self.state not in ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"):
            return

        def is_bus(target: dict[str, Any]) -> bool:
            arn = parse_arn(target["Arn"])
            return bool(arn.service == "events" and arn.resource_type == "event-bus")

        bus_targets = [t for t in self.targets if is_bus(t)]
        if len(bus_targets) < len(self.targets):
            saved, self.targets = self.targets, [t for t in self.targets if not is_bus(t)]
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved
        if not bus_targets or not self.event_pattern.matches_event(original_event):
            return
        for target in bus_targets:
            arn = parse_arn(target["Arn"])
            # Another account's bus takes the event only if its policy lets the sender put events.
            foreign = arn.account != self.account_id
            if foreign and not bus_accepts(target["Arn"], self.account_id, target.get("RoleArn"), original_event):
                continue
            bus = events_backends[arn.account][arn.region].describe_event_bus(arn.resource_id)
            for rule in list(bus.rules.values()):
                rule.send_to_targets(copy.deepcopy(original_event))

    EventsRule.send_to_targets = send_to_targets  # type: ignore[method-assign]
