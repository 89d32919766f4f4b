-- The SMS dispatcher's tables are the dispatchers' shared ones (regua_dispatch:001_dispatch.sql).
SELECT 1;
