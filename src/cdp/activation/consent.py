"""Consent per purpose (SPEC 8, 9): which purpose each destination type delivers for, and reading it.

The purposes are the consent store's (:data:`cdp.profiles.consent.CONSENT_PURPOSES`): ``ads``, ``email``,
``push``, ``sms``. Consent is opt-in: a purpose counts as granted only when ``profiles.consent`` says
``"granted": true`` for it; absent, refused, unreadable or not a boolean all mean no (PDPA/GDPR marketing
needs a recorded yes).

Which purpose a destination needs:

================== ========= =========================================================================
type               purpose   why
================== ========= =========================================================================
ses_contact_list   email     it subscribes an address to an e-mail topic; fixed
sms                sms       it texts a phone; fixed
s3_audience        ads       hashed identifiers for ad platforms' custom audiences; fixed
sns                push      default; an SNS topic usually fans out to app notifications
eventbridge, sqs   push      default; generic transports: declare the purpose of what consumers do with
                             the events (a CRM mailer behind a queue declares ``email``)
local              (none)    the embedded stand-in for any of the above: its purpose must be declared
================== ========= =========================================================================

Channel types cannot be declared with another purpose (an e-mail list delivered under ``ads`` consent
would be a silent hole); transports may take any of the four.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import orjson


class ConsentPurpose(StrEnum):
    ADS = "ads"
    EMAIL = "email"
    PUSH = "push"
    SMS = "sms"


#: the purpose a destination type delivers for when its config does not say
DEFAULT_PURPOSE: Final[dict[str, ConsentPurpose | None]] = {
    "ses_contact_list": ConsentPurpose.EMAIL,
    "sms": ConsentPurpose.SMS,
    "s3_audience": ConsentPurpose.ADS,
    "sns": ConsentPurpose.PUSH,
    "eventbridge": ConsentPurpose.PUSH,
    "sqs": ConsentPurpose.PUSH,
    "local": None,
}
#: types whose purpose is fixed by the channel itself
FIXED_PURPOSE: Final = frozenset({"ses_contact_list", "sms", "s3_audience"})


def parse_consent(text: str | None) -> dict[str, bool]:
    """``profiles.consent`` (JSON ``{purpose: {"granted": bool, "at": …, "source": …}}``) → purpose →
    granted. Anything unreadable grants nothing."""
    if not text:
        return {}
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(document, dict):
        return {}
    granted: dict[str, bool] = {}
    for purpose, decision in document.items():
        if isinstance(decision, dict):
            granted[str(purpose)] = decision.get("granted") is True
        elif isinstance(decision, bool):  # a bare boolean, as a hand-written profile might hold it
            granted[str(purpose)] = decision
    return granted
