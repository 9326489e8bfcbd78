from __future__ import annotations

import pytest

from cdp.sources.keys import SourceExistsError, SourceNameError, UnknownSourceError, WriteKeyStore


def test_a_new_source_key_authenticates_to_that_source(key_store: WriteKeyStore) -> None:
    issued = key_store.create_source("web")
    identity = key_store.authenticate(issued.write_key)
    assert identity is not None
    assert identity.source_id == "web"
    assert identity.key_id == issued.key_id
    assert issued.key_id not in issued.write_key  # the id reveals nothing of the secret


def test_unknown_keys_do_not_authenticate(key_store: WriteKeyStore) -> None:
    key_store.create_source("web")
    assert key_store.authenticate("wk_not-a-key") is None
    assert key_store.authenticate("") is None


def test_keys_are_unique_per_source(key_store: WriteKeyStore) -> None:
    web = key_store.create_source("web")
    app = key_store.create_source("app")
    assert web.write_key != app.write_key
    assert key_store.authenticate(app.write_key).source_id == "app"  # type: ignore[union-attr]


def test_duplicate_and_invalid_names_are_refused(key_store: WriteKeyStore) -> None:
    key_store.create_source("web")
    with pytest.raises(SourceExistsError):
        key_store.create_source("web")
    for bad in ("", "Web", "has space", "../etc", "x" * 64, "ชื่อ"):
        with pytest.raises(SourceNameError):
            key_store.create_source(bad)


def test_rotation_replaces_the_key_at_once(key_store: WriteKeyStore) -> None:
    old = key_store.create_source("web")
    new = key_store.rotate("web")
    assert key_store.authenticate(old.write_key) is None
    assert key_store.authenticate(new.write_key) is not None
    assert new.key_id != old.key_id


def test_revocation_leaves_no_working_key(key_store: WriteKeyStore) -> None:
    issued = key_store.create_source("web")
    key_store.revoke("web")
    assert key_store.authenticate(issued.write_key) is None
    [info] = key_store.list_sources()
    assert info.active_key_id is None
    assert info.revoked_key_count == 1
    assert key_store.authenticate(key_store.rotate("web").write_key) is not None


def test_unknown_sources_cannot_be_rotated_or_revoked(key_store: WriteKeyStore) -> None:
    with pytest.raises(UnknownSourceError):
        key_store.rotate("nope")
    with pytest.raises(UnknownSourceError):
        key_store.revoke("nope")


def test_listing_shows_sources_and_active_key_ids(key_store: WriteKeyStore) -> None:
    web = key_store.create_source("web")
    key_store.create_source("crm")
    listed = key_store.list_sources()
    assert [info.source_id for info in listed] == ["crm", "web"]
    assert listed[1].active_key_id == web.key_id
