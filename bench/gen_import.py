"""Write an `aftersale import` file of N orders in every status (and, with --database-url, make
sure its buyers and sellers exist). Usage:

    uv run python bench/gen_import.py orders.jsonl --count 1000000 --database-url URL
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

# status -> share of the file (a marketplace's history is mostly completed orders)
MIX = {
    "completed": 50,
    "delivered": 12,
    "shipped": 10,
    "awaiting_payment": 8,
    "awaiting_fulfillment": 5,
    "awaiting_shipment": 5,
    "cancelled": 10,
}


def user_ids(buyers: int, sellers: int) -> tuple[list[str], list[str]]:
    """Stable ids of the generated buyers and sellers."""
    return [f"usr_bench_b{i}" for i in range(buyers)], [f"usr_bench_s{i}" for i in range(sellers)]


def ensure_users(url: str, buyers: list[str], sellers: list[str]) -> None:
    """Create the buyers and sellers the file refers to, unless they exist."""
    from aftersale.bootstrap import build_runtime
    from aftersale.services.users import create_user, get_user
    from aftersale.settings import Settings

    rt = build_runtime(Settings(database_url=url))  # type: ignore[call-arg]
    for role, ids in (("buyer", buyers), ("seller", sellers)):
        for uid in ids:
            if get_user(rt, uid) is None:
                email = f"{uid}@bench.example"
                create_user(rt, None, email=email, name=uid, role=role, user_id=uid)


def order_line(n: int, rng: random.Random, *, buyers: list[str], sellers: list[str]) -> dict:
    """One order, consistent with its status, with timestamps in the past."""
    status = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    now = datetime.now(UTC).replace(microsecond=0)
    created = now - timedelta(days=rng.randint(40, 400), seconds=rng.randint(0, 86_399))
    items = [
        {
            "sku": f"SKU-{k}",
            "title": f"Item {k}",
            "quantity": rng.randint(1, 3),
            "unit_price": f"{rng.randint(100, 99_999) / 100:.2f}",
        }
        for k in range(rng.randint(1, 3))
    ]
    total = sum(int(i["unit_price"].replace(".", "")) * i["quantity"] for i in items) + 500
    line: dict = {
        "id": f"ord_imp_{n:09d}",
        "buyer_id": rng.choice(buyers),
        "seller_id": rng.choice(sellers),
        "currency": "USD",
        "items": items,
        "shipping_fee": "5.00",
        "status": status,
        "created_at": _iso(created),
    }
    _history(line, status, created, now, total=total, rng=rng)
    return line


def _history(line: dict, status: str, t: datetime, now: datetime, *, total: int, rng) -> None:
    if status == "awaiting_payment":
        line["created_at"] = _iso(now - timedelta(days=rng.randint(0, 10)))
        return
    if status == "cancelled" and rng.random() < 0.5:
        line.update(cancelled_at=_iso(t + timedelta(hours=2)), cancel_reason="changed_mind")
        line["cancelled_by"] = "buyer"
        return
    t += timedelta(minutes=rng.randint(1, 600))
    line["payment"] = {
        "amount": f"{total / 100:.2f}",
        "method": "card",
        "reference": f"pay_{line['id']}",
        "paid_at": _iso(t),
    }
    if status == "cancelled" and rng.random() < 0.5:  # the buyer asked, the seller accepted
        line.update(cancelled_at=_iso(t + timedelta(hours=5)), cancel_reason="better_price")
        line["cancelled_by"] = "buyer"
        return
    if status == "cancelled":
        line.update(cancelled_at=_iso(t + timedelta(hours=5)), cancel_reason="Out of stock")
        line["cancelled_by"] = "seller"
        return
    if status in ("awaiting_fulfillment", "awaiting_shipment"):
        return
    t += timedelta(days=rng.randint(1, 3))
    line["shipment"] = {
        "carrier": "DHL",
        "tracking_number": f"TRK{line['id']}",
        "shipped_at": _iso(t),
    }
    if status == "shipped":
        return
    if status == "delivered":
        t = now - timedelta(days=rng.randint(0, 14))
    else:
        t += timedelta(days=rng.randint(3, 9))
    line["delivered_at"] = _iso(t)
    if status == "completed":
        line["completed_at"] = _iso(t + timedelta(days=15, hours=1))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def write_file(
    out: Path,
    count: int,
    *,
    buyers: list[str],
    sellers: list[str],
    seed: int = 5,
    first: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write `count` order lines numbered from `first` (the same file for the same seed);
    progress(n) every 10,000."""
    rng = random.Random(seed)
    with out.open("w") as f:
        for n in range(first, first + count):
            line = order_line(n, rng, buyers=buyers, sellers=sellers)
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
            if progress is not None and (n + 1 - first) % 10_000 == 0:
                progress(10_000)
    if progress is not None:
        progress(count % 10_000)
    return out


def main() -> None:
    """Parse the arguments and write the file."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--buyers", type=int, default=2000)
    ap.add_argument("--sellers", type=int, default=200)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--database-url", help="create the buyers and sellers in this database")
    args = ap.parse_args()
    buyers, sellers = user_ids(args.buyers, args.sellers)
    if args.database_url:
        ensure_users(args.database_url, buyers, sellers)
    write_file(args.out, args.count, buyers=buyers, sellers=sellers, seed=args.seed)


if __name__ == "__main__":
    main()
