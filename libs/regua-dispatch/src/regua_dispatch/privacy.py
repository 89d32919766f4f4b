"""What every dispatcher's shared ledger holds about a debtor, for LGPD requests (regua_platform.privacy):
exported, corrected (a held command's recipient) and erased with the service's own tables."""

from regua_platform import privacy
from regua_platform.privacy import PersonalData, PersonalTable
from regua_platform.service import Runtime

#: Children before their parents (held_messages references dispatch_attempts).
LEDGER_TABLES = (
    PersonalTable("held_messages", contact=("command", "recipient")),
    PersonalTable("dispatch_attempts"),
    PersonalTable("contact_opt_outs"),
    PersonalTable("invalid_contacts"),
    PersonalTable("inbound_messages"),
    PersonalTable("conversations"),
    PersonalTable("case_states"),
    PersonalTable("debtor_identities"),
)


def install_privacy(runtime: Runtime, service: str, *own: PersonalTable) -> None:
    privacy.install(runtime, PersonalData(service, (*own, *LEDGER_TABLES)))
