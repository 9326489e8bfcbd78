"""What the contract cannot say about the local key store: secrets at rest and several processes."""

from __future__ import annotations

import stat
from pathlib import Path

from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.lake import LocalLake


def test_only_hashes_are_stored_and_the_file_is_private(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path)
    issued = LocalWriteKeyStore(lake).create_source("web")
    stored = (lake.state_dir / "write_keys.json").read_text()
    assert issued.write_key not in stored
    assert issued.key_id in stored
    assert stat.S_IMODE((lake.state_dir / "write_keys.json").stat().st_mode) == 0o600


def test_a_rotation_by_another_process_takes_effect_at_once(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path)
    server_view = LocalWriteKeyStore(lake)  # what `cdp serve` holds
    cli_view = LocalWriteKeyStore(lake)  # what `cdp sources rotate-key` uses
    old = cli_view.create_source("web")
    assert server_view.authenticate(old.write_key) is not None
    new = cli_view.rotate("web")
    assert server_view.authenticate(old.write_key) is None
    assert server_view.authenticate(new.write_key) is not None
