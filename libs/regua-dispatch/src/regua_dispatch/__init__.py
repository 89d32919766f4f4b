"""What every channel dispatcher shares: the attempts ledger (intent before sending, outcome after), the
contact facts a dispatcher holds and the compliance gate at send time, the provider HTTP adapter (token
bucket, retries with backoff, Idempotency-Key), the template rules, inbound replies and delivery receipts."""
