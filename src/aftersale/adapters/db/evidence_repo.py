"""Dispute evidence files in the `evidence` table (bytes, type, size and SHA-256 hash)."""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import Connection, insert, select

from aftersale.adapters.db import tables as t
from aftersale.services.evidence import EvidenceRecord

META = [f.name for f in fields(EvidenceRecord) if f.name != "data"]


class SqlEvidenceRepository:
    """Evidence rows; listing reads metadata only, so big files are not loaded needlessly."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, record: EvidenceRecord) -> None:
        """Store a file."""
        self.conn.execute(insert(t.evidence).values(**asdict(record)))

    def list_for(self, dispute_id: str) -> list[EvidenceRecord]:
        """A dispute's files, oldest first, without their bytes."""
        e = t.evidence.c
        rows = self.conn.execute(
            select(*[e[n] for n in META]).where(e.dispute_id == dispute_id).order_by(e.at, e.id)
        ).mappings()
        return [EvidenceRecord(**row) for row in rows]

    def get(self, evidence_id: str) -> EvidenceRecord | None:
        """One file with its bytes."""
        row = (
            self.conn.execute(select(t.evidence).where(t.evidence.c.id == evidence_id))
            .mappings()
            .first()
        )
        return EvidenceRecord(**{**row, "data": bytes(row["data"])}) if row else None
