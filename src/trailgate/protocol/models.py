"""The botocore service models trailgate speaks, loaded once per process and shared read-only.

Everything on the wire (routes, member names, locations, constraints, error shapes) is read from
these models, so supporting a new operation never means writing wire-format code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

SERVICE_NAMES: tuple[str, ...] = ("iam", "sts", "s3", "cloudtrail", "organizations")

_lock = threading.Lock()
_models: dict[str, ServiceModel] = {}

Plan = TypeVar("Plan")
# Shapes are a few thousand per service; a bound keeps a cache from growing past them.
_PLANS_KEPT = 10_000


def per_shape(
    plans: dict[int, tuple[Shape, Plan]], shape: Shape, build: Callable[[Shape], Plan]
) -> Plan:
    """What `build` works out for `shape`, once: the codecs and validation read the same model
    shapes for every request. The shape is kept with its plan, so its id cannot be reused by
    another shape."""
    cached = plans.get(id(shape))
    if cached is not None and cached[0] is shape:
        return cached[1]
    plan = build(shape)
    if len(plans) < _PLANS_KEPT:
        plans[id(shape)] = (shape, plan)
    return plan


def service_model(service: str) -> ServiceModel:
    """The botocore `ServiceModel` for one of `SERVICE_NAMES` (KeyError for any other name)."""
    model = _models.get(service)
    if model is not None:
        return model
    if service not in SERVICE_NAMES:
        raise KeyError(f"trailgate does not speak the {service!r} service")
    with _lock:
        model = _models.get(service)
        if model is None:
            data = Loader().load_service_model(service, "service-2")
            model = ServiceModel(data, service_name=service)
            _models[service] = model
    return model


def operation_model(service: str, operation: str) -> OperationModel:
    """botocore caches operation models per ServiceModel, so repeated look-ups are cheap."""
    return service_model(service).operation_model(operation)


def has_operation(service: str, operation: str) -> bool:
    return operation in service_model(service).operation_names


def protocol_of(service: str) -> str:
    """`query`, `json` or `rest-xml`."""
    return str(service_model(service).metadata["protocol"])


def error_shape(service: str, code: str) -> Shape | None:
    """The modeled exception shape whose wire code is `code`, if the service declares one."""
    return _error_shapes(service).get(code)


_error_index: dict[str, dict[str, Shape]] = {}


def _error_shapes(service: str) -> dict[str, Shape]:
    index = _error_index.get(service)
    if index is None:
        index = {}
        for shape in service_model(service).error_shapes:
            index[shape.error_code] = shape
        _error_index[service] = index
    return index
