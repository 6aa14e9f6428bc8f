"""S3: buckets, objects, versioning, multipart uploads, bucket policies and ACLs.

Importing the package registers its operations. Module map: records (store reads, blob store of
a runtime), authz (AuthzCheck builders and S3 condition keys), bodies (request and response
bodies), writes (versioned installs and deletes), and one module per group of operations.
`internal` is the in-process API the CloudTrail delivery uses.
"""

from trailgate.services.s3 import (  # noqa: F401 - registers the operations
    acl,
    bucket_policy,
    buckets,
    copy,
    delete,
    listing,
    multipart,
    objects,
    tagging,
    versioning,
)
from trailgate.services.s3.records import cleanup_orphans

__all__ = ["cleanup_orphans"]
