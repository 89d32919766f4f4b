-- Each contact once with a provider that does not dedupe: when the provider was first called for the step,
-- committed just before the request leaves. NULL: never called, so an unconfirmed step may be sent safely;
-- set: the provider may have it, and it is settled before any second send (regua_dispatch.doubt).
ALTER TABLE dispatch_attempts ADD COLUMN called_at timestamptz;
