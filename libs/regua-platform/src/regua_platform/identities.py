"""Makes the services' identities for a deployment, as environment lines (compose's .env):
``python -m regua_platform.identities > deploy/compose/.env``. For each service an Ed25519 signing key
(REGUA_SIGNING_KEY_<SERVICE>) and a Kafka SASL password (REGUA_KAFKA_PASSWORD_<USER>, also for the
``clients`` and ``replay`` users), and REGUA_TRUSTED_PRODUCERS with every service's public key. Keep the
file secret; run it again (and restart everything) to rotate every key at once."""

import json
import secrets

from regua_platform.kafka_acls import services, users
from regua_platform.signing import new_key_pair


def _var(name: str) -> str:
    return name.upper().replace("-", "_")


def env_lines() -> list[str]:
    keys = {service: new_key_pair() for service in services()}
    lines = [f"REGUA_SIGNING_KEY_{_var(s)}={private}" for s, (private, _) in keys.items()]
    lines += [f"REGUA_KAFKA_PASSWORD_{_var(u)}={secrets.token_urlsafe(24)}" for u in users()]
    trusted = json.dumps({s: public for s, (_, public) in keys.items()}, separators=(",", ":"))
    lines.append(f"REGUA_TRUSTED_PRODUCERS='{trusted}'")
    return lines


if __name__ == "__main__":
    print("\n".join(env_lines()))
