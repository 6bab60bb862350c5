"""Who may call what: today, a spoke's call on a hub card is admitted only through a RAM share."""

from __future__ import annotations

from moto.ram.models import ram_backends

from emulator.core import AccessDeniedException
from emulator.ram import share_actions, share_reaches


def authorize_shared_card(owner: str, region: str, caller: str, caller_arn: str, card_arn: str, action: str) -> None:
    """AWS admits a spoke's call on a hub card only through a share that grants the action."""
    for share in ram_backends[owner][region].resource_shares:
        if (
            card_arn in share.resource_arns
            and share_reaches(owner, region, share, caller)
            and action in share_actions(owner, region, share)
        ):
            return
    raise AccessDeniedException(
        f"User: {caller_arn} is not authorized to perform: {action} on resource: {card_arn} "
        "because no resource-based policy allows the " + action + " action"
    )
