"""What the API declares that is not a view: the problem+json error body.

Every success answer's shape is the service's own (services/shapes.py): the routes declare those
TypedDicts as their `response_model`, so the OpenAPI document is made from the same description
mypy checks the views against. Request bodies are in schemas.py.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    """One refused part of a request."""

    loc: list[str]
    msg: str
    code: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details with a stable `code` (entrypoints/api/problems.py)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str
    field: str | None = None
    errors: list[FieldError] | None = None
