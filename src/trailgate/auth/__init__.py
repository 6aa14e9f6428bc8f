"""Request authentication: SigV4 / SigV2 / presigned verification that yields a Principal."""
