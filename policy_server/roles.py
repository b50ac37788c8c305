"""The roles a token carries and which requirements each role meets.

Kept apart from ``tokens`` (hashing, the store) so that building the ``reins`` parser, whose
``reins token create --help`` names the roles, imports nothing but this. Never imports anything
beyond the standard library's ``types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ROLES = ("admin", "author", "developer", "auditor")

# Which requirements each role meets. A route names the role it needs:
#   hook endpoints, policy bundle       -> "developer"
#   audit read and export               -> "auditor"
#   agents and schedules                -> "author"
#   token management, policy reload     -> "admin"
# Admin meets every requirement. Each other role meets only its own. An author defines agents
# but does not run harnesses, so an author is not a developer. An auditor reads the log but
# changes nothing.
GRANTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "admin": frozenset(ROLES),
        "author": frozenset({"author"}),
        "developer": frozenset({"developer"}),
        "auditor": frozenset({"auditor"}),
    }
)
