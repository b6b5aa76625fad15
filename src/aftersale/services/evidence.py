"""Use cases of dispute evidence: the buyer and the seller attach files; staff may read them.

A file's type is decided by its first bytes (magic numbers), never by what the client declares:
a declared type that disagrees with the content is refused. Files are kept with a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from aftersale.domain.actions import can_see, require_role
from aftersale.domain.actors import Actor
from aftersale.domain.errors import DomainError, InvalidState, NotFound, ValidationFailed
from aftersale.domain.order import Order
from aftersale.domain.order_state import ACTIVE_DISPUTE
from aftersale.domain.validate import storable
from aftersale.services import shapes
from aftersale.services.common import owner_of, visible_order
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso

MAX_BYTES = 5 * 1024 * 1024
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
}


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """A stored evidence file (its bytes in `data`, empty when only the metadata was read)."""

    id: str
    dispute_id: str
    order_id: str
    uploader_id: str
    uploader_role: str
    filename: str
    content_type: str
    size: int
    sha256: str
    at: datetime
    data: bytes = b""


class EvidenceRepository(Protocol):
    """Where evidence files are kept."""

    def add(self, record: EvidenceRecord) -> None:
        """Store a file."""
        ...

    def list_for(self, dispute_id: str) -> list[EvidenceRecord]:
        """A dispute's files, oldest first, without their bytes."""
        ...

    def get(self, evidence_id: str) -> EvidenceRecord | None:
        """One file with its bytes."""
        ...


class EvidenceUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds the evidence repository."""

    evidence: EvidenceRepository


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are (png, jpeg, webp, gif or pdf), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check_file(data: bytes, declared: str | None, filename: str | None) -> str:
    """The file's real type if it may be attached (before anything is written), else raise."""
    if filename is not None and not storable(filename):
        raise ValidationFailed(
            "the file name holds a NUL byte or text that is not valid Unicode", field="file"
        )
    return _checked_type(data, declared)


def _checked_type(data: bytes, declared: str | None) -> str:
    """The file's real type; refuse an unknown type or one that contradicts the declared one."""
    if not data:
        raise ValidationFailed("the file is empty", field="file")
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"a file may be at most {MAX_BYTES // (1024 * 1024)} MiB", code="payload_too_large"
        )
    real = sniff(data)
    if real is None:
        raise ValidationFailed("only PNG, JPEG, WebP, GIF and PDF files are accepted", field="file")
    said = (declared or "").split(";")[0].strip().lower()
    if said not in GENERIC_TYPES and TYPE_ALIASES.get(said, said) != real:
        raise ValidationFailed(f"the file is {real}, not {said}", field="file")
    return real


def clean_filename(name: str | None) -> str:
    """A safe display name: no folders, no control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"]", "", base).strip().lstrip(".")
    return base[-200:] or "evidence"


def evidence_id() -> str:
    """A new id that sorts by creation (wall-clock nanoseconds first), so a dispute's files
    list in upload order even when a frozen test clock gives them the same `at`."""
    return f"evd_{time.time_ns():016x}{secrets.token_hex(6)}"


def evidence_view(e: EvidenceRecord) -> shapes.Evidence:
    """An evidence file's public description."""
    return {
        "id": e.id,
        "dispute_id": e.dispute_id,
        "filename": e.filename,
        "content_type": e.content_type,
        "size": e.size,
        "sha256": e.sha256,
        "uploader_role": e.uploader_role,
        "at": iso(e.at),
    }


def _dispute_order(uow: UnitOfWork, actor: Actor, dispute_id: str, *, lock: bool) -> Order:
    """The order owning a dispute the actor may see, else not_found."""
    return visible_order(uow, actor, owner_of(uow, "dispute", dispute_id), lock=lock)


def attach_evidence(
    rt: Runtime,
    actor: Actor,
    dispute_id: str,
    *,
    filename: str | None,
    content_type: str | None,
    data: bytes,
) -> shapes.Evidence:
    """The order's buyer or seller attaches a file to a dispute still in progress."""
    require_role(actor, "attach_evidence")
    with rt.uow() as uow:
        order = _dispute_order(uow, actor, dispute_id, lock=True)  # serializes with the dispute
        real = check_file(data, content_type, filename)
        dispute = order.find_dispute(dispute_id)
        if dispute.status not in ACTIVE_DISPUTE:
            raise InvalidState(f"the dispute is {dispute.status}; evidence can no longer be added")
        record = EvidenceRecord(
            id=evidence_id(),
            dispute_id=dispute_id,
            order_id=order.id,
            uploader_id=actor.user_id,
            uploader_role=str(actor.role),
            filename=clean_filename(filename),
            content_type=real,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            at=rt.clock.now(),
            data=data,
        )
        cast(EvidenceUnitOfWork, uow).evidence.add(record)
        uow.commit()
        return evidence_view(record)


def list_evidence(rt: Runtime, actor: Actor, dispute_id: str) -> list[shapes.Evidence]:
    """The files attached to a dispute the caller may see, oldest first."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        _dispute_order(uow, actor, dispute_id, lock=False)
        return [
            evidence_view(e) for e in cast(EvidenceUnitOfWork, uow).evidence.list_for(dispute_id)
        ]


def order_of_dispute(rt: Runtime, actor: Actor, dispute_id: str) -> str:
    """The id of the order a dispute the caller may see belongs to, else not_found."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        return _dispute_order(uow, actor, dispute_id, lock=False).id


def evidence_content(rt: Runtime, actor: Actor, evidence_id: str) -> EvidenceRecord:
    """A file with its bytes, if the caller may see its dispute."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        record = cast(EvidenceUnitOfWork, uow).evidence.get(evidence_id)
        if record is None:
            raise NotFound(f"evidence {evidence_id} not found")
        order = uow.orders.get(record.order_id, lock=False, history=False)
        if order is None or not can_see(actor, order):
            raise NotFound(f"evidence {evidence_id} not found")
        return record
