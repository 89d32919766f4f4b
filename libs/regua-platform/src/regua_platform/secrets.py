"""Which secrets a service uses, and whether any is still a shipped placeholder: a link or webhook signed with
a value printed in this repository is forgeable by anyone (Settings refuses to start with one outside local).
Messages name the variable, never its value."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regua_platform.settings import Settings

#: Secrets we choose ourselves: each at least this long.
MIN_LENGTH = 16
#: Every service signs or checks these (admin token, signed links, staff tokens, the keys of PII at rest).
COMMON = ("admin_token", "link_secret", "staff_token_secret", "pii_keks", "pii_index_key")
#: Channel credentials, required only by the service that talks to that provider.
BY_SERVICE: dict[str, tuple[str, ...]] = {
    "dispatch-sms": ("sms_provider_token", "sms_webhook_secret"),
    "dispatch-whatsapp": ("whatsapp_access_token", "whatsapp_app_secret", "whatsapp_verify_token"),
}
#: Issued by a provider, whatever their length: only the placeholder is refused.
PROVIDER_ISSUED = frozenset({"sms_provider_token", "whatsapp_access_token"})


def weak_secrets(settings: "Settings") -> list[str]:
    """The environment variables (REGUA_...) whose secret is a placeholder or too short."""
    names = COMMON + BY_SERVICE.get(settings.service_name, ())
    weak = []
    for name in names:
        value: str = getattr(settings, name)
        default = type(settings).model_fields[name].default
        placeholder = value == default or value.startswith(("change-me", "local-"))
        if placeholder or (name not in PROVIDER_ISSUED and len(value) < MIN_LENGTH):
            weak.append(f"REGUA_{name.upper()}")
    return weak
