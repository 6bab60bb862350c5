"""How a model package version's card is named: the one rule both the auto-linker and the approval
gate rely on to find each other's cards."""

from __future__ import annotations

import hashlib
import re

CARD_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_CARD_NAME = 63


def card_name_for(group: str, version: int) -> str:
    """`<group>-v<version>`, or a shortened group plus a stable hash when that exceeds 63 characters.

    Group names allow 63 characters of `[a-zA-Z0-9-]`, so the plain form can be too long; the hash
    of the full group name keeps two long groups with a common prefix apart.
    """
    suffix = f"-v{version}"
    plain = f"{group}{suffix}"
    if len(plain) <= MAX_CARD_NAME:
        return plain
    digest = hashlib.sha256(group.encode()).hexdigest()[:10]
    keep = MAX_CARD_NAME - len(suffix) - len(digest) - 1
    return f"{group[:keep].rstrip('-')}-{digest}{suffix}"
