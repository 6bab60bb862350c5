"""How a model package version's card is named: the one rule both the auto-linker and the approval
gate rely on to find each other's cards.

A package group name is unique only inside its account, so the account that registered the package
is part of the card's identity: two spokes that both call their group `churn` get two card lines.
"""

from __future__ import annotations

import hashlib
import re

CARD_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_CARD_NAME = 63
ACCOUNT = re.compile(r"^[0-9]{12}$")
PACKAGE_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):model-package/([^/]+)/([0-9]+)$")


def card_name_for(account: str, group: str, version: int, nonce: str = "") -> str:
    """`<group>-<account>-v<version>`, or a shortened group plus a stable hash when that exceeds 63.

    With a `nonce` (hex, chosen by the hub and recorded before the card is made) the name ends in
    `-n<nonce>`: a name no one can take first. It never ends in `-v<digits>`, so it is never
    another package's plain name.

    Group names allow 63 characters of `[a-zA-Z0-9-]`, so the plain form can be too long; the hash
    of account and full group name keeps two long groups with a common prefix apart. The account
    is 12 digits and the version is last, so the plain form is never the same for two packages.
    """
    if not ACCOUNT.match(account):
        raise ValueError(f"account {account!r} is not a 12-digit AWS account ID")
    if nonce and not re.fullmatch(r"[0-9a-f]{1,16}", nonce):
        raise ValueError(f"nonce {nonce!r} is not 1 to 16 hex digits")
    suffix = f"-{account}-v{version}" + (f"-n{nonce}" if nonce else "")
    plain = f"{group}{suffix}"
    if len(plain) <= MAX_CARD_NAME:
        return plain
    digest = hashlib.sha256(f"{account}/{group}".encode()).hexdigest()[:10]
    keep = MAX_CARD_NAME - len(suffix) - len(digest) - 1
    return f"{group[:keep].rstrip('-')}-{digest}{suffix}"


def card_name_for_package(package_arn: str) -> str:
    """The card name of a versioned package ARN (`.../model-package/<group>/<version>`)."""
    match = PACKAGE_ARN.match(package_arn)
    if not match:
        raise ValueError(f"{package_arn!r} is not a versioned model package ARN")
    return card_name_for(match.group(3), match.group(4), int(match.group(5)))
