"""Benchmark: how long the kept local run takes from a call to its visible effect (target: < 2 s).

    .venv/bin/python benchmarks/live_latency.py [--runs N]

Synthesizes config/local.json, starts the emulator and the live loop as `scripts/run-local --keep
--no-walk` does, then, as the personas of docs/try-it-yourself.md:
- registers a package version (ml-dev) and waits until its card is shared with ml-prod
  (`ram list-resources`), once with boto3 and once with the AWS CLI (measured from the start of the
  CLI process, so its own start-up counts);
- approves a card (reviewer) and waits until the spoke's package is Approved.
Each effect is polled every 20 ms. Prints a table of median and maximum seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]
# The emulator's management-account administrator (see emulator/organizations.py).
os.environ.update(
    AWS_ACCESS_KEY_ID="AKIAMANAGEMENTADMIN0",
    AWS_SECRET_ACCESS_KEY="emulator-management-account-administrator",
    AWS_DEFAULT_REGION="us-east-1",
)
for _variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_variable, None)
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import boto3  # noqa: E402
from shared.card_names import card_name_for  # noqa: E402

from emulator.server import start  # noqa: E402
from sandbox.live import LiveLoop  # noqa: E402
from sandbox.outputs import publish  # noqa: E402
from sandbox.personas import Persona, assume_in_emulator, personas, write_config  # noqa: E402
from sandbox.run import Sandbox  # noqa: E402

AWS_CLI = Path(sys.executable).parent / "aws"
INFERENCE = ROOT / "sandbox" / "inference-specification.json"
GROUP = "latency"
POLL = 0.02
TARGET_SECONDS = 2.0


def synthesize(outdir: Path) -> Path:
    from aws_cdk import App

    from app import build_app
    from governance_config import load_config

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    build_app(load_config(ROOT / "config" / "local.json"), App(outdir=str(outdir), context=context)).synth()
    return outdir


def client(persona: Persona, service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=persona.credentials.access_key,
        aws_secret_access_key=persona.credentials.secret_key,
        aws_session_token=persona.credentials.token,
    )


def until(condition: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds until the condition holds (polled every POLL seconds)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the effect did not show within 60 s")
        time.sleep(POLL)
    return time.monotonic() - started


class Bench:
    def __init__(self, sandbox: Sandbox, config_file: Path, found: list[Persona]) -> None:
        self.sandbox = sandbox
        self.config_file = config_file
        self.as_ = {p.profile: p for p in found}
        endpoint = sandbox.endpoint
        self.dev = client(self.as_["ml-dev"], "sagemaker", endpoint)
        self.reader_ram = client(self.as_["ml-prod"], "ram", endpoint)
        self.reviewer = client(self.as_["reviewer"], "sagemaker", endpoint)
        self.dev.create_model_package_group(ModelPackageGroupName=GROUP)
        self.version = 0

    def card(self) -> str:
        return card_name_for(self.sandbox.registry.account, GROUP, self.version)

    def shared(self, card: str) -> bool:
        listed = self.reader_ram.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:ModelCard")
        return any(r["arn"].endswith(f"/{card}") for r in listed["resources"])

    def register_with_boto3(self) -> float:
        self.version += 1
        started = time.monotonic()
        self.dev.create_model_package(
            ModelPackageGroupName=GROUP,
            InferenceSpecification=json.loads(INFERENCE.read_text()),
            ModelApprovalStatus="PendingManualApproval",
        )
        return time.monotonic() - started + until(lambda: self.shared(self.card()))

    def register_with_cli(self) -> float:
        self.version += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        started = time.monotonic()
        subprocess.run(
            [
                str(AWS_CLI),
                "--profile",
                "ml-dev",
                "sagemaker",
                "create-model-package",
                "--model-package-group-name",
                GROUP,
                "--model-approval-status",
                "PendingManualApproval",
                "--inference-specification",
                f"file://{INFERENCE}",
            ],
            env={**env, "AWS_CONFIG_FILE": str(self.config_file)},
            check=True,
            capture_output=True,
        )
        return time.monotonic() - started + until(lambda: self.shared(self.card()))

    def approve(self) -> float:
        self.register_with_boto3()
        version = self.version
        card = card_name_for(self.sandbox.registry.account, GROUP, version)
        package = f"arn:aws:sagemaker:us-east-1:{self.sandbox.registry.account}:model-package/{GROUP}/{version}"
        started = time.monotonic()
        self.reviewer.update_model_card(ModelCardName=card, ModelCardStatus="Approved")

        def approved() -> bool:
            status: str = self.dev.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"]
            return status == "Approved"

        return time.monotonic() - started + until(approved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="measurements per scenario (default 10)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        print(f"live_latency: --runs must be at least 1 (got {args.runs})", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        assembly = synthesize(Path(scratch) / "cdk.out")
        server, endpoint = start()
        try:
            sandbox = Sandbox(assembly, endpoint, out=lambda line: None)
            outputs = publish([sandbox.hub, *sandbox.spokes.values()], Path(scratch) / "outputs.json")
            found, _ = personas(
                sandbox.hub,
                sandbox.spokes,
                outputs,
                assume_in_emulator(endpoint),
                sandbox.admin_role_arn,
                inbox=sandbox.inbox,
            )
            config_file = Path(scratch) / "aws-config"
            write_config(config_file, found, endpoint)
            lines: list[str] = []
            loop = LiveLoop(sandbox.hub, sandbox.invoke, log=lines.append)
            loop.start()
            try:
                bench = Bench(sandbox, config_file, found)
                bench.register_with_boto3()  # the first run of each handler loads its boto3 models
                scenarios = [
                    ("register (boto3) -> card shared with ml-prod", bench.register_with_boto3),
                    ("register (AWS CLI, start-up included) -> card shared", bench.register_with_cli),
                    ("approve card (reviewer) -> package Approved in ml-dev", bench.approve),
                ]
                rows = [(name, [measure() for _ in range(args.runs)]) for name, measure in scenarios]
            finally:
                loop.stop()
            failed = [line for line in lines if "FAILED" in line]
            if failed:
                print("\n".join(failed), file=sys.stderr)
                return 1
        finally:
            server.stop()  # type: ignore[attr-defined]
    width = max(len(name) for name, _ in rows)
    print(f"| {'call -> visible effect':<{width}} | runs | median s | max s | under {TARGET_SECONDS:g} s |")
    print(f"| {'-' * width} | ---: | ---: | ---: | --- |")
    for name, seconds in rows:
        verdict = "yes" if max(seconds) < TARGET_SECONDS else "no"
        median, worst = statistics.median(seconds), max(seconds)
        print(f"| {name:<{width}} | {len(seconds)} | {median:.2f} | {worst:.2f} | {verdict} |")
    print(f"\nload average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
