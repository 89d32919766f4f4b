#!/bin/sh
# Compose's kafka-init: one SCRAM-SHA-512 user per REGUA_KAFKA_PASSWORD_<USER> variable (the .env made by
# `python -m regua_platform.identities`), then the generated ACLs. Idempotent: safe to run at every `up`.
set -eu
: "${BOOTSTRAP:?}"
env | sed -n 's/^REGUA_KAFKA_PASSWORD_\([A-Z_]*\)=\(.*\)$/\1 \2/p' | while read -r var password; do
  user=$(echo "$var" | tr 'A-Z_' 'a-z-')
  kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --alter --entity-type users --entity-name "$user" \
    --add-config "SCRAM-SHA-512=[password=$password]"
done
sh "$(dirname "$0")/kafka-acls.sh"
