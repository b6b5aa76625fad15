"""Our rows fired entirely inside PostgreSQL: the floor of any firing path, however it is built.

The worker benchmark's ceiling (`bench/ceiling.py`) writes our rows from Python clients, a
multi-row statement per table per batch. This goes one step further, to the shape of the issue's
reference sweep: each batch of due deadlines is **one SQL statement** run by the server (data-
modifying CTEs), so nothing is sent per row, nothing is computed in a client and nothing
crosses the wire but the statement and a count. What it writes per due cancellation is what
our worker writes (the 72-hour timeout: the request auto-accepted, the order cancelled, the
refund, two ledger legs, three timeline rows and three outbox rows, the refund's submission
deadline; then the submission: the sandbox gateway's row, the refund processing, the order's
version, the settle deadline; and each deadline marked fired), with the same indexes.

It is not a firing path: it skips the domain's rules (a refund's working-day promise is a
fixed 28 days, texts are fixed), and a real gateway cannot be called from SQL. It measures
what PostgreSQL alone needs for our rows, so `bench.run` can say how far any worker could
go on this machine.

Usage (on a database with due cancellations, e.g. the worker benchmark's template):
    python -m bench.sweep_sql URL [--sweepers 2] [--batch 1000]"""

from __future__ import annotations

import argparse

import psycopg

from bench.ceiling import conninfo, sweep

NEW_ID = "substr(md5(random()::text || clock_timestamp()::text), 1, 24)"
# One statement fires a batch of due deadlines of both kinds, in due order, as our worker
# takes them (a timeout's refund submission, due at once, falls in a later batch).
FIRE = f"""
WITH due AS (
  SELECT seq, kind, order_id, subject_id, due_at FROM deadlines
  WHERE fired_at IS NULL AND due_at <= now()
  ORDER BY due_at, seq LIMIT %(batch)s FOR UPDATE SKIP LOCKED
), fired AS (
  UPDATE deadlines d SET fired_at = now() FROM due WHERE d.seq = due.seq
  RETURNING due.kind, due.order_id, due.subject_id, due.due_at
), req AS (  -- the 72-hour timeouts
  UPDATE cancellations c SET status = 'auto_accepted', responded_at = f.due_at
  FROM fired f WHERE f.kind = 'cancellation_timeout' AND c.id = f.subject_id
    AND c.status = 'pending'
  RETURNING c.order_id, c.reason, f.due_at
), was AS (  -- (every part of a statement sees the rows as they were before it)
  SELECT o.id, o.paid_amount - o.refunded_amount - o.released_amount AS amount, q.reason,
    q.due_at FROM orders o JOIN req q ON o.id = q.order_id
), o AS (
  UPDATE orders o SET status = 'cancelled', version = o.version + 1, updated_at = w.due_at,
    cancelled_at = w.due_at, cancelled_by = 'buyer', cancel_reason = w.reason,
    refunded_amount = o.refunded_amount + w.amount
  FROM was w WHERE o.id = w.id
  RETURNING o.id, w.amount, o.currency, coalesce(o.refund_method, o.payment_method, 'card')
    AS method, w.due_at
), r AS (
  INSERT INTO refunds (id, order_id, amount, currency, method, status, reason, source_type,
    source_id, created_at, expected_by)
  SELECT 'ref_' || {NEW_ID}, o.id, o.amount, o.currency, o.method, 'pending',
    'order_cancelled', 'cancellation', o.id, o.due_at, o.due_at + interval '28 days' FROM o
  RETURNING id, order_id, amount, currency, created_at
), legs AS (
  INSERT INTO ledger_entries (order_id, txn_id, account, amount, currency, kind, at)
  SELECT r.order_id, 'txn_' || md5(r.id), leg.account, leg.sign * r.amount, r.currency,
    'refund', r.created_at
  FROM r CROSS JOIN (VALUES ('escrow', -1), ('refunds_in_transit', 1)) AS leg(account, sign)
), events AS (
  SELECT r.order_id, r.created_at, e.event, e.detail, r.id AS refund_id
  FROM r CROSS JOIN (VALUES
    ('cancellation_auto_accepted', 'The seller did not answer within 72 hours: the '
     'cancellation was accepted automatically'),
    ('cancelled', 'Order cancelled at the buyer''s request'),
    ('refund_created', 'Refund created')) AS e(event, detail)
), tl AS (
  INSERT INTO timeline (order_id, at, actor, event, detail)
  SELECT order_id, created_at, 'system', event, detail FROM events
), ob AS (
  INSERT INTO outbox (id, type, order_id, at, data)
  SELECT 'evt_' || {NEW_ID}, 'order.' || event, order_id, created_at,
    json_build_object('actor', 'system', 'refund_id', refund_id) FROM events
), submit AS (
  INSERT INTO deadlines (kind, order_id, subject_id, due_at)
  SELECT 'refund_submit', order_id, id, created_at FROM r
), g AS (  -- the refund submissions: the sandbox gateway's row, the refund processing
  INSERT INTO sandbox_refunds (key, reference, amount, currency, method, created_at, settles_at)
  SELECT rf.id, 'sbx_' || rf.id, rf.amount, rf.currency, rf.method, f.due_at,
    f.due_at + interval '3 days'
  FROM fired f JOIN refunds rf ON rf.id = f.subject_id WHERE f.kind = 'refund_submit'
  ON CONFLICT (key) DO NOTHING RETURNING key, reference, settles_at
), p AS (
  UPDATE refunds rf SET status = 'processing', gateway_reference = g.reference,
    processing_at = now() FROM g WHERE rf.id = g.key AND rf.status = 'pending'
  RETURNING rf.id, rf.order_id, g.settles_at
), bump AS (
  UPDATE orders o SET version = o.version + 1 FROM p WHERE o.id = p.order_id
), settle AS (
  INSERT INTO deadlines (kind, order_id, subject_id, due_at)
  SELECT 'refund_settle', order_id, id, settles_at FROM p
)
SELECT (SELECT count(*) FROM fired)
"""


def sweep_one(url: str, batch: int) -> int:
    """Fire due deadlines, a batch per statement (its own transaction), until none is due."""
    fired = 0
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        while True:
            row = conn.execute(FIRE, {"batch": batch}).fetchone()
            done = int(row[0]) if row else 0
            if done == 0:
                return fired
            fired += done


def main() -> None:
    """Sweep the database at URL and print what it took."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--sweepers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    print(sweep(args.url, batch=args.batch, sweepers=args.sweepers, one=sweep_one))


if __name__ == "__main__":
    main()
