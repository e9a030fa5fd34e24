-- The delivery worker's claim (storage/outbox.py flush_and_claim): pending rows in the order
-- `priority DESC, id`, a few hundred at a time. Without an index in that order each claim read
-- and sorted every pending row: 88 ms per claim on PostgreSQL with 100,000 pending (a city
-- notice), and broadcasts paced at 250 msg/s instead of 1,000 (bench/ackstorm.py). With it the
-- claim walks the index and stops at its LIMIT (0.2 ms). Partial: only pending rows, so the
-- index stays as small as the queue.
CREATE INDEX outbox_claim ON outbox (priority DESC, id) WHERE status = 'pending';
