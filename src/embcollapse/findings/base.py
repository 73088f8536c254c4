"""A paper item's finding: our values, the paper's, named checks with thresholds, and a status.

Every finding function of :mod:`embcollapse.findings` returns a :class:`Finding`. Its status is
derived from its checks, never typed:

* ``reproduced``: every check holds; ``differs``: none holds and one fails; ``partly``: some
  hold and some fail;
* ``not resolved``: none fails, but at least one check's interval straddles its threshold (a
  check given an ``interval``; see :class:`Check`), or an AUC check rests on one seed;
* ``illustration``: the item is shown, but nothing measured here could contradict it: it has
  no check, or every check's outcome is already *given* by its baseline (the same statistic on
  the run's initial tables, on random tables of the same shape, or whatever the method itself
  forces; see :class:`Baseline`);
* ``shared``: the evidence is another item's check (``see`` names it), so it is not counted twice;
* ``not run``: the runs it needs are not in this build (``reason`` says why);
* ``diagram``: the item is not an experiment.

A check whose outcome its baseline already gives is shown as ``given`` and not counted: the
status comes from the other checks.

Two kinds of claim, one rule each (:func:`auc_claim` for AUC differences, :func:`over_seeds` for
any other statistic):

* a *direction* claim ("ME beats SE", "DNN's AUC falls with size") holds when the interval over
  seeds lies wholly beyond zero in the paper's direction, fails when it lies wholly beyond zero
  the other way, and is unresolved when it holds zero; its size is shown beside the paper's;
* an *equivalence* claim ("does not grow", "not worse", "no change") is decided against one
  margin, ``AUC_MARGIN`` (0.001, the paper's own footnote 2: "A slightly higher AUC at
  0.001-level is regarded significant"): "not better" holds when the whole interval is below
  +margin and fails when it is wholly above it; "not worse" and "no change" likewise.

Every decided check rests on an interval over training seeds (``seeds`` >= 2); a check on one
seed, or without an interval, is unresolved and says what would resolve it. A statistic with
no training randomness in it (a dataset's row count) says so in ``deterministic``.

The rule text shown beside every verdict is generated from the checks, so it cannot be empty or
disagree with what was compared.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

STATUSES = ("reproduced", "partly", "differs", "not resolved", "not run", "illustration",
            "shared", "diagram")

AUC_MARGIN = 0.001   # the margin of every AUC equivalence claim ("not better", "no change")
AUC_MARGIN_SOURCE = ("the paper's footnote 2 (Section 5.2): 'A slightly higher AUC at 0.001-level "
                     "is regarded significant'")
CORRELATION_STRONG = 0.5  # a claimed positive correlation holds in full at r >= this

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "|<|": lambda value, threshold: abs(value) < threshold}   # "no change": within +-threshold


def _outcome(comparison: str, threshold: float, measured: float,
             interval: tuple[float, float] | None) -> str:
    """``holds`` / ``fails`` / ``unresolved`` of ``measured`` (or its interval) against
    ``threshold``. NaN never holds."""
    def holds(value: float) -> bool:
        return not math.isnan(value) and COMPARISONS[comparison](value, threshold)

    if interval is None:
        return "holds" if holds(float(measured)) else "fails"
    low, high = float(interval[0]), float(interval[1])
    if math.isnan(low) or math.isnan(high):
        return "unresolved"
    if comparison == "|<|":      # within the band / wholly outside it on one side / across
        if -threshold < low and high < threshold:
            return "holds"
        return "fails" if low >= threshold or high <= -threshold else "unresolved"
    a, b = holds(low), holds(high)
    return "holds" if a and b else "fails" if not (a or b) else "unresolved"


@dataclass(frozen=True)
class Baseline:
    """The same statistic where the claim cannot be at stake: on the run's initial tables
    (rebuilt from its seed), on random tables of the same shape, or what the method forces
    (e.g. the partner's value an agreement penalty imposes). ``label`` names it in the rule."""

    label: str
    measured: float
    interval: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "measured": float(self.measured),
                "interval": None if self.interval is None else [float(v) for v in self.interval]}


@dataclass(frozen=True)
class Check:
    """One named comparison of a measured value with a threshold: ``measured <comparison>
    threshold`` (``|<|``: ``|measured| < threshold``, "no change"). NaN never holds.

    ``interval`` (``(low, high)``) is the measured value's confidence interval over ``seeds``
    training seeds: the check *holds* when the whole interval is on the claimed side of the
    threshold, *fails* when the whole interval is on the other side, and is *unresolved*
    otherwise. Without an interval, or on fewer than two seeds, it is unresolved: no verdict
    rests on one seed or on fields standing in for replicates. ``deterministic`` (a reason)
    marks a statistic with no training randomness in it (e.g. a dataset's row count): it is
    decided by its value alone.

    ``baselines``: the same statistic where the claim cannot be at stake. A check that holds
    while a baseline passes the threshold too is *given* unless the measured value lies beyond
    the baseline in the claimed direction (its whole interval past the baseline's): training
    then moved the statistic further than the baseline, which is evidence. ``forced``: what the
    protocol or method forces (the check is given whenever it holds). ``unresolved``: why no
    verdict is possible whatever the value; the outcome is then *unresolved*. ``paper``: the
    paper's value of the same statistic, shown beside ours.
    """

    name: str
    measured: float
    threshold: float
    comparison: str
    interval: tuple[float, float] | None = None
    baselines: tuple[Baseline, ...] = ()
    unresolved: str = ""
    seeds: int = 0
    deterministic: str = ""
    forced: str = ""
    paper: float | None = None
    seed_sd: float = math.nan      # an AUC check's seed-to-seed sd of the paired difference
    test_se: float = math.nan      # ... and the test rows' part of its standard error

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"check {self.name!r}: comparison must be one of "
                             f"{', '.join(COMPARISONS)}, got {self.comparison!r}")
        if self.interval is not None and not self.interval[0] <= self.interval[1]:
            raise ValueError(f"check {self.name!r}: interval {self.interval} is not (low, high)")
        object.__setattr__(self, "baselines", tuple(self.baselines))

    def _of(self, measured: float, interval: tuple[float, float] | None) -> str:
        return _outcome(self.comparison, self.threshold, measured, interval)

    def _beyond(self, baseline: Baseline) -> bool:
        """Whether the measured value lies wholly beyond ``baseline`` in the claimed direction."""
        if self.comparison == "|<|":
            return False
        low, high = self.interval if self.interval is not None else (self.measured,) * 2
        b_low, b_high = baseline.interval if baseline.interval is not None else \
            (baseline.measured,) * 2
        return low > b_high if self.comparison in (">", ">=") else high < b_low

    @property
    def given_by(self) -> tuple[str, ...]:
        """The labels of the baselines that pass the threshold too while the measured value
        is not beyond them, and what the method forces."""
        out = tuple(b.label for b in self.baselines
                    if self._of(b.measured, b.interval) == "holds" and not self._beyond(b))
        return out + ((self.forced,) if self.forced else ())

    @property
    def why_unresolved(self) -> str:
        """Why no verdict is possible ("" when one is)."""
        if self.unresolved:
            return self.unresolved
        if self.deterministic:
            return ""
        if self.interval is None:
            return "no interval over seeds"
        if self.seeds < 2:
            return (f"{'one seed' if self.seeds == 1 else 'no seed count'}: an interval over "
                    f"fields or test rows holds no training randomness; at least 2 seeds "
                    f"(3 for a useful t interval) would decide it")
        return ""

    @property
    def outcome(self) -> str:
        """``holds``, ``fails``, ``unresolved`` or ``given`` (holds, and so does a baseline
        that the measured value does not exceed, or the method forces it)."""
        if self.why_unresolved:
            return "unresolved"
        found = self._of(self.measured, None if self.deterministic else self.interval)
        return "given" if found == "holds" and self.given_by else found

    @property
    def passed(self) -> bool:
        return self.outcome == "holds"

    def text(self) -> str:
        """``name: measured [interval] over n seeds comparison threshold outcome`` with the
        paper's value, each baseline, and why a check is unresolved or given."""
        over = (f" ({self.deterministic})" if self.deterministic else
                f" over {self.seeds} seed{'s' if self.seeds != 1 else ''}" if self.seeds else "")
        out = (f"{self.name}: {_num(self.measured)}{_span(self.interval)}{over} "
               f"{self.comparison} {_num(self.threshold)} {self.outcome}")
        if self.paper is not None:
            out += f" (paper: {_num(self.paper)})"
        if self.baselines:
            out += " (" + ", ".join(f"{b.label}: {_num(b.measured)}{_span(b.interval)} "
                                    f"{self._of(b.measured, b.interval)}"
                                    for b in self.baselines) + ")"
        if self.outcome == "given":
            out += (f", given ({'; '.join(self.given_by)}): an illustration, not evidence, "
                    f"not counted")
        if self.why_unresolved:
            out += f" ({self.why_unresolved})"
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "measured": float(self.measured),
                "threshold": float(self.threshold), "comparison": self.comparison,
                "interval": None if self.interval is None else [float(v) for v in self.interval],
                "baselines": [b.as_dict() for b in self.baselines], "seeds": self.seeds,
                "deterministic": self.deterministic, "forced": self.forced,
                "paper": None if self.paper is None else float(self.paper),
                "seed_sd": float(self.seed_sd), "test_se": float(self.test_se),
                "mde": self.minimum_detectable_effect,
                "unresolved": self.why_unresolved, "outcome": self.outcome}

    @property
    def minimum_detectable_effect(self) -> float:
        """For an AUC check over 2+ seeds: the smallest difference its interval would tell
        from zero (:func:`~embcollapse.intervals.minimum_detectable_effect`); NaN otherwise."""
        from ..intervals import minimum_detectable_effect

        if self.seeds < 2 or math.isnan(self.seed_sd) or math.isnan(self.test_se):
            return math.nan
        return minimum_detectable_effect(self.seed_sd, self.test_se, self.seeds)


def over_seeds(name: str, per_seed: Sequence[float], threshold: float, comparison: str,
               baselines: Sequence[Baseline] = (), paper: float | None = None,
               forced: str = "") -> Check:
    """A check on a statistic measured once per training seed (``per_seed``: one value per
    seed, NaN left out): its mean with a Student-t interval over the seeds decides. One seed
    gives an unresolved check that says so."""
    from ..intervals import mean_interval

    values = [float(v) for v in per_seed if not math.isnan(float(v))]
    if not values:
        return Check(name, math.nan, threshold, comparison, None, baselines,
                     "no value: the runs it needs are not stored", paper=paper, forced=forced)
    spread = mean_interval(values, what="seeds")
    interval = None if len(values) < 2 else (spread.low, spread.high)
    return Check(name, spread.diff, threshold, comparison, interval, baselines,
                 seeds=len(values), paper=paper, forced=forced)


def seed_baseline(label: str, per_seed: Sequence[float]) -> Baseline:
    """A :class:`Baseline` measured once per seed: its mean with a t interval over the seeds
    (the point value alone with one seed)."""
    from ..intervals import mean_interval

    values = [float(v) for v in per_seed if not math.isnan(float(v))]
    spread = mean_interval(values, what="seeds")
    return Baseline(label, spread.diff,
                    (spread.low, spread.high) if len(values) > 1 else None)


def _span(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f" [{_num(interval[0])}, {_num(interval[1])}]"


# how the paper states a claim on an AUC difference -> (comparison, threshold in margins)
AUC_CLAIMS: dict[str, tuple[str, int]] = {
    "better": (">", 0),          # direction: the interval wholly above 0
    "worse": ("<", 0),           # direction: the interval wholly below 0
    "no change": ("|<|", 1),     # equivalence: the interval within +-margin
    "not better": ("<", 1),      # equivalence: wholly below +margin ("does not grow")
    "not worse": (">", -1),      # equivalence: wholly above -margin ("no size does better")
}


def claim_threshold(claim: str) -> float:
    """The threshold an AUC claim compares the difference with: 0 for a direction claim,
    +-``AUC_MARGIN`` for an equivalence claim."""
    return AUC_CLAIMS[claim][1] * AUC_MARGIN


def _gap(d: float, threshold: float, comparison: str) -> float:
    """How far ``d`` lies from the threshold it is compared with (both edges for |<|)."""
    if comparison == "|<|":
        return min(abs(d - threshold), abs(d + threshold))
    return abs(d - threshold)


def resolve_reason(difference: Any, threshold: float, comparison: str) -> str:
    """Why an AUC difference decides nothing yet, and what would decide it: the seeds
    (:func:`~embcollapse.intervals.seeds_needed`, from its seed-to-seed sd, measured on this
    comparison, or elsewhere in the build for one seed) and the test rows
    (:func:`~embcollapse.intervals.rows_needed`) that would make its interval clear the
    threshold if the point value held."""
    from ..intervals import seeds_needed, rows_needed

    d = float(difference.diff)
    gap = _gap(d, threshold, comparison)
    sd, test_se = float(difference.seed_sd), float(difference.test_se)
    if math.isnan(test_se):
        test_se = float(difference.se)
    seeds = int(difference.seeds)
    why = ("one seed: its interval holds only the test rows' noise, not training randomness"
           if seeds < 2 else f"its interval over {seeds} seeds holds the threshold")
    if math.isnan(sd):
        return why + "; no seed-to-seed spread is measured in this build to say how many seeds " \
                     "it would need"
    source = f" ({difference.seed_sd_source})" if seeds < 2 and difference.seed_sd_source else ""
    need = seeds_needed(gap, sd, test_se, difference.level)
    parts = [f"seed-to-seed sd {_num(sd)}{source}, test-row SE {_num(test_se)}, point value "
             f"{_num(gap)} from the threshold"]
    parts.append("no number of seeds up to 100 would resolve it at these test rows"
                 if need is None else f"{need} seeds would resolve it")
    rows = None
    if difference.test_rows and test_se > 0 and sd > 0:
        rows = rows_needed(test_se, int(difference.test_rows), sd, max(seeds, 2), gap=gap,
                           level=difference.level).resolving
    if rows is not None:
        parts.append(f"or {rows:,} test rows at {max(seeds, 2)} seeds")
    return why + "; " + ", ".join(parts) + " (if the point value held)"


def auc_claim(name: str, measured: float, claim: str, difference: Any = None,
              baselines: Sequence[Baseline] = (), paper: float | None = None) -> Check:
    """A check on an AUC difference as the paper states it (``claim``: one of
    :data:`AUC_CLAIMS`): a direction claim against 0, an equivalence claim against
    ``AUC_MARGIN`` (see the module docstring).

    ``difference`` (an :class:`~embcollapse.intervals.Difference`, paired over the same test
    rows and over seeds) decides with its interval when it has two seeds or more; otherwise,
    or while its interval holds the threshold, the check is unresolved and says what would
    resolve it; without one (runs stored without test predictions) it is unresolved.
    ``paper``: the paper's value of the same difference, shown beside ours.
    """
    if claim not in AUC_CLAIMS:
        raise ValueError(f"check {name!r}: claim must be one of {', '.join(AUC_CLAIMS)}, got "
                         f"{claim!r}")
    comparison = AUC_CLAIMS[claim][0]
    threshold = claim_threshold(claim)
    label = f"{name} ({claim})"
    if difference is None:
        return Check(label, measured, threshold, comparison, baselines=baselines,
                     unresolved="no paired interval: the runs were stored without test "
                                "predictions", paper=paper)
    interval = (difference.low, difference.high)
    spread = {"seeds": int(difference.seeds), "paper": paper,
              "seed_sd": float(difference.seed_sd), "test_se": float(difference.test_se)}
    check = Check(label, difference.diff, threshold, comparison, interval, baselines, **spread)
    if check.outcome == "unresolved":
        check = Check(label, difference.diff, threshold, comparison, interval, baselines,
                      resolve_reason(difference, threshold, comparison), **spread)
    return check


def signed_with_interval(value: float, difference: Any = None) -> str:
    """``+0.0012`` or, with a paired difference, ``+0.0012 [-0.0003, +0.0027]``."""
    if difference is None:
        return f"{value:+.4f}"
    return f"{difference.diff:+.4f} [{difference.low:+.4f}, {difference.high:+.4f}]"


def _num(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.2e}"


def status_of_checks(checks: Sequence[Check]) -> str:
    """The status the checks give (``illustration`` for none, or when every check's outcome is
    given by its baseline; given checks are not counted; see the module docstring)."""
    outcomes = [c.outcome for c in checks if c.outcome != "given"]
    if not outcomes:
        return "illustration"
    if all(o == "holds" for o in outcomes):
        return "reproduced"
    if "fails" not in outcomes:
        return "not resolved"
    return "partly" if "holds" in outcomes else "differs"


@dataclass(frozen=True)
class Finding:
    """What this build found for one paper item.

    Build one with :func:`finding`, :func:`illustration`, :func:`shared` or :func:`not_run`;
    ``status`` and ``rule`` are computed.
    """

    key: str                                 # "Figure 8a", "Table 1"...
    ours: str                                # our values, in words
    paper: str                               # the paper's values (from book/data/paper)
    checks: tuple[Check, ...] = ()
    status: str = "illustration"
    rule: str = ""
    see: str = ""                            # for "shared": the item holding the check
    reason: str = ""                         # for "not run" and "illustration": why
    values: Mapping[str, Any] = field(default_factory=dict)   # numbers behind ``ours``
    run_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.key}: status must be one of {STATUSES}, got {self.status!r}")
        if not self.rule:
            raise ValueError(f"{self.key}: a finding needs a rule text")

    def summary_line(self) -> str:
        """A Markdown block for the chapter: status, ours, paper, and the rule."""
        if self.status == "not run":
            return f"> **{self.key}: not run.** Why: {self.reason}."
        if self.status == "diagram":
            return f"> **{self.key}: diagram.**"
        status = f"see {self.see}" if self.status == "shared" else self.status
        return (f"> **{self.key}: {status}.** Ours: {self.ours}. Paper: {self.paper}.\n>\n"
                f"> *Rule:* {self.rule}")

    def _repr_markdown_(self) -> str:
        return self.summary_line()

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "ours": self.ours, "paper": self.paper,
                "rule": self.rule, "see": self.see, "reason": self.reason,
                "checks": [c.as_dict() for c in self.checks],
                "values": {k: _jsonable(v) for k, v in self.values.items()},
                "run_ids": list(self.run_ids)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):          # numpy scalars
        return value.item()
    return value


def rule_text(checks: Sequence[Check], combine: str = "") -> str:
    """The rule the checks state, e.g. "reproduced when every check holds: a > 0 (measured
    0.3 holds); ..."."""
    parts = "; ".join(c.text() for c in checks)
    how = combine or ("reproduced when it holds, differs when it fails" if len(checks) == 1
                      else "reproduced when every check holds, partly when some do, differs "
                           "when none does")
    if checks and all(c.outcome == "given" for c in checks):
        how = ("illustration, no verdict: every check's outcome is already given by its "
               "baseline, so nothing here depends on what training learned")
    elif any(c.baselines for c in checks):
        how += ("; a check that its baseline (the same statistic on the initial or random "
                "tables, or what the method forces) also passes is 'given' and not counted")
    return f"{how}. {parts}."


def finding(key: str, ours: str, paper: str, checks: Iterable[Check],
            values: Mapping[str, Any] | None = None, run_ids: Iterable[str] = (),
            note: str = "") -> Finding:
    """A finding judged by ``checks`` (status computed; an empty list makes an illustration)."""
    checks = tuple(checks)
    if not checks:
        return illustration(key, ours, paper, note or "no check of this item could be computed",
                            values, run_ids)
    rule = rule_text(checks) + (f" {note}" if note else "")
    status = status_of_checks(checks)
    reason = "every check's outcome is given by its baseline" if status == "illustration" else ""
    return Finding(key, ours, paper, checks, status, rule, reason=reason,
                   values=dict(values or {}), run_ids=tuple(run_ids))


def illustration(key: str, ours: str, paper: str, why: str,
                 values: Mapping[str, Any] | None = None, run_ids: Iterable[str] = ()
                 ) -> Finding:
    """An item shown without a verdict: ``why`` says why no check here could fail."""
    return Finding(key, ours, paper, (), "illustration",
                   f"illustration, no verdict: {why}.", reason=why,
                   values=dict(values or {}), run_ids=tuple(run_ids))


def shared(key: str, see: str, ours: str, paper: str, run_ids: Iterable[str] = ()) -> Finding:
    """An item whose evidence is ``see``'s check: shown, not counted again."""
    return Finding(key, ours, paper, (), "shared",
                   f"the same evidence as {see}, whose check decides it; not counted twice.",
                   see=see, run_ids=tuple(run_ids))


def not_run(key: str, reason: str, paper: str = "") -> Finding:
    """An item this build could not test; ``reason`` says why."""
    return Finding(key, "", paper, (), "not run", f"not run: {reason}.", reason=reason)


def diagram(key: str) -> Finding:
    return Finding(key, "", "", (), "diagram", "a diagram, not an experiment.")


def run_ids_of(records: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The run ids of ``records``, sorted, each once."""
    return tuple(sorted({r["run_id"] for r in records if r}))
