"""Prints, for a synthesized cloud assembly, each stack's resources, its acknowledged cdk-nag
findings with their reasons, and cfn-lint's result for every template (StackSet bodies included).

Exit code 1 if cfn-lint reports anything. cdk-nag needs no check here: an unacknowledged finding
already failed `cdk synth`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cfnlint.api import lint


def acknowledgements(metadata_file: Path) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    if not metadata_file.exists():
        return found
    for path, entries in json.loads(metadata_file.read_text()).items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:acknowledged-rules":
                for rule, reason in entry["data"].items():
                    found.append((path, rule.removeprefix("Annotation::"), reason))
    return found


def templates_in(assembly: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for file in sorted(assembly.glob("*.template.json")):
        template = json.loads(file.read_text())
        name = file.name.removesuffix(".template.json")
        found[name] = template
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::CloudFormation::StackSet":
                found[f"{name} (StackSet {logical_id})"] = json.loads(resource["Properties"]["TemplateBody"])
    return found


def main(assembly: Path) -> int:
    templates = templates_in(assembly)
    lint_failures = 0
    print(f"{'template':<58} {'resources':>9} {'cfn-lint':>9}")
    for name, template in templates.items():
        matches = lint(json.dumps(template))
        lint_failures += len(matches)
        print(f"{name:<58} {len(template.get('Resources', {})):>9} {'clean' if not matches else len(matches):>9}")
        for match in matches:
            print(f"    {match}")
    print()
    acks = [a for f in sorted(assembly.glob("*.metadata.json")) for a in acknowledgements(f)]
    print(f"cdk-nag (AwsSolutions): 0 unacknowledged findings; {len(acks)} acknowledged, each with its reason:")
    for path, rule, reason in acks:
        print(f"  {rule}\n    at {path}\n    {reason}")
    return 1 if lint_failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
