-- What POST /orders/{id}/cancel writes (bench/ceiling.py request_tx), as a pgbench script: the
-- split of the gap between our rows and the Python clients (bench/README.md, "The issue's
-- reference workloads on this machine"). On a database of our schema with orders, e.g. the
-- one `python -m bench.reads` leaves (aftersale_reads), first:
--   CREATE TABLE bench_ids AS SELECT row_number() OVER () AS n, id FROM orders LIMIT 50000;
--   CREATE UNIQUE INDEX ON bench_ids (n);
-- then: pgbench -n -M prepared -c 32 -j 2 -T 10 -f bench/ours_request.pgbench.sql URL
\set k random(1, 50000)
BEGIN;
SELECT id AS oid FROM bench_ids WHERE n = :k \gset
SELECT version FROM orders WHERE id = :oid FOR UPDATE \gset
UPDATE orders SET version = :version + 1, updated_at = now() WHERE id = :oid AND version = :version;
INSERT INTO cancellations (id, order_id, status, reason, requested_at, respond_by) VALUES ('can_' || md5(random()::text), :oid, 'pending', 'changed_mind', now(), now() + interval '72 hours');
INSERT INTO deadlines (kind, order_id, subject_id, due_at) VALUES ('cancellation_timeout', :oid, 'can_' || md5(random()::text), now() + interval '72 hours');
INSERT INTO timeline (order_id, at, actor, event, detail) VALUES (:oid, now(), 'system', 'cancellation_requested', 'bench cancellation_requested detail text');
INSERT INTO outbox (id, type, order_id, at, data) VALUES ('evt_' || md5(random()::text), 'order.cancellation_requested', :oid, now(), '{"actor": "buyer"}');
END;
