"""S3 in the console: the account's buckets, browsing a bucket by prefix (ListObjectsV2 with
delimiter "/"), an object's details (HeadObject, tags), and downloads streamed from GetObject.

Any bucket can be opened by name, so buckets of other accounts that a bucket policy shares are
reachable too. Downloads are always sent as attachments with the console's headers, never
rendered on the console's origin, whatever content type the object was stored with.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from trailgate.console.web import CallFailure, Page, failure_status, redirect, stream_response
from trailgate.http import HttpResponse

PAGE_SIZE = 200
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket_url(bucket: str, prefix: str = "") -> str:
    url = f"/console/s3/buckets/{quote(bucket, safe='')}"
    return f"{url}?prefix={quote(prefix, safe='')}" if prefix else url


def object_url(bucket: str, key: str) -> str:
    return f"/console/s3/object/{quote(bucket, safe='')}?key={quote(key, safe='')}"


def bucket_list(page: Page) -> HttpResponse:
    result, failure = page.try_call("s3", "ListBuckets", {})
    buckets = sorted((result or {}).get("Buckets") or [], key=lambda b: b["Name"])
    return page.render(
        "buckets.html", failure_status(failure), buckets=buckets, failure=failure
    )


def bucket_open(page: Page) -> HttpResponse:
    """The "open a bucket by name" form on the bucket list (GET, nothing changes)."""
    name = page.request.query.get("bucket", "").strip()
    if not _BUCKET.fullmatch(name):
        return page.render(
            "buckets.html", 400, buckets=[], failure=CallFailure(
                "InvalidBucketName", "The specified bucket is not valid."),
        )
    return redirect(bucket_url(name))


def breadcrumbs(prefix: str) -> list[tuple[str, str]]:
    """(label, prefix) for every folder level of `prefix`."""
    crumbs: list[tuple[str, str]] = []
    so_far = ""
    for part in prefix.split("/")[:-1]:
        so_far += part + "/"
        crumbs.append((part or "/", so_far))
    return crumbs


def bucket_browse(page: Page, bucket: str) -> HttpResponse:
    query = page.request.query
    prefix = query.get("prefix", "")
    params: dict[str, Any] = {
        "Bucket": bucket, "Delimiter": "/", "MaxKeys": PAGE_SIZE, "Prefix": prefix,
    }
    if query.get("token"):
        params["ContinuationToken"] = query["token"]
    result, failure = page.try_call("s3", "ListObjectsV2", params)
    result = result or {}
    folders = [p["Prefix"] for p in result.get("CommonPrefixes") or []]
    objects = [o for o in result.get("Contents") or [] if o["Key"] != prefix]
    return page.render(
        "bucket.html",
        failure_status(failure),
        bucket=bucket,
        prefix=prefix,
        crumbs=breadcrumbs(prefix),
        folders=folders,
        objects=objects,
        next_token=result.get("NextContinuationToken") if result.get("IsTruncated") else None,
        failure=failure,
    )


def object_detail(page: Page, bucket: str) -> HttpResponse:
    key = page.request.query.get("key", "")
    head = page.call("s3", "HeadObject", {"Bucket": bucket, "Key": key})
    tags, tags_failure = page.try_call("s3", "GetObjectTagging", {"Bucket": bucket, "Key": key})
    parent = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    return page.render(
        "object.html",
        bucket=bucket,
        key=key,
        head=head,
        tags=(tags or {}).get("TagSet", []),
        tags_failure=tags_failure,
        crumbs=breadcrumbs(parent),
        parent=parent,
    )


def _attachment_name(key: str) -> str:
    name = key.rsplit("/", 1)[-1] or "download"
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def object_download(page: Page, bucket: str) -> HttpResponse:
    key = page.request.query.get("key", "")
    # HEAD gets the headers only: GetObject would open the body for nothing.
    operation = "HeadObject" if page.request.method == "HEAD" else "GetObject"
    result = page.call("s3", operation, {"Bucket": bucket, "Key": key})
    headers = [
        ("content-type", "application/octet-stream"),
        ("content-disposition", _attachment_name(key)),
        ("content-length", str(result.get("ContentLength", 0))),
    ]
    if result.get("ETag"):
        headers.append(("etag", result["ETag"]))
    return stream_response(result.get("Body") or b"", headers)


ROUTES = [
    ("GET", r"/s3", bucket_list),
    ("GET", r"/s3/open", bucket_open),
    ("GET", r"/s3/buckets/(?P<bucket>[a-z0-9.-]+)", bucket_browse),
    ("GET", r"/s3/object/(?P<bucket>[a-z0-9.-]+)", object_detail),
    ("GET", r"/s3/download/(?P<bucket>[a-z0-9.-]+)", object_download),
]
