"""When a debtor may be contacted: hours by state law (the strictest rule wins), never on Sundays or on
national or state holidays, in the debtor's own time zone."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from regua_compliance.policy import ContactPolicy, Hours


@dataclass(frozen=True)
class ContactWindow:
    weekday: Hours | None
    saturday: Hours | None  # Sundays and holidays never


DEFAULT_WINDOW = ContactWindow(weekday=(time(8), time(20)), saturday=(time(8), time(14)))
#: State laws found so far (DOMAIN.md): SP Lei 15.426/2014, RJ Lei 7.868/2018, ES Lei 10.626/2017, AL Lei 7.782/2016.
STATE_WINDOWS = {
    "SP": ContactWindow((time(8), time(20)), (time(8), time(14))),
    "RJ": ContactWindow((time(9), time(19)), None),
    "ES": ContactWindow((time(8), time(19)), None),
    "AL": ContactWindow((time(8), time(20)), (time(8), time(14))),
}
_ZONES = {
    "AC": "America/Rio_Branco", "AM": "America/Manaus", "RR": "America/Boa_Vista", "RO": "America/Porto_Velho",
    "MT": "America/Cuiaba", "MS": "America/Campo_Grande", "PA": "America/Belem", "AP": "America/Belem",
    "TO": "America/Araguaina", "MA": "America/Fortaleza", "PI": "America/Fortaleza", "CE": "America/Fortaleza",
    "RN": "America/Fortaleza", "PB": "America/Fortaleza", "PE": "America/Recife", "AL": "America/Maceio",
    "SE": "America/Maceio", "BA": "America/Bahia",
}


#: Places whose clock is not their state capital's, by IBGE municipality code and by CEP prefix (the IBGE
#: code wins when both are given). Fernando de Noronha (PE) keeps UTC-2; thirteen municipalities of western
#: Amazonas keep UTC-5 like Acre (Lei 12.876/2013).
_ZONE_BY_IBGE = {
    "2605459": "America/Noronha",  # Fernando de Noronha
    **dict.fromkeys(("1300201", "1300607", "1300706", "1301407", "1301506", "1301654", "1301803", "1301951",
                     "1302306", "1302405", "1303502", "1303908", "1304062"), "America/Eirunepe"),
}
_ZONE_BY_CEP_PREFIX = {
    "53990": "America/Noronha",
    # Tabatinga, Benjamin Constant, Atalaia do Norte, São Paulo de Olivença, Jutaí, Lábrea, Boca do Acre,
    # Pauini, Envira, Itamarati, Eirunepé, Ipixuna, Guajará.
    **dict.fromkeys(("69640", "69630", "69650", "69600", "69660", "69830", "69850", "69860", "69870", "69878",
                     "69880", "69890", "69895"), "America/Eirunepe"),
}


def time_zone(state: str | None, postcode: str | None = None, city_ibge: str | None = None) -> ZoneInfo:
    """The debtor's clock: from the municipality (IBGE code) or the CEP where they place the debtor in a zone
    other than the state's, else the state's."""
    zone = _ZONE_BY_IBGE.get(city_ibge or "") or _ZONE_BY_CEP_PREFIX.get((postcode or "")[:5])
    return ZoneInfo(zone or _ZONES.get(state or "", "America/Sao_Paulo"))


def _narrow(a: Hours | None, b: Hours | None) -> Hours | None:
    if a is None or b is None:
        return None
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def window_for(state: str | None, policy: ContactPolicy) -> ContactWindow:
    """The default, the state's law and the tenant's policy, intersected: the strictest wins."""
    law = STATE_WINDOWS.get(state or "", DEFAULT_WINDOW)
    return ContactWindow(
        weekday=_narrow(_narrow(DEFAULT_WINDOW.weekday, law.weekday), policy.weekday_hours),
        saturday=_narrow(_narrow(DEFAULT_WINDOW.saturday, law.saturday), policy.saturday_hours),
    )


@lru_cache(maxsize=256)
def _holidays(state: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("BR", subdiv=state if state else None, years=year)


def is_no_contact_day(day: date, state: str | None) -> bool:
    return day.weekday() == 6 or day in _holidays(state, day.year)


def _hours_on(day: date, window: ContactWindow, state: str | None) -> Hours | None:
    if is_no_contact_day(day, state):
        return None
    return window.saturday if day.weekday() == 5 else window.weekday


def next_allowed_moment(at: datetime, state: str | None, policy: ContactPolicy,
                        zone: ZoneInfo | None = None) -> datetime | None:
    """``at`` itself when it is inside the debtor's contact hours, else the start of the next window.
    None when the rules leave no window at all (e.g. a policy narrowed to nothing). ``zone``: the debtor's
    own clock when known from the address (``time_zone``), else the state's."""
    zone = zone or time_zone(state)
    local = at.astimezone(zone)
    window = window_for(state, policy)
    for days_ahead in range(0, 15):
        day = local.date() + timedelta(days=days_ahead)
        hours = _hours_on(day, window, state)
        if hours is None:
            continue
        start = datetime.combine(day, hours[0], zone)
        end = datetime.combine(day, hours[1], zone)
        if days_ahead == 0 and local >= end:
            continue
        return max(start, at.astimezone(zone)) if days_ahead == 0 else start
    return None
