"""CloudTrail recording, log-file writing, digests and signing, and the delivery worker."""
