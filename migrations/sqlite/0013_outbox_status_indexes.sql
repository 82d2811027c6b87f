-- Each status change (queued -> sending -> sent) rewrote an entry in every
-- index that starts with the status. outbox_priority_due already serves
-- what outbox_due did; the lease index needs only the rows being sent.
DROP INDEX outbox_due;
DROP INDEX outbox_lease;
CREATE INDEX outbox_lease ON outbox (lease_until) WHERE status = 'sending';
