"""Acknowledging a cdk-nag or checkov finding on the narrowest construct, always with a reason."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

# The shortest reason that can say which resource, why, and what stands in for the rule.
MIN_REASON = 40


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    if len(reason) < MIN_REASON:
        raise ValueError(f"acknowledge {rule_id}: the reason must say exactly why ({reason!r} is too short)")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def checkov_skip(scope: IConstruct, check_id: str, reason: str) -> None:
    """Skip checkov's `check_id` on `scope`'s CloudFormation resource (or `scope` itself, an L1).

    checkov reads skips from the resource's `Metadata.checkov.skip` and prints the comment with
    the skipped check, so the reason travels with the template to whoever runs checkov on it.
    """
    if len(reason) < MIN_REASON:
        raise ValueError(f"checkov_skip {check_id}: the reason must say exactly why ({reason!r} is too short)")
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"checkov_skip {check_id}: {scope.node.path} is not a CloudFormation resource")
    skips: list[dict[str, str]] = list((resource.get_metadata("checkov") or {}).get("skip", []))
    if any(skip["id"] == check_id for skip in skips):
        raise ValueError(f"checkov_skip {check_id}: already skipped on {scope.node.path}")
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check_id, "comment": reason}]})


def nag_arn(stack: Stack, arn: str) -> str:
    """An ARN as cdk-nag names it in a finding: literals as they are, pseudo parameters as <AWS::Name>."""
    resolved = stack.resolve(arn)
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1] if "Fn::Join" in resolved else [resolved]
    return "".join(_nag_part(part) for part in parts)


def _nag_part(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return f"<{part['Ref']}>"
    if "Fn::GetAtt" in part:
        return f"<{part['Fn::GetAtt'][0]}.{part['Fn::GetAtt'][1]}>"
    raise ValueError(f"nag_arn: cannot name {part!r} as cdk-nag does")
