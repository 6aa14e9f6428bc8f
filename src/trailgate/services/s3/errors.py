"""S3's errors: AWS's codes, statuses and messages, with the extra members (BucketName, Key,
Resource, ...) that S3 puts in its error documents."""

from __future__ import annotations

from trailgate.errors import AwsError


def no_such_bucket(bucket: str) -> AwsError:
    return AwsError(
        "NoSuchBucket", "The specified bucket does not exist", 404, extra={"BucketName": bucket}
    )


def no_such_key(key: str, headers: list[tuple[str, str]] | None = None) -> AwsError:
    return AwsError(
        "NoSuchKey",
        "The specified key does not exist.",
        404,
        extra={"Key": key},
        headers=list(headers or []),
    )


def no_such_version(key: str, version_id: str) -> AwsError:
    return AwsError(
        "NoSuchVersion",
        "The specified version does not exist.",
        404,
        extra={"Key": key, "VersionId": version_id},
    )


def invalid_version_id(version_id: str) -> AwsError:
    return AwsError(
        "InvalidArgument",
        "Invalid version id specified",
        400,
        extra={"ArgumentName": "versionId", "ArgumentValue": version_id},
    )


def no_such_upload(upload_id: str) -> AwsError:
    return AwsError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
        404,
        extra={"UploadId": upload_id},
    )


def invalid_bucket_name(bucket: str) -> AwsError:
    return AwsError(
        "InvalidBucketName", "The specified bucket is not valid.", 400, extra={"BucketName": bucket}
    )


def access_denied() -> AwsError:
    return AwsError("AccessDenied", "Access Denied", 403)


def invalid_argument(message: str, name: str, value: str | None = None) -> AwsError:
    extra = {"ArgumentName": name}
    if value is not None:
        extra["ArgumentValue"] = value
    return AwsError("InvalidArgument", message, 400, extra=extra)


def invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequest", message, 400)


def malformed_xml() -> AwsError:
    return AwsError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published "
        "schema",
        400,
    )


def acls_not_supported() -> AwsError:
    return AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", 400)


def precondition_failed(condition: str) -> AwsError:
    return AwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        extra={"Condition": condition},
    )


def not_modified(headers: list[tuple[str, str]]) -> AwsError:
    return AwsError("NotModified", "Not Modified", 304, headers=headers)


def method_not_allowed(method: str, resource_type: str, headers: list[tuple[str, str]]) -> AwsError:
    return AwsError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        405,
        extra={"Method": method, "ResourceType": resource_type},
        headers=headers,
    )


def entity_too_large(size: int, limit: int) -> AwsError:
    return AwsError(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        400,
        extra={"ProposedSize": str(size), "MaxSizeAllowed": str(limit)},
    )


def key_too_long(size: int) -> AwsError:
    return AwsError(
        "KeyTooLongError",
        "Your key is too long",
        400,
        extra={"MaxSizeAllowed": "1024", "Size": str(size)},
    )


def invalid_tag(message: str) -> AwsError:
    return AwsError("InvalidTag", message, 400)
