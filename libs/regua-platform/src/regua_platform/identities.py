"""Makes the services' identities for a deployment, as environment lines (compose's .env):
``python -m regua_platform.identities > deploy/compose/.env``. For each service an Ed25519 signing key
(REGUA_SIGNING_KEY_<SERVICE>) and a Kafka SASL password (REGUA_KAFKA_PASSWORD_<USER>, also for the
``clients`` and ``replay`` users), REGUA_TRUSTED_PRODUCERS with every service's public key, and the secrets we
choose ourselves (admin token, link and staff-token secrets, webhook secrets, the keys of PII at rest); the
providers' own credentials are added by hand. Keep the file secret; run it again (and restart everything) to
rotate every key at once."""

import base64
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
    lines += [f"{name}={secrets.token_urlsafe(32)}" for name in OUR_SECRETS]
    lines.append(f"REGUA_PII_KEKS=k1:{base64.b64encode(secrets.token_bytes(32)).decode()}")
    return lines


#: Secrets that are ours to choose (random), as opposed to those a provider issues.
OUR_SECRETS = ("REGUA_ADMIN_TOKEN", "REGUA_LINK_SECRET", "REGUA_STAFF_TOKEN_SECRET", "REGUA_SMS_WEBHOOK_SECRET",
               "REGUA_WHATSAPP_VERIFY_TOKEN", "REGUA_PII_INDEX_KEY")


if __name__ == "__main__":
    print("\n".join(env_lines()))
