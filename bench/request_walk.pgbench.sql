-- The request cancellation's transaction as bench/ceiling.py's request_tx sends it, for
-- pgbench (bench/pgbench_ceiling.py): each transaction takes the next order of the walk.
\set r random(1, 999999999999)
BEGIN;
-- (nextval in a sub-select of its own: evaluated once, not once per row looked at)
SELECT id AS oid, version FROM orders
  WHERE id = (SELECT id FROM bench_walk WHERE n = (SELECT nextval('bench_walk_n')))
  FOR UPDATE \gset
UPDATE orders SET version = :version + 1, updated_at = now()
  WHERE id = :oid AND version = :version;
\startpipeline
INSERT INTO cancellations (id, order_id, status, reason, requested_at, respond_by)
  VALUES ('can_' || :client_id || '_' || :r, :oid, 'pending', 'changed_mind', now(),
          now() + interval '72 hours');
INSERT INTO deadlines (kind, order_id, subject_id, due_at)
  VALUES ('cancellation_timeout', :oid, 'can_' || :client_id || '_' || :r,
          now() + interval '72 hours');
INSERT INTO timeline (order_id, at, actor, event, detail)
  VALUES (:oid, now(), 'system', 'cancellation_requested',
          'bench cancellation_requested detail text');
INSERT INTO outbox (id, type, order_id, at, data)
  VALUES ('evt_' || :client_id || '_' || :r, 'order.cancellation_requested', :oid, now(),
          '{"actor": "buyer"}');
\endpipeline
END;
