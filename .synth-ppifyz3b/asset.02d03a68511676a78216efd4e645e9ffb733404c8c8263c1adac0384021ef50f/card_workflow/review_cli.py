"""Decide on a model card version through the hub's decision endpoint.

    scripts/review approve CARD --version N --comment TEXT [--url URL] [--profile P] [--region R]

The request is signed with the caller's credentials (Signature Version 4 for the service `lambda`,
as a function URL with AuthType AWS_IAM requires: Lambda Developer Guide, "Invoking Lambda function
URLs"); the hub judges who called. --url is the hub stack's output DecisionUrl (default: the
environment's DECISION_URL). Prints the hub's answer in one line; exit 0 when the decision is
recorded, 1 when the hub refuses it, 2 on bad input or when the hub cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ProfileNotFound
from shared.card_names import CARD_NAME

# (method, url, headers, body) -> (HTTP status, body)
Send = Callable[[str, str, Mapping[str, str], bytes], tuple[int, bytes]]
URL_REGION = re.compile(r"^https://[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws/?$")


class BadInput(ValueError):
    pass


def over_http(method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def signed(session: Any, url: str, region: str, payload: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and body of a POST to `url` signed with `session`'s credentials for `lambda`."""
    credentials = session.get_credentials()
    if credentials is None:
        raise BadInput("no AWS credentials found (set a profile with --profile, or the environment)")
    body = json.dumps(payload).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
    return dict(request.headers.items()), body


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="review", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    helps = {
        "approve": "approve one version of a model card",
        "request-changes": "send one version back to Draft, with what must change",
        "reject": "reject one version: the card is archived (its package rejected, if so configured)",
        "suspend": "suspend an approved card (the incident group): its package is no longer approved",
        "reinstate": "lift a suspension (the incident group); a new approval under the tier follows",
    }
    for command, text in helps.items():
        sub = commands.add_parser(command, help=text)
        sub.add_argument("card", help="the model card's name")
        sub.add_argument("--version", required=True, help="the version you reviewed")
        sub.add_argument("--comment", required=True, help="why (recorded in the ledger)")
        sub.add_argument("--url", default=os.environ.get("DECISION_URL"), help="the hub's DecisionUrl output")
        sub.add_argument("--profile", help="the AWS CLI profile to sign with")
        sub.add_argument("--region", help="the hub's region (default: from the URL, else the profile's)")
    return parser.parse_args(argv)


def request_of(args: argparse.Namespace) -> dict[str, Any]:
    if not CARD_NAME.match(args.card):
        raise BadInput(f"card {args.card!r} is not a model card name")
    if not args.version.isdigit() or int(args.version) < 1:
        raise BadInput(f"--version {args.version!r} is not a positive integer")
    if not args.comment.strip():
        raise BadInput("--comment is empty: say why")
    if not args.url:
        raise BadInput("no --url given (the hub stack's output DecisionUrl; or set DECISION_URL)")
    if not args.url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise BadInput(f"--url {args.url!r} is not an https URL")
    return {"card": args.card, "version": int(args.version), "decision": args.command, "comment": args.comment}


def main(argv: Sequence[str] | None = None, *, session: Any = None, send: Send = over_http) -> int:
    args = parse(argv)
    try:
        payload = request_of(args)
        session = session or boto3.Session(profile_name=args.profile)
        found = URL_REGION.match(args.url)
        region = args.region or (found.group(1) if found else session.region_name) or "us-east-1"
        headers, body = signed(session, args.url, region, payload)
        status, answer = send("POST", args.url, headers, body)
    except BadInput as error:
        print(f"review: {error}", file=sys.stderr)
        return 2
    except (ProfileNotFound, BotoCoreError, OSError) as error:
        print(f"review: {error}", file=sys.stderr)
        return 2
    try:
        parsed = json.loads(answer or b"{}")
    except json.JSONDecodeError:
        parsed = {}
    if status == 403 and parsed.get("Message") == "Forbidden":
        print("refused: Forbidden (the function URL refused the signed request: no permission to invoke it)")
        return 1
    outcome = parsed.get("outcome") or f"HTTP {status}"
    if status == 200:
        print(
            f"{outcome}: {parsed.get('card')} v{parsed.get('version')} {parsed.get('decision')} by "
            f"{parsed.get('person')}; {parsed.get('status')}"
            + (f" ({parsed['policy']})" if parsed.get("policy") and "not met" in str(parsed.get("status")) else "")
        )
        return 0
    print(f"{outcome}: {parsed.get('reason') or answer.decode(errors='replace')[:300]}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
