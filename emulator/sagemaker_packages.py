"""SageMaker model packages: what AWS does that moto 5.2.5 does not.

AWS keeps CreateModelPackage/UpdateModelPackage's ModelCard and ModelLifeCycle and returns them from
Describe (both are members of CreateModelPackageInput, UpdateModelPackageInput and
DescribeModelPackageOutput in botocore's SageMaker model); an update changes only the fields it sends.
moto keeps ModelMetrics and DriftCheckBaselines (create only, as AWS: UpdateModelPackageInput has
neither) but ignored ModelCard and ModelLifeCycle, and cleared ModelApprovalStatus,
ApprovalDescription and CustomerMetadataProperties on every update that did not send them.
CreatedBy and LastModifiedBy are the caller's UserContext (its IamIdentity); moto named a made-up
Studio user profile for every caller.

ModelLifeCycle is validated as the API reference's ModelLifeCycle gives it (Stage and StageStatus
required, 1 to 63 characters of [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; StageDescription at most 1024),
which botocore's client checks only in part (required members and minimum lengths, not patterns or
maximum lengths); an update replaces the whole structure, as any member of UpdateModelPackage does.
The stage set is a condition key of both calls (emulator/resources.py) and the model package state
change event carries it, as AWS's sample event does (tests/fixtures/aws-events).

DeleteModelPackage and DeleteModelPackageGroup (moto has neither; SageMaker API reference). A group
created again after deletion is a new group: its versions start at 1 again (the Developer Guide,
"Model Registry Models, Model Versions, and Model Groups": the version "starts at 1 and is incremented
with each new model package added to a Model Group"), its packages get the ARNs the deleted ones had,
and only CreationTime tells them apart. Within one group a deleted version's number is not given
again (moto counted the group's packages, so it would have). AWS's reference names only
ConflictException for DeleteModelPackageGroup and does not say whether a group with versions can be
deleted: the emulator takes the stricter reading and refuses it (ConflictException).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.sagemaker.models import ModelPackage, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from emulator.core import ValidationException, body, result, user_context
from emulator.events import emit_package_event
from emulator.sagemaker_cards import included_data, metadata_only

PACKAGE_UPDATE_FIELDS = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "CustomerMetadataProperties",
    "AdditionalInferenceSpecificationsToAdd",
    "ModelCard",
    "ModelLifeCycle",
    "InferenceSpecification",
    "SourceUri",
)


# SageMaker API reference, ModelLifeCycle (botocore's EntityName and StageDescription shapes).
LIFE_CYCLE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
LIFE_CYCLE_LIMITS = {"Stage": (1, 63), "StageStatus": (1, 63), "StageDescription": (0, 1024)}


def _check_life_cycle(response: Any) -> None:
    life_cycle = response._get_param("ModelLifeCycle")
    if life_cycle is None:
        return
    if not isinstance(life_cycle, dict):
        raise ValidationException("1 validation error detected: 'modelLifeCycle' must be a structure")
    problems = []
    for member, (low, high) in LIFE_CYCLE_LIMITS.items():
        value = life_cycle.get(member)
        where = f"modelLifeCycle.{member[0].lower()}{member[1:]}"
        if value is None:
            if member != "StageDescription":
                problems.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
        elif not isinstance(value, str) or not low <= len(value) <= high:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must have length between {low} and {high}"
            )
        elif member != "StageDescription" and not LIFE_CYCLE_NAME.fullmatch(value):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {LIFE_CYCLE_NAME.pattern}"
            )
        elif member == "StageDescription" and ("\n" in value or "\r" in value):
            # The pattern .{0,1024}: a line break is not any character.
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: .{0,1024}"
            )
    if problems:
        count = "1 validation error" if len(problems) == 1 else f"{len(problems)} validation errors"
        raise ValidationException(f"{count} detected: {'; '.join(problems)}")


def _sm_create_model_package(self: Any) -> Any:
    _check_life_cycle(self)
    answer = _original["create_model_package"](self)
    arn = json.loads(body(answer))["ModelPackageArn"]
    package = _package_by_arn(self.sagemaker_backend, arn)
    package.created_by = user_context(self, iam_identity=True)
    _keep_unmodelled(self, package)
    emit_package_event(self.sagemaker_backend, package, None)
    return answer


def _sm_update_model_package(self: Any) -> Any:
    backend = self.sagemaker_backend
    arn = self._get_param("ModelPackageArn")
    package = _package_by_arn(backend, arn)
    _check_life_cycle(self)
    kept = {
        "model_approval_status": package.model_approval_status,
        "approval_description": package.approval_description,
        "customer_metadata_properties": package.customer_metadata_properties,
    }
    answer = _original["update_model_package"](self)
    package.last_modified_by = user_context(self, iam_identity=True)
    for attribute, before in kept.items():
        if getattr(package, attribute) is None:
            setattr(package, attribute, before)
    _keep_unmodelled(self, package)
    updated = [name for name in PACKAGE_UPDATE_FIELDS if self._get_param(name) is not None]
    emit_package_event(backend, package, updated)
    return answer


def _sm_describe_model_package(self: Any) -> Any:
    """IncludedData (botocore 1.44): MetadataOnly returns the package unchanged but for its model
    card's ModelCardContent, reduced to the paths DescribeModelCard's MetadataOnly keeps."""
    included = included_data(self)
    answer = _original["describe_model_package"](self)
    card = answer.result.get("ModelCard") if isinstance(getattr(answer, "result", None), dict) else None
    if included == "MetadataOnly" and isinstance(card, dict) and "ModelCardContent" in card:
        answer.result["ModelCard"] = {**card, "ModelCardContent": metadata_only(card["ModelCardContent"])}
    return answer


# Request parameter -> the package attribute that keeps it (moto has neither).
UNMODELLED = {"ModelCard": "model_card", "ModelLifeCycle": "model_life_cycle"}


def _keep_unmodelled(response: Any, package: ModelPackage) -> None:
    for parameter, attribute in UNMODELLED.items():
        if response._get_param(parameter) is not None:
            setattr(package, attribute, response._get_param(parameter))


def _package_by_arn(backend: SageMakerModelBackend, arn: str) -> ModelPackage:
    name = backend.model_package_name_mapping.get(arn, arn)
    package = backend.model_packages.get(name)
    if package is None:
        raise ValidationException(f"Model package {arn} not found")
    return package


def _package_response(self: ModelPackage) -> dict[str, Any]:
    response: dict[str, Any] = _original["package_response"](self)
    for parameter, attribute in UNMODELLED.items():
        if getattr(self, attribute, None) is not None:
            response[parameter] = getattr(self, attribute)
    return response


def _backend_create_model_package(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> str:
    """moto numbers a version as the group's package count plus one: with a version deleted that
    would give a number again. The group keeps how many it made; stand-ins fill the count."""
    group_name = kwargs.get("model_package_group_name")
    group = self.model_package_groups.get(group_name) if group_name else None
    fillers: list[str] = []
    if group is not None:
        present = sum(1 for p in self.model_packages.values() if p.model_package_group_name == group_name)
        for index in range(getattr(group, "versions_made", present) - present):
            key = f"deleted:{group_name}:{index}"
            self.model_packages[key] = SimpleNamespace(model_package_group_name=group_name)  # type: ignore[assignment]
            fillers.append(key)
    try:
        arn: str = _original["backend_create_model_package"](self, *args, **kwargs)
    finally:
        for key in fillers:
            del self.model_packages[key]
    if group is not None:
        setattr(group, "versions_made", self.model_packages[arn].model_package_version)  # noqa: B010 - not moto's
    return arn


def _sm_delete_model_package(self: Any) -> Any:
    backend = self.sagemaker_backend
    name = self._get_param("ModelPackageName") or ""
    package = _package_by_arn(backend, name)
    del backend.model_packages[package.arn]
    for key in [k for k, v in backend.model_package_name_mapping.items() if v == package.arn]:
        del backend.model_package_name_mapping[key]
    return result({})


def _sm_delete_model_package_group(self: Any) -> Any:
    backend = self.sagemaker_backend
    name = (self._get_param("ModelPackageGroupName") or "").rsplit("/", 1)[-1]
    if name not in backend.model_package_groups:
        raise ValidationException(f"Model Package Group {name} does not exist.")
    if any(p.model_package_group_name == name for p in backend.model_packages.values()):
        raise JsonRESTError(
            "ConflictException", f"Model Package Group {name} still has model packages: delete them first."
        )
    del backend.model_package_groups[name]
    return result({})


_original: dict[str, Callable[..., Any]] = {}


def install() -> None:
    _original["create_model_package"] = SageMakerResponse.create_model_package
    _original["update_model_package"] = SageMakerResponse.update_model_package
    _original["describe_model_package"] = SageMakerResponse.describe_model_package
    _original["package_response"] = ModelPackage.gen_response_object
    _original["backend_create_model_package"] = SageMakerModelBackend.create_model_package
    SageMakerModelBackend.create_model_package = _backend_create_model_package  # type: ignore[method-assign]
    SageMakerResponse.delete_model_package = _sm_delete_model_package  # type: ignore[attr-defined]
    SageMakerResponse.delete_model_package_group = _sm_delete_model_package_group  # type: ignore[attr-defined]
    SageMakerResponse.create_model_package = _sm_create_model_package  # type: ignore[method-assign]
    SageMakerResponse.update_model_package = _sm_update_model_package  # type: ignore[method-assign]
    SageMakerResponse.describe_model_package = _sm_describe_model_package  # type: ignore[method-assign]
    ModelPackage.gen_response_object = _package_response  # type: ignore[method-assign]
