"""``cdp segments preview|list`` as a user runs them: size, Athena SQL, a pseudonymized sample, exit codes."""

from __future__ import annotations

from pathlib import Path

from cdp.lakefs import LakeFiles
from tests.e2e.conftest import cdp
from tests.segments_data import SegmentLake, profile, run_segments, trait, write_definition

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "segments"


def _lake(lake: Path) -> LakeFiles:
    files = LakeFiles(lake)
    SegmentLake(
        profiles=[
            profile(
                "p1",
                gender="female",
                province="TH-10",
                date_of_birth="1996-05-01",
                first_name="Malee",
                emails=["malee@mail.com"],
            ),
            profile("p2", gender="female", province="TH-10", date_of_birth="1970-05-01", first_name="Ploy"),
            profile("p3", gender="male", province="TH-10", first_name="Somchai"),
        ],
        traits=[trait("p1", "age", 29, "integer"), trait("p2", "age", 55, "integer")],
    ).publish(files, "up")
    return files


def test_preview_prints_size_sql_and_a_pseudonymized_sample(lake: Path) -> None:
    _lake(lake)
    result = cdp("segments", "preview", str(EXAMPLES / "bangkok_women_25_34.yaml"), "--sql", lake=lake)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "segment bangkok_women_25_34 (Bangkok women 25-34): 1 of 3 profiles (33.3%), "
        "as of 2026-03-31T05:00:00+00:00"
    )
    assert "WITH segment_traits AS (" in result.stdout
    assert "COALESCE(w.trait_age BETWEEN 25 AND 34, FALSE)" in result.stdout
    assert "sample of 1 members (profiles_pseudonymized)" in result.stdout
    assert "p1" in result.stdout
    assert "1996" in result.stdout  # the birth year, not the date
    for secret in ("Malee", "malee@mail.com", "1996-05-01"):
        assert secret not in result.stdout


def test_preview_resolves_a_reference_beside_the_file(lake: Path) -> None:
    _lake(lake)
    result = cdp("segments", "preview", str(EXAMPLES / "lapsed_high_value.yaml"), lake=lake)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(
        "segment lapsed_high_value (Lapsed high-value customers): 0 of 3 profiles"
    )


def test_an_invalid_definition_is_one_line_and_exit_2(lake: Path, tmp_path: Path) -> None:
    bad = tmp_path / "lapsed.yaml"
    bad.write_text(
        "id: lapsed\nname: L\ncondition:\n  all:\n"
        "    - {trait: age, gte: 1}\n    - {trait: rmf_score, eq: '5'}\n"
    )
    result = cdp("segments", "preview", str(bad), lake=lake)
    assert result.code == 2
    assert (
        result.stderr == f"cdp: error: {bad}: all[1]: unknown trait 'rmf_score' (did you mean 'rfm_score'?)\n"
    )
    bad.write_text("id: lapsed\nname: [L\n")
    result = cdp("segments", "preview", str(bad), lake=lake)
    assert result.code == 2
    assert result.stderr.startswith(f"cdp: error: {bad}: not YAML (line 3:")
    assert result.stderr.count("\n") == 1
    missing = cdp("segments", "preview", str(tmp_path / "nope.yaml"), lake=lake)
    assert missing.code == 2
    assert missing.stderr.startswith(f"cdp: error: {tmp_path / 'nope.yaml'}: cannot read")


def test_list_shows_the_lakes_segments_with_their_latest_counts(lake: Path) -> None:
    files = _lake(lake)
    empty = cdp("segments", "list", lake=lake)
    assert empty.code == 0, empty.stderr
    assert "no segment definitions in" in empty.stdout
    write_definition(files, (EXAMPLES / "bangkok_women_25_34.yaml").read_text())
    write_definition(
        files, "id: women\nname: Women\ndestinations: [ses, sqs]\ncondition: {trait: gender, eq: female}\n"
    )
    run_segments(files, "r1")
    listed = cdp("segments", "list", lake=lake)
    assert listed.code == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "│" in line]
    cells = [[cell.strip() for cell in row.split("│")[1:-1]] for row in rows]
    assert ["women", "Women", "2", "2", "0", "ses, sqs", "segments/definitions/women.yaml"] in cells
    assert cells[0][:5] == ["bangkok_women_25_34", "Bangkok women 25-34", "1", "1", "0"]


def test_the_segment_commands_have_help_and_take_lake(lake: Path) -> None:
    for args in (("segments", "preview"), ("segments", "list")):
        result = cdp(*args, "--help", lake=lake)
        assert result.code == 0, args
        assert "--lake" in result.stdout
