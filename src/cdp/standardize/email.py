"""E-mail addresses: one spelling per address, and a match key per mailbox (SPEC 6).

Syntax is email-validator's (``check_deliverability=False``: no DNS, the pipeline runs offline and
deterministically). The whole address is lower-cased, local part included: RFC 5321 lets a server treat
``Somchai@`` and ``somchai@`` as two mailboxes, but no provider our customers use does, and a person
typing their address twice will not keep the case.

``match_key`` goes further, for the providers whose delivery rules are known to make different spellings
reach the same inbox:

* ``gmail.com`` and ``googlemail.com``: dots in the local part are ignored, ``+anything`` is a tag, and
  both domains are one account space, so ``S.O.M+shop@googlemail.com`` → ``som@gmail.com``;
* Microsoft consumer mail (``outlook``, ``hotmail``, ``live``, ``msn``, including the ``.co.th`` and other
  country domains): ``+anything`` is a tag, dots are significant, and each domain stays its own
  (``a@hotmail.com`` and ``a@outlook.com`` are two accounts);
* every other domain is kept as it is: a ``+`` or a dot may be significant there, and merging two people
  is worse than missing one link.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from email_validator import EmailNotValidError, validate_email

from cdp.standardize.placeholders import DEFAULT_BLOCKLIST, PlaceholderBlocklist, is_placeholder_email
from cdp.standardize.text import clean_text

_GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})
_PLUS_TAG_PROVIDERS: Final = frozenset({"outlook", "hotmail", "live", "msn"})
_MAX_LENGTH: Final = 320  # RFC 3696 errata: 64 + 1 + 255; longer input is refused before parsing


@dataclass(frozen=True, slots=True)
class EmailResult:
    """``normalized`` is the address to store and show; ``match_key`` the one to compare.

    ``reason`` is ``None`` for a valid address, else ``"empty"``, ``"placeholder"`` or ``"invalid"``.
    """

    normalized: str | None
    match_key: str | None
    valid: bool
    reason: str | None


@lru_cache(maxsize=1 << 17)
def standardize_email(value: str | None, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST) -> EmailResult:
    text = clean_text(value)
    if text is None:
        return EmailResult(None, None, False, "empty")
    address = unicodedata.normalize("NFC", _unwrap(text).lower())
    if is_placeholder_email(address, blocklist):
        return EmailResult(None, None, False, "placeholder")
    if len(address) > _MAX_LENGTH:
        return EmailResult(None, None, False, "invalid")
    try:
        checked = validate_email(address, check_deliverability=False)
    except (EmailNotValidError, UnicodeError, ValueError):
        return EmailResult(None, None, False, "invalid")
    normalized = checked.normalized
    match_key = email_match_key(normalized)
    if is_placeholder_email(match_key, blocklist):
        return EmailResult(None, None, False, "placeholder")
    return EmailResult(normalized, match_key, True, None)


def email_match_key(normalized: str) -> str:
    """The mailbox an already normalized address delivers to, by the provider rules above."""
    local, _, domain = normalized.rpartition("@")
    if domain in _GMAIL_DOMAINS:
        key_local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    elif _is_plus_tag_provider(domain):
        key_local = local.split("+", 1)[0]
    else:
        key_local = local
    # "+tag@gmail.com" is syntactically valid but names no account: keep the address as its own key
    return f"{key_local}@{domain}" if key_local else normalized


def _is_plus_tag_provider(domain: str) -> bool:
    """``hotmail.com``, ``outlook.co.th``, ``live.fr``: the provider's label before a public suffix only."""
    label, _, suffix = domain.partition(".")
    parts = suffix.split(".")
    return label in _PLUS_TAG_PROVIDERS and len(parts) <= 2 and all(0 < len(part) <= 3 for part in parts)


def _unwrap(text: str) -> str:
    """Accept the forms an address arrives in from CRMs and forms: ``mailto:…`` and ``Name <addr>``."""
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    if text[:7].lower() == "mailto:":
        text = text[7:]
    return text.strip()
