"""The few facts about S3's wire format that its botocore model does not carry.

Everything else about S3 is read from the model. Each entry here says why the model needs help.
"""

from __future__ import annotations

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

# Output shapes without a payload member carry no root element name (botocore's parser never
# looks at it), but S3 names each response document; clients other than botocore may check it.
RESULT_ROOTS: dict[str, str] = {
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CreateSession": "CreateSessionResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycle": "LifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketNotification": "NotificationConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketTagging": "Tagging",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetObjectAcl": "AccessControlPolicy",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "GetObjectTagging": "Tagging",
    "ListBucketAnalyticsConfigurations": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurations": (
        "ListBucketIntelligentTieringConfigurationsOutput"
    ),
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurations": "ListMetricsConfigurationsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListParts": "ListPartsResult",
}

# GetBucketLocation's document is the bare `<LocationConstraint>region</LocationConstraint>`: the
# model describes a structure with a LocationConstraint member, which would nest the element
# twice. botocore parses this one response by hand (handlers.parse_get_bucket_location).
TEXT_ROOT_OPERATIONS: dict[str, str] = {"GetBucketLocation": "LocationConstraint"}

# A ranged GetObject answers 206 Partial Content; the model has no status-code member for it, so
# the presence of Content-Range in the output decides.
PARTIAL_CONTENT_OPERATIONS: dict[str, str] = {"GetObject": "ContentRange"}

# ListDirectoryBuckets (S3 Express directory buckets) shares `GET /` with ListBuckets and nothing
# in the request tells them apart; general-purpose endpoints only ever mean ListBuckets.
UNROUTABLE_OPERATIONS = frozenset({"ListDirectoryBuckets"})


# aws-chunked uploads (SigV4 streaming, checksum trailers): Content-Length counts the chunk
# framing, so the object's length is x-amz-decoded-content-length; and `aws-chunked` in
# Content-Encoding describes the transfer, so S3 does not store it with the object.
DECODED_LENGTH_HEADER = "x-amz-decoded-content-length"
AWS_CHUNKED_ENCODING = "aws-chunked"


def result_root(operation: str) -> str:
    return RESULT_ROOTS.get(operation, f"{operation}Result")
