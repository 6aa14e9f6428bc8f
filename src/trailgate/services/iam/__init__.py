"""The IAM service: users, access keys, groups, roles, inline and managed policies,
attachments, permissions boundaries, login profiles, account aliases and the policy simulator.

Importing this package registers every IAM operation with `services.registry`. The modules are
split by entity; `principal_policies` is what the authorization pipeline and STS use, and
`managed_aws.ensure_aws_managed_policies` installs the AWS managed policies at start-up.
"""

from trailgate.services.iam import (  # noqa: F401 - importing registers the operations
    access_keys,
    account,
    aliases,
    attachments,
    boundaries,
    groups,
    inline_policies,
    login_profiles,
    managed_policies,
    roles,
    simulate,
    users,
)
from trailgate.services.iam.managed_aws import ensure_aws_managed_policies

__all__ = ["ensure_aws_managed_policies"]
