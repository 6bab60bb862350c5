"""Acknowledging a cdk-nag finding on the narrowest construct, always with a reason."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    if len(reason) < 40:
        raise ValueError(f"acknowledge {rule_id}: the reason must say exactly why ({reason!r} is too short)")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


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
