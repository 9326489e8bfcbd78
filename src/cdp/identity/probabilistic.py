"""Probabilistic record matching: a Fellegi–Sunter model with Splink, trained by EM on every run (SPEC 6).

:func:`score_record_pairs` takes standardized identity records (the ``identity_records`` columns) and
returns the scored pairs at or above :attr:`MatchSettings.threshold`, as :data:`PAIR_SCHEMA`. The resolve
step turns them into graph edges next to the deterministic ones.

**Match keys, computed in Python before Splink sees the rows** (so both backends compare the same text):
``first_key``/``last_key`` are :func:`~cdp.identity.thai_names.variant_key` of the names (Thai script is
romanized first, so ``สมชาย``, ``Somchai`` and ``Somchay`` share a key); ``first_latin``/``last_latin``
are the romanized spellings the string similarities run on; ``nickname`` flags a first name that is a
common Thai nickname. Dates are already ISO (``YYYY-MM-DD``) after standardization.

**The model** (settings live here, in code: a model JSON saved from DuckDB holds DuckDB-only SQL, SPEC 11):

- ``first_name``: same key · swapped with the last name · Jaro-Winkler ≥ 0.92 · swapped with typos (JW ≥ 0.9
  across) · JW ≥ 0.80 · equal to the other's last name · one side a common nickname · else; ``last_name``:
  the same without the nickname level;
- ``date_of_birth``: equal · day and month swapped · one character off (Levenshtein 1: a digit typed
  wrong) · same year · else;
- ``phone``: equal with similar first names · equal with different first names (a household phone) ·
  else. The household level is fixed at a small Bayes factor (:attr:`MatchSettings.household_bayes_factor`):
  a shared phone alone never links two people, so a disagreeing first name and birth date outweigh it;
- ``email``: equal · else; ``national_id``: equal · one character off · two off (a transposition) · else;
- ``address``: equal · JW ≥ 0.90 · ≥ 0.75 · else; ``locality``: postcode equal · city key equal ·
  province equal · else; ``gender``: equal · else.

Null on either side is Splink's null level (no evidence). Placeholders never reach here: the standardizer
nulls them. Each level has a prior m probability in code; EM starts from it.

**Blocking** (a pair is scored when any rule of :data:`BLOCKING_RULES` holds): same first and last key; keys
swapped; same birth date and an initial in common (first/first, last/last, first/last); same address; same
phone; same e-mail key; same national ID; same postcode with one name key and the other's initial.

**Training, every run**: u by random sampling (fixed seed), the prior match probability from strict
deterministic rules, then m by EM on two blocking rules (same birth date; same first and last key), each
leaving its own comparisons out. When the data is too small for a step (a handful of records), the
priors written below stand: the model still runs. ``threshold`` 0.9 by default: on FEBRL3/FEBRL4 the F1 of
clusters is flat from 0.8 to 0.95 (``benchmarks/identity``).

**Backends**: ``spark=None`` runs Splink on DuckDB in process. Given a Spark session, Splink runs on it;
its Jaro-Winkler is a Scala UDF from the jar inside the splink wheel, which must be on the session's
class path: :func:`splink_spark_session` builds a local session with ``spark.jars`` set, and
:func:`ensure_similarity_udfs` adds the jar to an already running local session. On Glue pass the jar
with ``--extra-jars`` (copy ``similarity_jar_location()`` to S3) and a checkpoint directory on S3.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import math
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from cdp.identity.thai_names import is_common_nickname, latin_name, variant_key

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from splink import Linker

logger = logging.getLogger(__name__)

PAIR_SCHEMA: Final = pa.schema(
    [
        pa.field("record_id_l", pa.string(), nullable=False),
        pa.field("record_id_r", pa.string(), nullable=False),
        pa.field("match_probability", pa.float64(), nullable=False),
        pa.field("match_weight", pa.float64(), nullable=False),
        # JSON object: comparison name → label of the level the pair fell into
        pa.field("evidence", pa.string(), nullable=False),
    ]
)

#: Records at or below this count estimate u in one chunk (SPEC 11: 41 s → 6.5 s on Spark for small data).
SMALL_DATA_ROWS: Final = 50_000


class MatchSettings(BaseModel):
    """How the matcher runs; parsed once (e.g. from the identity rules YAML), then passed down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(0.9, gt=0.0, le=1.0, description="keep pairs with match_probability >= this")
    u_max_pairs: int = Field(
        2_000_000, gt=0, description="random pairs sampled to estimate u (non-match) probabilities"
    )
    em_max_pairs: int | None = Field(
        2_000_000, gt=0, description="cap on the blocked pairs one EM session trains on (None: all)"
    )
    seed: int = Field(42, description="seed of the u sampling, so a run is reproducible")
    em_max_iterations: int = Field(25, gt=0)
    prior_recall: float = Field(
        0.7, gt=0.0, le=1.0, description="assumed recall of the strict rules that estimate the prior"
    )
    household_bayes_factor: float = Field(
        2.0,
        gt=0.0,
        description="fixed evidence of a shared phone when first names differ (families share phones)",
    )


# --- match keys ---------------------------------------------------------------------------------------

_WORDS: Final = re.compile(r"[\w\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]+")  # Thai vowel and tone marks are not \w

#: Columns Splink compares: record columns carried over and the keys computed from them.
MODEL_COLUMNS: Final = (
    "unique_id",
    "first_key",
    "last_key",
    "first_latin",
    "last_latin",
    "first_initial",
    "last_initial",
    "nickname",
    "dob",
    "phone",
    "email",
    "national_id",
    "address",
    "city_key",
    "postcode",
    "province",
    "gender",
)


def model_input(records: pa.Table) -> pa.Table:
    """The records' match keys (one row per record, all strings), ready for either backend."""

    def column(name: str) -> pa.ChunkedArray:
        if name in records.column_names:
            return pc.cast(records[name], pa.string())
        return pa.chunked_array([pa.nulls(records.num_rows, pa.string())])

    first, last = column("first_name"), column("last_name")
    first_key = _per_distinct(first, _key)
    last_key = _per_distinct(last, _key)
    return pa.table(
        {
            "unique_id": column("record_id"),
            "first_key": first_key,
            "last_key": last_key,
            "first_latin": _per_distinct(first, _latin_or_none),
            "last_latin": _per_distinct(last, _latin_or_none),
            "first_initial": pc.utf8_slice_codeunits(first_key, 0, 1),
            "last_initial": pc.utf8_slice_codeunits(last_key, 0, 1),
            "nickname": _per_distinct(first, lambda name: "y" if is_common_nickname(name) else None),
            "dob": column("date_of_birth"),
            "phone": column("phone_e164"),
            "email": column("email_key"),
            "national_id": column("national_id"),
            "address": _per_distinct(column("address_line"), _address_key),
            "city_key": _per_distinct(column("city"), _key),
            "postcode": column("postcode"),
            "province": column("province_code"),
            "gender": column("gender"),
        }
    )


def _key(text: str) -> str | None:
    return variant_key(text) or None


def _address_key(text: str) -> str | None:
    """Words and numbers of an address, case-folded (house numbers matter, punctuation does not)."""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold())) or None


def _latin_or_none(text: str) -> str | None:
    return latin_name(text) or text.casefold() or None


def _per_distinct(values: pa.ChunkedArray, function: Callable[[str], str | None]) -> pa.ChunkedArray:
    """``function`` once per distinct non-null value, spread back over the rows."""
    combined = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    distinct = pc.unique(combined)
    mapped = pa.array(
        [None if value is None else function(value) for value in distinct.to_pylist()], pa.string()
    )
    return pa.chunked_array([pc.take(mapped, pc.index_in(combined, value_set=distinct))])


# --- the model ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Level:
    label: str
    condition: str  # SQL over ``<column>_l``/``<column>_r``; ``jw(col, t)`` and ``lev(col, d)`` are portable
    m: float  # prior m probability (EM starts here, and it stands when the data is too small to train)
    fixed_weight: bool = False


@dataclass(frozen=True, slots=True)
class _Comparison:
    name: str
    columns: tuple[str, ...]  # null on every one of them, on either side → the null level
    levels: tuple[_Level, ...]  # best first; "else" is added last

    def labels_by_gamma(self) -> dict[int, str]:
        """Splink numbers the levels of a comparison from ``len`` (best) down to 0 (else); null is -1."""
        labels = {-1: "null", 0: "else"}
        for index, level in enumerate(self.levels):
            labels[len(self.levels) - index] = level.label
        return labels


_SIMILAR_FIRST: Final = "first_key_l = first_key_r or jw(first_latin, 0.85)"

COMPARISONS: Final[tuple[_Comparison, ...]] = (
    _Comparison(
        "first_name",
        ("first_key",),
        (
            _Level("same key", "first_key_l = first_key_r", 0.85),
            _Level("swapped with last name", "first_key_l = last_key_r and last_key_l = first_key_r", 0.02),
            _Level("jaro-winkler >= 0.92", "jw(first_latin, 0.92)", 0.06),
            _Level(
                "swapped, with typos",
                "jwx(first_latin, last_latin, 0.9) and jwx(last_latin, first_latin, 0.9)",
                0.01,
            ),
            _Level("jaro-winkler >= 0.80", "jw(first_latin, 0.8)", 0.03),
            _Level(
                "equals the other's last name", "first_key_l = last_key_r or last_key_l = first_key_r", 0.01
            ),
            _Level("a nickname", "nickname_l is not null or nickname_r is not null", 0.02),
        ),
    ),
    _Comparison(
        "last_name",
        ("last_key",),
        (
            _Level("same key", "last_key_l = last_key_r", 0.85),
            _Level("swapped with first name", "first_key_l = last_key_r and last_key_l = first_key_r", 0.02),
            _Level("jaro-winkler >= 0.92", "jw(last_latin, 0.92)", 0.06),
            _Level(
                "swapped, with typos",
                "jwx(first_latin, last_latin, 0.9) and jwx(last_latin, first_latin, 0.9)",
                0.01,
            ),
            _Level("jaro-winkler >= 0.80", "jw(last_latin, 0.8)", 0.03),
            _Level(
                "equals the other's first name", "first_key_l = last_key_r or last_key_l = first_key_r", 0.01
            ),
        ),
    ),
    _Comparison(
        "date_of_birth",
        ("dob",),
        (
            _Level("equal", "dob_l = dob_r", 0.9),
            _Level(
                "day and month swapped",
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) and substr(dob_l, 6, 2) = substr(dob_r, 9, 2)"
                " and substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                0.02,
            ),
            _Level("one character off", "lev(dob, 1)", 0.05),
            _Level("same year", "substr(dob_l, 1, 4) = substr(dob_r, 1, 4)", 0.01),
        ),
    ),
    _Comparison(
        "phone",
        ("phone",),
        (
            _Level("equal, similar first names", f"phone_l = phone_r and ({_SIMILAR_FIRST})", 0.8),
            _Level("equal, first names differ (household)", "phone_l = phone_r", 0.05, fixed_weight=True),
        ),
    ),
    _Comparison("email", ("email",), (_Level("equal", "email_l = email_r", 0.8),)),
    _Comparison(
        "national_id",
        ("national_id",),
        (
            _Level("equal", "national_id_l = national_id_r", 0.9),
            _Level("one character off", "lev(national_id, 1)", 0.05),
            _Level("two characters off (a transposition)", "lev(national_id, 2)", 0.02),
        ),
    ),
    _Comparison(
        "address",
        ("address",),
        (
            _Level("equal", "address_l = address_r", 0.7),
            _Level("jaro-winkler >= 0.90", "jw(address, 0.9)", 0.15),
            _Level("jaro-winkler >= 0.75", "jw(address, 0.75)", 0.08),
        ),
    ),
    _Comparison(
        "locality",
        ("postcode", "city_key", "province"),
        (
            _Level("postcode equal", "postcode_l = postcode_r", 0.8),
            _Level("city equal", "city_key_l = city_key_r", 0.08),
            _Level("province equal", "province_l = province_r", 0.05),
        ),
    ),
    _Comparison("gender", ("gender",), (_Level("equal", "gender_l = gender_r", 0.95),)),
)

_JW_CALL: Final = re.compile(r"jw\((\w+), ([0-9.]+)\)")
_JWX_CALL: Final = re.compile(r"jwx\((\w+), (\w+), ([0-9.]+)\)")
_LEV_CALL: Final = re.compile(r"lev\((\w+), ([0-9]+)\)")


def _dialect_sql(condition: str, dialect: str) -> str:
    """Expand the portable ``jw``/``lev`` calls to the dialect's function names (Spark: the jar's UDFs)."""
    jaro_winkler = "jaro_winkler_similarity" if dialect == "duckdb" else "jaro_winkler"
    condition = _JWX_CALL.sub(lambda m: f"{jaro_winkler}({m[1]}_l, {m[2]}_r) >= {m[3]}", condition)
    condition = _JW_CALL.sub(lambda m: f"{jaro_winkler}({m[1]}_l, {m[1]}_r) >= {m[2]}", condition)
    return _LEV_CALL.sub(lambda m: f"levenshtein({m[1]}_l, {m[1]}_r) <= {m[2]}", condition)


#: A pair is scored when any of these holds (SQL over ``l`` and ``r``).
BLOCKING_RULES: Final = (
    "l.first_key = r.first_key and l.last_key = r.last_key",
    "l.first_key = r.last_key and l.last_key = r.first_key",
    "l.dob = r.dob and l.first_initial = r.first_initial",
    "l.dob = r.dob and l.last_initial = r.last_initial",
    "l.dob = r.dob and l.first_initial = r.last_initial",
    "l.address = r.address",
    "l.postcode = r.postcode and l.last_key = r.last_key and l.first_initial = r.first_initial",
    "l.phone = r.phone",
    "l.email = r.email",
    "l.national_id = r.national_id",
    "l.postcode = r.postcode and l.first_key = r.first_key and l.last_initial = r.last_initial",
)
#: EM sessions: each trains every comparison but the ones its rule fixes.
TRAINING_RULES: Final = ("l.dob = r.dob", "l.first_key = r.first_key and l.last_key = r.last_key")
#: the prior match probability when the strict rules cannot estimate one
DEFAULT_PRIOR: Final = 1e-5
#: Strict rules (almost surely the same person) for the prior probability that two records match.
PRIOR_RULES: Final = (
    "l.first_key = r.first_key and l.last_key = r.last_key and l.dob = r.dob",
    "l.national_id = r.national_id",
)


def splink_settings(settings: MatchSettings, dialect: str) -> Any:
    """The Splink model (a ``SettingsCreator``) in ``dialect`` (``duckdb`` or ``spark``)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator
    from splink.blocking_rule_library import CustomRule
    from splink.comparison_level_library import CustomLevel, ElseLevel
    from splink.internals.comparison_creator import ComparisonCreator
    from splink.internals.comparison_level_creator import ComparisonLevelCreator

    comparisons: list[ComparisonCreator | dict[str, Any]] = []
    for comparison in COMPARISONS:
        null_sql = " and ".join(f"({c}_l is null or {c}_r is null)" for c in comparison.columns)
        levels: list[Any] = [CustomLevel(null_sql, "null").configure(is_null_level=True)]
        for level in comparison.levels:
            custom: ComparisonLevelCreator = CustomLevel(_dialect_sql(level.condition, dialect), level.label)
            if level.fixed_weight:
                u = 1e-4
                custom = custom.configure(
                    m_probability=min(u * settings.household_bayes_factor, 0.5),
                    u_probability=u,
                    fix_m_probability=True,
                    fix_u_probability=True,
                )
            else:
                custom = custom.configure(m_probability=level.m)
            levels.append(custom)
        levels.append(ElseLevel().configure(m_probability=0.01))
        comparisons.append(
            cl.CustomComparison(
                comparison_levels=levels,
                output_column_name=comparison.name,
                comparison_description=comparison.name,
            )
        )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[CustomRule(rule) for rule in BLOCKING_RULES],
        probability_two_random_records_match=DEFAULT_PRIOR,
        max_iterations=settings.em_max_iterations,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,  # the mw_ columns: each link's evidence
    )


# --- running it ---------------------------------------------------------------------------------------


def score_record_pairs(
    records: pa.Table, *, spark: SparkSession | None = None, settings: MatchSettings | None = None
) -> pa.Table:
    """Pairs of ``records`` the model scores at or above ``settings.threshold`` (:data:`PAIR_SCHEMA`)."""
    settings = settings or MatchSettings()
    if records.num_rows < 2:
        return PAIR_SCHEMA.empty_table()
    keys = model_input(records)
    with _quiet_splink(), _linker(keys, spark, settings) as linker:
        train(linker, settings, rows=keys.num_rows)
        predictions = linker.inference.predict(threshold_match_probability=settings.threshold)
        scored: pa.Table = predictions.as_pyarrow_table()  # type: ignore[no-untyped-call]
        weights = _level_weights(linker.misc.save_model_to_json())
    return _pairs(scored, settings.threshold, weights)


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink warns about every level a small file cannot train (priors stand, by design): that is
    expected here, not news for the person running ``cdp match``; errors still show."""
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(level)


@contextmanager
def _linker(keys: pa.Table, spark: SparkSession | None, settings: MatchSettings) -> Iterator[Linker]:
    from splink import Linker

    if spark is None:
        from splink import DuckDBAPI

        db_api: Any = DuckDBAPI()
        frame = db_api.register(keys)
        yield Linker(frame, splink_settings(settings, "duckdb"), log_level=logging.ERROR)
        return
    from splink import SparkAPI

    ensure_similarity_udfs(spark)
    if not spark.sparkContext.getCheckpointDir():
        spark.sparkContext.setCheckpointDir(_scratch_checkpoint_dir())
    db_api = SparkAPI(spark_session=spark)  # type: ignore[no-untyped-call]
    from pyspark.sql.types import StringType, StructField, StructType

    # an explicit schema: a column null in every row would otherwise be inferred as VOID
    schema = StructType([StructField(name, StringType()) for name in keys.column_names])
    frame = db_api.register(spark.createDataFrame(keys.to_pandas(), schema=schema))
    yield Linker(frame, splink_settings(settings, "spark"), log_level=logging.ERROR)


def _scratch_checkpoint_dir() -> str:
    """A local checkpoint directory, removed when the process ends (Glue jobs set one on S3 instead)."""
    directory = tempfile.mkdtemp(prefix="cdp-splink-checkpoints-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def train(linker: Linker, settings: MatchSettings, *, rows: int) -> None:
    """u by random sampling, the prior from strict rules, m by EM; untrainable steps keep the priors."""
    from splink.internals.exceptions import SplinkException

    linker.training.estimate_u_using_random_sampling(
        max_pairs=settings.u_max_pairs,
        seed=settings.seed,
        num_chunks=1 if rows <= SMALL_DATA_ROWS else 10,
    )
    try:
        linker.training.estimate_probability_two_random_records_match(
            list(PRIOR_RULES), recall=settings.prior_recall
        )
    except (SplinkException, ValueError, ZeroDivisionError) as error:
        logger.info("prior match probability kept: %s", error)
    # no pair meets the strict rules (a small or very clean file): Splink records a prior of 0, whose
    # log-odds is undefined and fails prediction; keep the default instead
    prior = linker._settings_obj._probability_two_random_records_match
    if not 0.0 < prior < 1.0:
        logger.info("prior match probability %s unusable, kept %s", prior, DEFAULT_PRIOR)
        linker._settings_obj._probability_two_random_records_match = DEFAULT_PRIOR
    for rule in TRAINING_RULES:
        # an EM session takes the comparisons its rule fixes out of the model and puts them back when it
        # ends; one that fails midway (no blocked pairs in a small file) would leave them out, so the
        # model is restored from a copy
        before = copy.deepcopy(linker._settings_obj)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=settings.em_max_pairs
            )
        except (SplinkException, ValueError, ZeroDivisionError) as error:
            logger.info("EM on %s skipped, priors kept: %s", rule, error)
            linker._settings_obj = before


def _level_weights(model: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """Per comparison, (match weight, label) of each trained level: how a pair's weight is explained."""
    weights: dict[str, list[tuple[float, str]]] = {}
    for comparison in model["comparisons"]:
        levels: list[tuple[float, str]] = []
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = 0.0 if level.get("is_null_level") or not m or not u else math.log2(m / u)
            levels.append((weight, str(level.get("label_for_charts", ""))))
        weights[comparison["output_column_name"]] = levels
    return weights


def _explain(weight: float | None, levels: Sequence[tuple[float, str]]) -> dict[str, Any]:
    if weight is None:
        return {"level": "null", "weight": 0.0}
    label = min(levels, key=lambda level: abs(level[0] - weight))[1] if levels else ""
    return {"level": label, "weight": round(weight, 3)}


def _pairs(scored: pa.Table, threshold: float, weights: dict[str, list[tuple[float, str]]]) -> pa.Table:
    if scored.num_rows == 0:
        return PAIR_SCHEMA.empty_table()
    scored = scored.filter(pc.greater_equal(scored["match_probability"], threshold))
    left = pc.cast(scored["unique_id_l"], pa.string())
    right = pc.cast(scored["unique_id_r"], pa.string())
    swap = pc.greater(left, right)
    # Splink leaves out the weight column of a comparison it could not use (no value on any pair): no evidence
    parts = {
        c.name: scored[f"mw_{c.name}"].to_pylist()
        if f"mw_{c.name}" in scored.column_names
        else [None] * scored.num_rows
        for c in COMPARISONS
    }
    evidence = [
        json.dumps(
            {name: _explain(values[row], weights.get(name, [])) for name, values in parts.items()},
            ensure_ascii=False,
        )
        for row in range(scored.num_rows)
    ]
    table = pa.table(
        {
            "record_id_l": pc.if_else(swap, right, left),
            "record_id_r": pc.if_else(swap, left, right),
            "match_probability": pc.cast(scored["match_probability"], pa.float64()),
            "match_weight": pc.cast(scored["match_weight"], pa.float64()),
            "evidence": pa.array(evidence, pa.string()),
        }
    )
    return table.sort_by([("record_id_l", "ascending"), ("record_id_r", "ascending")]).cast(PAIR_SCHEMA)


# --- Spark --------------------------------------------------------------------------------------------


def splink_spark_session(*, app_name: str = "cdp-splink", partitions: int = 2) -> SparkSession:
    """A local session like :func:`~cdp.engine.spark_engine.local_spark_session`, with Splink's UDF jar.

    ``spark.jars`` only counts when the JVM starts: call this before any other session exists in the
    process. On Glue the job passes the jar with ``--extra-jars`` instead.
    """
    import os
    import sys

    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(f"local[{partitions}]")
        .appName(app_name)
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def ensure_similarity_udfs(spark: SparkSession) -> None:
    """Make Splink's Scala similarity functions loadable on a running session.

    A session built with ``spark.jars`` (or Glue's ``--extra-jars``) already has them; otherwise the jar
    is added with ``ADD JAR``, which works for a local session (measured with pyspark 3.5).
    """
    from splink.backends.spark import similarity_jar_location

    jar = similarity_jar_location()
    configured: Sequence[str] = spark.sparkContext.getConf().get("spark.jars", "").split(",")
    if not any(path.endswith(jar.rsplit("/", 1)[-1]) for path in configured):
        spark.sql(f"ADD JAR '{jar}'")
