-- The WhatsApp dispatcher's tables are the dispatchers' shared ones (regua_dispatch:001_dispatch.sql),
-- conversations among them (the 24-hour window after the debtor's last message).
SELECT 1;
