"""A local AWS for the product: moto 5.2.5, extended in place with what AWS really does.

`install()` is the one entry point: it extends moto's own backends and response handlers, once,
before any client is made, and serves `mock_aws` and moto's server alike. Each module covers what
one AWS service does and moto did not, and reads "AWS does X; moto did Y" with the AWS document it
follows. When a later moto release gains a behaviour, its extension is deleted and its test in
tests/test_emulator.py must still pass.

- sagemaker_cards: model card validation, name-or-ARN lookup, versions and updates
- sagemaker_packages: model package ModelCard and partial updates
- export_jobs: model card export jobs and their PDF
- events: SageMaker's EventBridge events and cross-account delivery
- ram: RAM shares, permissions and invitations for model cards
- organizations: the management account's administrator, OrganizationAccountAccessRole in every
  account, and which accounts and organizational units an organization has
- policy: one IAM policy statement, matched as AWS matches it
- resources: which ARN an API call acts on, and its condition keys
- permissions: who may call what (identity, resource and key policies; on unless
  EMULATOR_PERMISSIONS=off)
- sessions: how a person, a test or the sandbox becomes someone (client side)
- cloudtrail: CloudTrail records of the governed SageMaker writes, and LookupEvents
- search: SageMaker Search for model cards and training jobs, within the caller's account
- sqs: queues whose sends and receives cost the same at any depth (moto walked the whole queue)
"""

from __future__ import annotations

from emulator import (
    cloudtrail,
    dynamodb,
    events,
    export_jobs,
    organizations,
    permissions,
    ram,
    sagemaker_cards,
    sagemaker_packages,
    search,
    sqs,
)

__all__ = ["install"]

# Each module's install() patches moto once; a new service's module joins this list. cloudtrail
# comes after the SageMaker modules: it records the calls their handlers answer.
EXTENSIONS = (
    organizations,
    permissions,
    sagemaker_cards,
    export_jobs,
    sagemaker_packages,
    search,
    ram,
    events,
    cloudtrail,
    sqs,
    dynamodb,
)

_installed = False


def install() -> None:
    """Extend moto in place. Idempotent; call before any boto3 client is created."""
    global _installed
    if _installed:
        return
    _installed = True
    for extension in EXTENSIONS:
        extension.install()
