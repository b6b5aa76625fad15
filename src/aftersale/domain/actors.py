"""Who acts: a buyer, a seller, an admin (platform staff) or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A user's role."""

    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a use case."""

    user_id: str
    role: Role

    @property
    def timeline_name(self) -> str:
        """How the actor appears on a timeline: buyer, seller, platform or system."""
        return "platform" if self.role is Role.ADMIN else self.role.value


SYSTEM = Actor(user_id="system", role=Role.SYSTEM)
