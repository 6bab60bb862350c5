"""`scripts/reconcile`: one run of the reconciler on demand, with the hub's credentials.

Reads the deployed reconciler function's settings (its environment, lambda:GetFunctionConfiguration),
then runs the same code as the schedule does, handing work to the same functions
(lambda:InvokeFunction) and queue; one progress line per stage on stderr, what it did on stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from reconciler.handler import SERVICES, LambdaDispatch, run, settings_from_environment


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/reconcile", description=__doc__.splitlines()[0])
    parser.add_argument("--function", required=True, help="the hub stack output ReconcilerFunctionName")
    parser.add_argument("--profile", help="AWS profile with the hub's credentials")
    parser.add_argument("--region", help="the hub's region (default: the profile's)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        lambda_client = session.client("lambda")
        environment = lambda_client.get_function_configuration(FunctionName=args.function)["Environment"]["Variables"]
        environment = {**environment, "AWS_REGION": session.region_name or ""}
        settings = settings_from_environment(environment)
        clients = {name: session.client(name) for name in SERVICES}
        report = run(
            clients,
            settings,
            LambdaDispatch(clients["lambda"], clients["sqs"], environment),
            progress=lambda line: print(f"reconcile: {line}", file=sys.stderr),
        )
    except KeyError as missing:
        print(f"scripts/reconcile: --function {args.function}: its environment has no {missing}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"scripts/reconcile: {error}", file=sys.stderr)
        return 1
    for line in report.done:
        print(f"done: {line}")
    for line in report.reported:
        print(f"reported: {line}")
    if not report.done and not report.reported:
        print("nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
