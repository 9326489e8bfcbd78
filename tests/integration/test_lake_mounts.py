"""LakeFiles mounts: a zone that lives apart (the pseudonymized zone's own bucket on AWS) is reached by its
lake-relative path through every method, locally (two directories) and on S3 (two buckets of a moto server),
and the pipeline's profiles step really writes the pseudonymized table there."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from cdp.lake import PSEUDONYMIZED, ZONES, zone_mounts
from cdp.lakefs import LakeFiles, MountError, lake_uri_of
from cdp.query.glue_tables import catalog_tables
from cdp.tables import PROFILES, PROFILES_PSEUDONYMIZED, current, publish, snapshot_files, snapshot_path

pytestmark = pytest.mark.integration

TABLE_DIR = snapshot_path(PROFILES_PSEUDONYMIZED, "r1")
PART = f"{TABLE_DIR}/part-0.parquet"


def exercise(files: LakeFiles) -> None:
    """What the pipeline does with a table of the mounted zone: write, find, read, publish, delete."""
    files.write_bytes(PART, b"PAR1 pseudonymized")
    files.write_bytes("profiles/profiles/run_id=r1/part-0.parquet", b"PAR1 profiles")
    assert files.exists(PART)
    assert files.read_bytes(PART) == b"PAR1 pseudonymized"
    assert files.find(PROFILES_PSEUDONYMIZED.prefix, lambda name: True) == [PART]
    # a listing of the whole lake shows the mounted zone's files in their lake-relative place
    assert files.find("", lambda name: name.endswith(".parquet")) == [
        "profiles/profiles/run_id=r1/part-0.parquet",
        PART,
    ]
    snapshot = publish(files, PROFILES_PSEUDONYMIZED, "r1", rows=1)
    assert current(files, PROFILES_PSEUDONYMIZED) == snapshot
    assert snapshot_files(files, snapshot) == [files.uri(PART)]
    files.delete_file(PART)
    assert not files.exists(PART)
    files.write_bytes(PART, b"again")
    files.delete_dir(TABLE_DIR)
    assert files.find(PROFILES_PSEUDONYMIZED.prefix, lambda name: True) == [
        f"{PROFILES_PSEUDONYMIZED.prefix}/_current.json"
    ]


def test_a_mounted_zone_lives_in_its_own_directory_and_answers_by_lake_path(tmp_path: Path) -> None:
    lake, zone = tmp_path / "lake", tmp_path / "zone"
    files = LakeFiles(lake, mounts=zone_mounts(pseudonymized_root=str(zone / PSEUDONYMIZED)))
    exercise(files)
    assert files.path(PART) == f"{zone}/{PART}"
    assert files.uri(PROFILES.prefix) == f"{lake}/{PROFILES.prefix}"
    # nothing of the zone is written into the lake's own directory
    assert not (lake / PSEUDONYMIZED).exists()
    assert (zone / PROFILES_PSEUDONYMIZED.prefix / "_current.json").is_file()


def test_without_mounts_every_zone_is_a_folder_of_the_lake(tmp_path: Path) -> None:
    files = LakeFiles(tmp_path, mounts=zone_mounts(pseudonymized_root=None))
    exercise(files)
    assert (tmp_path / PROFILES_PSEUDONYMIZED.prefix / "_current.json").is_file()
    assert PSEUDONYMIZED in ZONES


def test_files_of_the_root_under_a_mounted_prefix_are_not_the_lakes(tmp_path: Path) -> None:
    """A stale copy in the lake's own pseudonymized/ folder is not listed: the zone lives in the mount."""
    (tmp_path / "lake" / PSEUDONYMIZED).mkdir(parents=True)
    (tmp_path / "lake" / PSEUDONYMIZED / "stale.parquet").write_bytes(b"old")
    files = LakeFiles(tmp_path / "lake", mounts={PSEUDONYMIZED: str(tmp_path / "zone")})
    assert files.find("", lambda name: True) == []
    assert not files.exists(f"{PSEUDONYMIZED}/stale.parquet")


@pytest.mark.parametrize(
    ("mounts", "message"),
    [
        ({"": "/elsewhere"}, "zone prefix"),
        ({"/pseudonymized": "/elsewhere"}, "zone prefix"),
        ({"a/../b": "/elsewhere"}, "zone prefix"),
        ({PSEUDONYMIZED: "s3://bucket/pseudonymized"}, "own file system"),
        ({PSEUDONYMIZED: "/one", f"{PSEUDONYMIZED}/profiles": "/two"}, "cannot nest"),
    ],
)
def test_a_mount_that_cannot_work_is_refused_with_the_reason(
    tmp_path: Path, mounts: dict[str, str], message: str
) -> None:
    with pytest.raises(MountError, match=message):
        LakeFiles(tmp_path, mounts=mounts)


def test_uris_resolve_from_text_alone_for_the_catalog() -> None:
    mounts = {PSEUDONYMIZED: "s3://zone-bucket/pseudonymized"}
    assert lake_uri_of(PART, root="s3://lake", mounts=mounts) == f"s3://zone-bucket/{PART}"
    assert lake_uri_of("clean/events", root="s3://lake/", mounts=mounts) == "s3://lake/clean/events"
    assert lake_uri_of(PSEUDONYMIZED, root="s3://lake", mounts=mounts) == "s3://zone-bucket/pseudonymized"
    tables = {
        table.name: table.location
        for table in catalog_tables(
            lake_uri="s3://lake", raw_events_first_day=date(2026, 1, 1), mounts=mounts
        )
    }
    assert tables[PROFILES_PSEUDONYMIZED.name] == "s3://zone-bucket/pseudonymized/profiles/unpublished/"
    assert tables[PROFILES.name] == "s3://lake/profiles/profiles/unpublished/"


# -- on S3: two buckets of a moto server, the same pyarrow S3 file system -------------------------------


def test_on_s3_the_zone_is_another_bucket(moto_endpoint: str, aws_env: None) -> None:
    s3 = boto3.client("s3", endpoint_url=f"http://{moto_endpoint}", region_name="us-east-1")
    for bucket in ("lake", "zone"):
        s3.create_bucket(Bucket=bucket)
    files = LakeFiles(
        f"s3://lake?endpoint_override={moto_endpoint}&scheme=http&region=us-east-1",
        mounts=zone_mounts(pseudonymized_root="s3://zone/pseudonymized"),
    )
    exercise(files)
    assert files.uri(PART) == f"s3://zone/{PART}"
    zone_keys, lake_keys = (
        {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        for bucket in ("zone", "lake")
    )
    # the objects written, and no "folder/" marker at a parent prefix (a role granted its table's prefix may
    # not write one); pyarrow keeps a deleted folder's parent as a marker, inside the table's own prefix
    assert zone_keys == {
        f"{PROFILES_PSEUDONYMIZED.prefix}/_current.json",
        f"{PROFILES_PSEUDONYMIZED.prefix}/",
    }
    assert lake_keys == {"profiles/profiles/run_id=r1/part-0.parquet"}


# -- the pipeline through a mount ------------------------------------------------------------------------


def test_the_profiles_step_writes_the_pseudonymized_table_into_the_mounted_zone(tmp_path: Path) -> None:
    from tests.identity_data import record, table_rows
    from tests.profiles_data import build_lake, build_profiles

    lake, zone = tmp_path / "lake", tmp_path / "zone"
    files = LakeFiles(lake, mounts=zone_mounts(pseudonymized_root=str(zone / PSEUDONYMIZED)))
    build_lake(
        files,
        records=[record("r1", day=1, first_name="somchai", email="somchai@example.co.th")],
        profiles={"p1": ["r1"]},
    )
    build_profiles(files, run_id="p-1")
    [row] = table_rows(files, PROFILES_PSEUDONYMIZED)
    assert (row["profile_id"], row["first_name_hash"] == "somchai") == ("p1", False)
    written = sorted(p.relative_to(zone).as_posix() for p in zone.rglob("*") if p.is_file())
    assert f"{PROFILES_PSEUDONYMIZED.prefix}/_current.json" in written
    assert any(name.startswith(f"{PROFILES_PSEUDONYMIZED.prefix}/run_id=p-1/") for name in written)
    assert all(name.startswith(f"{PSEUDONYMIZED}/") for name in written)
    assert not (lake / PSEUDONYMIZED).exists()  # nothing of the analysts' zone beside the personal data
    assert current(files, PROFILES) is not None  # profiles stay in the lake
    assert (lake / PROFILES.prefix / "_current.json").is_file()


def test_the_glue_step_mounts_the_zone_given_by_its_job_argument(tmp_path: Path, spark: Any) -> None:
    """What glue_jobs/build_profiles.py runs with ``--pseudonymized_root``: Spark writes the table there."""
    from cdp.pipeline.jobs import run_glue_step
    from tests.identity_data import record
    from tests.profiles_data import AS_OF, SALT, build_lake

    lake, zone = tmp_path / "lake", tmp_path / "zone"
    build_lake(LakeFiles(lake), records=[record("r1", day=1, first_name="malee")], profiles={"p1": ["r1"]})
    arguments = [
        "--lake_uri",
        str(lake),
        "--pseudonymized_root",
        str(zone / PSEUDONYMIZED),
        "--run_id",
        "g-1",
    ]
    run_glue_step("profiles", [*arguments, "--JOB_NAME", "build-profiles"], spark, as_of=AS_OF, salt=SALT)
    assert sorted(p.name for p in (zone / PROFILES_PSEUDONYMIZED.prefix).iterdir()) == [
        "_current.json",
        "run_id=g-1",
    ]
    assert list((zone / PROFILES_PSEUDONYMIZED.prefix / "run_id=g-1").glob("*.parquet"))
    assert not (lake / PSEUDONYMIZED).exists()
    assert (lake / PROFILES.prefix / "_current.json").is_file()
