"""The local stacks' outputs, where a deployed stack's outputs are found.

Each stack's `Outputs` are resolved against what the sandbox provisioned and
- registered with the emulator's CloudFormation in the stack's account, so that
  `aws cloudformation describe-stacks --stack-name ...` answers with them as after `cdk deploy`
  (the registered stack has the outputs only: its resources were made by the sandbox, not by
  CloudFormation, so describe-stack-resources lists none of them);
- written to one file in the format of `cdk deploy --outputs-file` ({stack: {key: value}}).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from pathlib import Path

from sandbox.provision import Deployed

# CloudFormation refuses a template without resources; this type creates nothing.
PLACEHOLDER = {"Outputs": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}


def stack_outputs(deployed: Deployed) -> dict[str, str]:
    return {key: str(deployed.resolve(output["Value"])) for key, output in deployed.template.get("Outputs", {}).items()}


def publish(stacks: Iterable[Deployed], outputs_file: Path) -> dict[str, dict[str, str]]:
    """Register every stack's outputs in its account and write the outputs file; returns what it wrote."""
    everything: dict[str, dict[str, str]] = {}
    for deployed in stacks:
        outputs = stack_outputs(deployed)
        everything[deployed.stack] = outputs
        descriptions = {k: o.get("Description") for k, o in deployed.template.get("Outputs", {}).items()}
        template = {
            "Description": deployed.template.get("Description", f"{deployed.stack} (local run)"),
            "Resources": PLACEHOLDER,
            "Outputs": {
                key: {"Value": value, **({"Description": descriptions[key]} if descriptions[key] else {})}
                for key, value in outputs.items()
            },
        }
        with warnings.catch_warnings():
            # The emulator warns that it creates nothing for the placeholder: that is the point.
            warnings.simplefilter("ignore", UserWarning)
            deployed.client("cloudformation").create_stack(StackName=deployed.stack, TemplateBody=json.dumps(template))
    outputs_file.parent.mkdir(parents=True, exist_ok=True)
    outputs_file.write_text(json.dumps(everything, indent=2) + "\n")
    return everything
