"""From one finished `ApiCall` to the CloudTrail record(s) it produces, in AWS's schema.

A call produces one copy per receiving account: the caller's account, plus the other account
when a call concerns two (the role owner of a cross-account AssumeRole, the owner of another
account's bucket). The other account's copy names the caller only as
`{"type": "AWSAccount", "principalId", "accountId"}`; both copies share `sharedEventID` and
`requestID` and have their own `eventID` and `recipientAccountId` (CloudTrail User Guide,
"CloudTrail record contents" and the IAM guide's AssumeRole examples).

Calls whose authentication failed are recorded in the account of the presented access key when
that key exists (with its owner's identity and the authentication error); otherwise they are
dropped, because no account can be named as recipient.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trailgate.clock import iso_z
from trailgate.services.ids import uuid4_text
from trailgate.trail import shapes

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal
    from trailgate.calls import ApiCall

EVENT_VERSION = "1.08"
GLOBAL_REGION = "us-east-1"
# Services whose every event is a global-service event, recorded in us-east-1.
GLOBAL_SERVICES = frozenset({"iam", "organizations"})
# Records above this many characters keep their identity and outcome but lose
# requestParameters/responseElements (AWS omits oversized elements too).
MAX_ELEMENT_CHARS = 100_000

# S3 operations on objects, or on the object list of a bucket, are data events; every other S3
# operation (CreateBucket, PutBucketPolicy, GetBucketAcl, ...) is a management event.
S3_BUCKET_DATA_OPERATIONS = frozenset(
    {"DeleteObjects", "ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads"}
)

# Request parameters that name a resource, for LookupEvents' ResourceType/ResourceName.
_PARAM_RESOURCES: tuple[tuple[str, str, str], ...] = (
    ("iam", "UserName", "AWS::IAM::User"),
    ("iam", "RoleName", "AWS::IAM::Role"),
    ("iam", "GroupName", "AWS::IAM::Group"),
    ("iam", "PolicyArn", "AWS::IAM::Policy"),
    ("iam", "AccessKeyId", "AWS::IAM::AccessKey"),
    ("iam", "InstanceProfileName", "AWS::IAM::InstanceProfile"),
    ("s3", "Bucket", "AWS::S3::Bucket"),
    ("cloudtrail", "Name", "AWS::CloudTrail::Trail"),
    ("cloudtrail", "TrailName", "AWS::CloudTrail::Trail"),
    ("organizations", "AccountId", "AWS::Organizations::Account"),
)


@dataclass
class EventRow:
    """One copy of one event, ready for the queue."""

    event_id: str
    account_id: str
    event_time: datetime
    region: str
    event_source: str
    event_name: str
    read_only: bool
    management: bool
    username: str | None
    access_key_id: str | None
    data_bucket: str | None
    data_key: str | None
    resources: list[dict[str, str]] = field(default_factory=list)
    record: str = ""


@dataclass(frozen=True)
class Recipient:
    account_id: str
    full_identity: bool


def event_source(service: str) -> str:
    return f"{service}.amazonaws.com"


def event_region(call: ApiCall) -> str:
    return GLOBAL_REGION if call.service in GLOBAL_SERVICES else (call.region or GLOBAL_REGION)


def is_data_event(call: ApiCall) -> bool:
    if call.service != "s3":
        return False
    return bool(call.key) or call.operation in S3_BUCKET_DATA_OPERATIONS


# --- userIdentity --------------------------------------------------------------------------


def _session_attributes(principal: Principal) -> dict[str, str]:
    issued = principal.token_issue_time
    return {
        "creationDate": iso_z(issued) if issued else "",
        "mfaAuthenticated": "true" if principal.mfa_authenticated else "false",
    }


def user_identity(principal: Principal, access_key_id: str | None) -> dict[str, Any]:
    """The full userIdentity block of `principal` as its own account sees it."""
    kind = principal.kind
    key = principal.access_key_id or access_key_id
    if kind == "AWSService":
        return {"type": "AWSService", "invokedBy": principal.service or ""}
    if kind == "Anonymous":
        # S3's anonymous requester, recorded in the bucket owner's account.
        return {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}
    identity: dict[str, Any] = {"type": kind}
    # A value the principal lacks is left out (a console sign-in with an unknown user name).
    for field_name, value in (
        ("principalId", principal.principal_id),
        ("arn", principal.arn),
        ("accountId", principal.account_id),
    ):
        if value:
            identity[field_name] = value
    if key:
        identity["accessKeyId"] = key
    if kind == "IAMUser":
        identity["userName"] = principal.user_name or ""
    if kind == "AssumedRole":
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": principal.role_id or "",
                "arn": principal.role_arn or "",
                "accountId": principal.account_id or "",
                "userName": principal.role_name or "",
            },
            "webIdFederationData": {},
            "attributes": _session_attributes(principal),
        }
        if principal.source_identity:
            context["sourceIdentity"] = principal.source_identity
        identity["sessionContext"] = context
    elif principal.token_issue_time is not None:
        # A GetSessionToken session of a user or root.
        identity["sessionContext"] = {"attributes": _session_attributes(principal)}
    return identity


def other_account_identity(principal: Principal) -> dict[str, Any]:
    """How the second account of a call sees the caller."""
    return {
        "type": "AWSAccount",
        "principalId": principal.principal_id or "",
        "accountId": principal.account_id or "",
    }


def lookup_username(principal: Principal) -> str | None:
    if principal.kind == "Root":
        return "root"
    if principal.kind == "IAMUser":
        return principal.user_name
    if principal.kind == "AssumedRole":
        return principal.session_name
    if principal.kind == "AWSService":
        return principal.service
    return None


# --- parameters and output -------------------------------------------------------------------


_models: dict[tuple[str, str], Any] = {}


def _operation_model(service: str, operation: str) -> Any:
    key = (service, operation)
    if key in _models:
        return _models[key]
    from trailgate.protocol.models import has_operation, operation_model

    try:
        found = operation_model(service, operation) if has_operation(service, operation) else None
    except KeyError:
        found = None
    if len(_models) < 5_000:
        _models[key] = found
    return found


def request_parameters(call: ApiCall) -> dict[str, Any] | None:
    if call.params is None and call.service != "s3":
        return None
    model = _operation_model(call.service, call.operation)
    if model is None and call.service != "s3":
        # No botocore model (signin.amazonaws.com): names are kept as the service gave them.
        return shapes.convert_plain(call.params)
    shape = model.input_shape if model is not None else None
    if call.service == "s3":
        out: dict[str, Any] = {}
        if call.bucket:
            out["bucketName"] = call.bucket
        if call.key:
            out["key"] = call.key
        out.update(shapes.convert_s3(shape, call.params))
        return out or None
    return shapes.convert_top(shape, call.params)


def response_elements(call: ApiCall) -> dict[str, Any] | None:
    if call.error is not None or call.read_only or not call.output:
        return None
    model = _operation_model(call.service, call.operation)
    if model is None and call.service != "s3":
        return shapes.convert_plain(call.output)
    shape = model.output_shape if model is not None else None
    if call.service == "s3":
        return shapes.convert_s3(shape, call.output, locations=("header", "headers")) or None
    return shapes.convert_top(shape, call.output)


def _record_text(record: dict[str, Any]) -> str:
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= MAX_ELEMENT_CHARS:
        return text  # then no element can exceed the limit either
    for name in ("requestParameters", "responseElements", "additionalEventData"):
        if name in record:
            record[name] = _bounded(record[name])
    if record.get("additionalEventData", False) is None:
        del record["additionalEventData"]
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _bounded(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    if len(text) > MAX_ELEMENT_CHARS:
        return None
    return value


# --- resources ---------------------------------------------------------------------------------


def record_resources(call: ApiCall, bucket_owner: str | None) -> list[dict[str, str]]:
    given = call.trail.get("resources")
    if isinstance(given, list):
        return [
            {k: str(v) for k, v in item.items() if k in ("accountId", "type", "ARN")}
            for item in given
            if isinstance(item, dict)
        ]
    if call.service == "s3" and call.bucket:
        bucket_arn = f"arn:aws:s3:::{call.bucket}"
        bucket: dict[str, str] = {"type": "AWS::S3::Bucket", "ARN": bucket_arn}
        if bucket_owner:
            bucket = {"accountId": bucket_owner, **bucket}
        if call.key:
            return [{"type": "AWS::S3::Object", "ARN": f"{bucket_arn}/{call.key}"}, bucket]
        return [bucket]
    return []


def lookup_resources(call: ApiCall, resources: list[dict[str, str]]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, name: str) -> None:
        if name and (kind, name) not in seen:
            seen.add((kind, name))
            found.append({"ResourceType": kind, "ResourceName": name})

    for item in resources:
        add(item.get("type", ""), item.get("ARN", ""))
    params = call.params or {}
    for service, param, kind in _PARAM_RESOURCES:
        if call.service == service and isinstance(params.get(param), str):
            add(kind, params[param])
    return found


# --- the records ----------------------------------------------------------------------------


@dataclass
class Facts:
    """What the recorder looked up for a call (the store knows, the call does not)."""

    principal: Principal
    access_key_id: str | None
    bucket_owner: str | None = None
    read_only: bool = False


def recipients(call: ApiCall, facts: Facts) -> list[Recipient]:
    principal = facts.principal
    if principal.kind == "Anonymous":
        return [Recipient(facts.bucket_owner, True)] if facts.bucket_owner else []
    if principal.kind == "AWSService" or not principal.account_id:
        return []
    found = [Recipient(principal.account_id, True)]
    others: list[str] = []
    shared = call.trail.get("shared_with_account")
    if isinstance(shared, str) and shared:
        others.append(shared)
    if call.service == "s3" and facts.bucket_owner:
        others.append(facts.bucket_owner)
    for account in others:
        if all(account != r.account_id for r in found):
            found.append(Recipient(account, False))
    return found


def build_rows(
    call: ApiCall,
    facts: Facts,
    *,
    wants_data_event: Callable[[str], bool] | None = None,
) -> list[EventRow]:
    """The queue rows of `call`: one per receiving account (none if nobody may receive it)."""
    data = is_data_event(call)
    targets = recipients(call, facts)
    if data and wants_data_event is not None:
        # Data events exist only for accounts whose trails select them.
        targets = [t for t in targets if wants_data_event(t.account_id)]
    if not targets:
        return []
    principal = facts.principal
    read_only = facts.read_only
    region = event_region(call)
    source = event_source(call.service)
    resources = record_resources(call, facts.bucket_owner)
    # Oversized elements are dropped (`_bounded`), checked only for records that are long
    # enough to hold one: serialising every element twice was a tenth of a call's cost.
    params = request_parameters(call)
    response = response_elements(call)
    given = call.trail.get("additionalEventData")
    additional = shapes.convert_plain(given) if isinstance(given, dict) else None
    shared_id = uuid4_text() if len(targets) > 1 else None
    event_time = call.event_time.replace(microsecond=0)
    full = user_identity(principal, facts.access_key_id)
    other = other_account_identity(principal)
    username = lookup_username(principal)
    lookups = lookup_resources(call, resources)
    rows: list[EventRow] = []
    for target in targets:
        event_id = uuid4_text()
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": full if target.full_identity else other,
            "eventTime": iso_z(event_time),
            "eventSource": source,
            "eventName": call.operation,
            "awsRegion": region,
            "sourceIPAddress": call.source_ip,
            "userAgent": (call.user_agent or "")[:1024],
        }
        if principal.kind == "AWSService":
            record["sourceIPAddress"] = principal.service or call.source_ip
            record["userAgent"] = principal.service or record["userAgent"]
        if call.error is not None:
            record["errorCode"] = call.error.code
            record["errorMessage"] = call.error.message
        elif isinstance(call.trail.get("errorMessage"), str):
            # A failure without an error code (a console sign-in with a wrong password).
            record["errorMessage"] = call.trail["errorMessage"]
        record["requestParameters"] = params
        record["responseElements"] = response
        if additional is not None:
            record["additionalEventData"] = additional
        record["requestID"] = call.request_id
        record["eventID"] = event_id
        record["readOnly"] = read_only
        if resources:
            record["resources"] = resources
        record["eventType"] = call.event_type or "AwsApiCall"
        record["managementEvent"] = not data
        record["recipientAccountId"] = target.account_id
        if shared_id is not None:
            record["sharedEventID"] = shared_id
        record["eventCategory"] = "Data" if data else "Management"
        if call.event_type == "AwsConsoleAction":
            record["sessionCredentialFromConsole"] = "true"
        rows.append(
            EventRow(
                event_id=event_id,
                account_id=target.account_id,
                event_time=event_time,
                region=region,
                event_source=source,
                event_name=call.operation,
                read_only=read_only,
                management=not data,
                username=username if target.full_identity else None,
                access_key_id=(principal.access_key_id or facts.access_key_id)
                if target.full_identity
                else None,
                data_bucket=call.bucket if data else None,
                data_key=call.key if data else None,
                resources=lookups,
                record=_record_text(record),
            )
        )
    return rows
