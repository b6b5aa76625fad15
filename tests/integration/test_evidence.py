"""Dispute evidence files over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from aftersale.services.evidence import clean_filename
from tests.client import Api, Party
from tests.integration.ledger_check import ask_dispute

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 40
GIF = b"GIF89a" + b"\x02" * 30
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x03" * 30
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def upload(
    api: Api, dispute_id: str, who: Party | None, data: bytes, ctype: str, name: str = "f.bin"
) -> httpx.Response:
    """POST a multipart file as a party."""
    return api.http.post(
        f"/api/v1/disputes/{dispute_id}/evidence",
        files={"file": (name, data, ctype)},
        headers=who.headers if who else {},
    )


def disputed(api: Api) -> tuple[Party, Party, dict[str, Any]]:
    """A buyer, a seller and an open dispute on their delivered order."""
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    return buyer, seller, api.ok(ask_dispute(api, order, buyer, "10"), 201)


def listed(api: Api, dispute_id: str, who: Party) -> list[dict[str, Any]]:
    """The dispute's evidence as a party lists it."""
    response = api.get(f"/disputes/{dispute_id}/evidence", as_=who)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def test_the_buyer_attaches_a_png_stored_with_its_sha256_and_served_back(api: Api) -> None:
    buyer, seller, dispute = disputed(api)
    body = api.ok(upload(api, dispute["id"], buyer, PNG, "image/png", "photo.png"), 201)
    assert body["id"].startswith("evd_")
    assert body["at"].endswith("Z")
    assert {k: body[k] for k in body if k not in ("id", "at")} == {
        "dispute_id": dispute["id"],
        "filename": "photo.png",
        "content_type": "image/png",
        "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "uploader_role": "buyer",
    }
    for who in (buyer, seller, api.admin):
        assert listed(api, dispute["id"], who) == [body]
        content = api.get(f"/evidence/{body['id']}/content", as_=who)
        assert content.status_code == 200
        assert content.content == PNG
        assert content.headers["content-type"] == "image/png"
        assert content.headers["x-content-type-options"] == "nosniff"


def test_each_accepted_type_is_recognised_by_its_magic_bytes(api: Api) -> None:
    buyer, seller, dispute = disputed(api)
    files = [
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
    ]
    for data, ctype in files:
        body = api.ok(upload(api, dispute["id"], seller, data, "application/octet-stream"), 201)
        assert (body["content_type"], body["uploader_role"]) == (ctype, "seller")
    assert [e["content_type"] for e in listed(api, dispute["id"], buyer)] == [c for _, c in files]


def test_a_file_whose_bytes_are_not_an_accepted_type_is_refused_with_422(api: Api) -> None:
    buyer, _, dispute = disputed(api)
    for data, ctype in (
        (b"MZ\x90\x00 this is a program", "image/png"),
        (b"<svg onload=alert(1)>", "image/svg+xml"),
        (b"plain text", "text/plain"),
        (PNG, "application/pdf"),  # the declared type contradicts the bytes
        (b"", "image/png"),
    ):
        response = upload(api, dispute["id"], buyer, data, ctype)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
    missing = api.http.post(
        f"/api/v1/disputes/{dispute['id']}/evidence", data={"x": "1"}, headers=buyer.headers
    )
    assert (missing.status_code, missing.json()["code"]) == (422, "validation_error")
    assert listed(api, dispute["id"], buyer) == []


def test_a_file_over_5_mib_is_refused_with_413_payload_too_large(api: Api) -> None:
    buyer, _, dispute = disputed(api)
    big = PDF + b"\x00" * (5 * 1024 * 1024)
    response = upload(api, dispute["id"], buyer, big, "application/pdf")
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    just = PDF + b"\x00" * (5 * 1024 * 1024 - len(PDF))
    assert api.ok(upload(api, dispute["id"], buyer, just, "application/pdf"), 201)["size"] == len(
        just
    )
    assert len(listed(api, dispute["id"], buyer)) == 1


def test_strangers_get_404_and_staff_may_read_but_not_upload(api: Api) -> None:
    buyer, _, dispute = disputed(api)
    stranger, other_seller = api.user("buyer"), api.user("seller")
    body = api.ok(upload(api, dispute["id"], buyer, PNG, "image/png"), 201)
    for who in (stranger, other_seller):
        assert upload(api, dispute["id"], who, PNG, "image/png").status_code == 404
        assert api.get(f"/disputes/{dispute['id']}/evidence", as_=who).status_code == 404
        assert api.get(f"/evidence/{body['id']}/content", as_=who).status_code == 404
    staff = upload(api, dispute["id"], api.admin, PNG, "image/png")
    assert (staff.status_code, staff.json()["code"]) == (403, "forbidden")
    assert upload(api, dispute["id"], None, PNG, "image/png").status_code == 401
    assert upload(api, "dsp_missing", buyer, PNG, "image/png").status_code == 404
    assert api.get("/evidence/evd_missing/content", as_=buyer).status_code == 404
    assert len(listed(api, dispute["id"], api.admin)) == 1


def test_evidence_is_accepted_while_the_dispute_is_in_progress_and_refused_after(
    api: Api,
) -> None:
    buyer, seller, dispute = disputed(api)
    did = dispute["id"]
    api.ok(upload(api, did, buyer, PNG, "image/png"), 201)
    api.ok(api.post(f"/disputes/{did}/reject", {"reason": "no"}, as_=seller))
    api.ok(upload(api, did, seller, PDF, "application/pdf"), 201)
    api.ok(api.post(f"/disputes/{did}/escalate", as_=buyer))
    api.ok(upload(api, did, buyer, GIF, "image/gif"), 201)
    api.ok(
        api.post(f"/disputes/{did}/resolve", {"refund_amount": "5", "note": "ok"}, as_=api.admin)
    )
    late = upload(api, did, buyer, PNG, "image/png")
    assert (late.status_code, late.json()["code"]) == (409, "invalid_state")
    assert [e["uploader_role"] for e in listed(api, did, buyer)] == ["buyer", "seller", "buyer"]


def test_a_filename_is_reduced_to_a_safe_base_name(api: Api) -> None:
    buyer, _, dispute = disputed(api)
    body = api.ok(upload(api, dispute["id"], buyer, PNG, "image/png", "../../etc/passwd.png"), 201)
    assert body["filename"] == "passwd.png"
    content = api.get(f"/evidence/{body['id']}/content", as_=buyer)
    assert "passwd.png" in content.headers["content-disposition"]


def test_filenames_lose_folders_quotes_and_control_characters() -> None:
    assert clean_filename("C:\\fakepath\\scan.pdf") == "scan.pdf"
    assert clean_filename('a"b\x00\x1fc.png') == "abc.png"
    assert clean_filename("../.hidden") == "hidden"
    assert clean_filename(None) == "evidence"
    assert len(clean_filename("x" * 500 + ".png")) == 200
