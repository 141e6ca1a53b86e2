"""The findings table (compress_distill.findings): verdict rules and every claim classified."""

import math

import pytest

from compress_distill.findings import (
    CANNOT_TELL,
    CLAIMS,
    CONTRADICTS,
    SUPPORTS,
    findings,
    findings_table,
    interval_verdict,
)
from compress_distill.inference import add_uncertainty
from compress_distill.metrics import tidy_table
from compress_distill.tables import to_markdown
from tests.unit.test_inference import FAST, study_outcomes, uncertain_rows
from tests.unit.test_metrics import study_records


@pytest.mark.parametrize(
    ("interval", "region", "verdict"),
    [
        ((0.97, 0.99), (0.96, math.inf), SUPPORTS),
        ((0.5, 0.9), (0.96, math.inf), CONTRADICTS),
        ((0.9, 1.1), (0.96, math.inf), CANNOT_TELL),  # straddles the boundary
        ((3.5, 20.0), (3.0, 19.0), CANNOT_TELL),
        ((20.0, 25.0), (3.0, 19.0), CONTRADICTS),
        ((None, 2.0), (0.0, math.inf), CANNOT_TELL),  # no interval: cannot tell
    ],
)
def test_interval_verdict(interval, region, verdict):
    assert interval_verdict(*interval, region) == verdict


def test_every_claim_is_classified_on_the_study():
    rows = uncertain_rows()
    found = findings(rows, study_outcomes(), FAST)
    assert [f.claim for f in found] == [
        CLAIMS[key].text
        for key in (
            "raw",
            "retention",
            "efficiency",
            "length",
            "truncation",
            "small",
            "tokens",
            "speedup",
        )
    ]
    verdicts = {f.claim: f.verdict for f in found}
    assert set(verdicts.values()) <= {SUPPORTS, CONTRADICTS, CANNOT_TELL}
    # llm_a's efficiency gain is 4.2x, its interval well below the paper's 18x.
    efficiency = found[2]
    assert efficiency.verdict == CONTRADICTS and efficiency.high < 18
    # Outputs 5x shorter in every resample (constant lengths): inside 3-19x.
    assert found[3].verdict == SUPPORTS and (found[3].low, found[3].high) == (5.0, 5.0)
    # One student: the small-student claim cannot be judged.
    assert found[5].verdict == CANNOT_TELL and found[5].measured == "needs students of two sizes"
    # Training tokens 25% of raw (in 12-30%) and 4x faster (in 2.0-7.6x): counts, no sampling.
    assert found[6].verdict == SUPPORTS and found[6].low == pytest.approx(25.0)
    assert found[7].verdict == SUPPORTS
    table = to_markdown(findings_table(found, FAST))
    assert "| Claim (paper) | Paper | This run | Interval | Verdict |" in table
    assert table.count("| supports |") == sum(v == SUPPORTS for v in verdicts.values())


def test_a_variant_significantly_above_raw_contradicts_raw_most_accurate():
    # Swap roles: the answer-only run (0 of 8) becomes "raw", so every other variant beats it.
    records = study_records()
    for record in records:
        record["variant"] = {"raw": "answer-only", "answer-only": "raw"}.get(
            record["variant"], record["variant"]
        )
    outcomes = study_outcomes(study_records())
    swapped = {
        (*key[:1], {"raw": "answer-only", "answer-only": "raw"}.get(key[1], key[1]), *key[2:]): v
        for key, v in outcomes.items()
    }
    rows = add_uncertainty(tidy_table(records), swapped, FAST)
    raw = findings(rows, swapped, FAST)[0]
    assert raw.verdict == CONTRADICTS
    assert "significantly above raw" in raw.measured and raw.low > 0


def test_without_raw_or_pairs_every_claim_cannot_tell():
    rows = add_uncertainty(tidy_table([]), {}, FAST)
    assert all(f.verdict == CANNOT_TELL for f in findings(rows, {}, FAST))


def test_students_of_two_sizes_are_compared():
    records = study_records()
    big = [dict(r, student="big", parameters=2000) for r in records]
    small = [dict(r, parameters=1000) for r in records]
    outcomes = study_outcomes(records)
    outcomes |= {(k[0], k[1], "big", *k[3:]): v for k, v in outcomes.items()}
    rows = add_uncertainty(tidy_table(small + big), outcomes, FAST)
    finding = findings(rows, outcomes, FAST)[5]
    # The same outcomes for both students: a gap of exactly 0, which does not favour either.
    assert finding.measured == "+0.0 pp (s minus big)"
    assert (finding.low, finding.high) == (0.0, 0.0) and finding.verdict == CONTRADICTS


@pytest.mark.parametrize(
    ("retention", "low", "high", "verdict"),
    [
        (2.1, 1.2, 4.6, CONTRADICTS),  # compression far above raw: not "up to 96%"
        (0.97, 0.965, 0.99, SUPPORTS),
        (0.5, 0.3, 0.7, CONTRADICTS),
        (0.95, 0.7, 1.2, CANNOT_TELL),
    ],
)
def test_retention_claim_is_about_96_percent_and_not_above_raw(retention, low, high, verdict):
    setting = {"teacher": "t", "student": "s", "mode": "full", "regime": 100, "benchmark": "b"}
    row = setting | {
        "variant": "llm_a",
        "accuracy_retention": retention,
        "accuracy_retention_low": low,
        "accuracy_retention_high": high,
    }
    finding = findings([row], {}, FAST)[1]
    assert finding.verdict == verdict
    assert (finding.low, finding.high) == pytest.approx((100 * low, 100 * high))
