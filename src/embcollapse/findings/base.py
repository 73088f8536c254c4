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
status comes from the other checks. AUC checks state their claim as the paper states it
(:func:`auc_claim`: better, worse, no change, not better, not worse) and one band,
``AUC_RESOLUTION``, decides all of them; an AUC check on one seed is unresolved and says how
many seeds it would need.

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

AUC_RESOLUTION = 0.001   # an AUC change smaller than this counts as "no change" in a check
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

    ``interval`` (optional, ``(low, high)``) is the measured value's confidence interval: the
    check then *holds* when the whole interval is on the claimed side of the threshold, *fails*
    when the whole interval is on the other side, and is *unresolved* otherwise.

    ``baselines``: the same comparison applied to each :class:`Baseline`; a check that holds
    while a baseline holds too is *given*: its outcome does not depend on training, so it is
    shown and not counted. ``unresolved``: why no verdict is possible whatever the value (e.g.
    one seed); the outcome is then *unresolved*.
    """

    name: str
    measured: float
    threshold: float
    comparison: str
    interval: tuple[float, float] | None = None
    baselines: tuple[Baseline, ...] = ()
    unresolved: str = ""

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"check {self.name!r}: comparison must be one of "
                             f"{', '.join(COMPARISONS)}, got {self.comparison!r}")
        if self.interval is not None and not self.interval[0] <= self.interval[1]:
            raise ValueError(f"check {self.name!r}: interval {self.interval} is not (low, high)")
        object.__setattr__(self, "baselines", tuple(self.baselines))

    def _of(self, measured: float, interval: tuple[float, float] | None) -> str:
        return _outcome(self.comparison, self.threshold, measured, interval)

    @property
    def given_by(self) -> tuple[str, ...]:
        """The labels of the baselines on which the check holds as well."""
        return tuple(b.label for b in self.baselines if self._of(b.measured, b.interval) == "holds")

    @property
    def outcome(self) -> str:
        """``holds``, ``fails``, ``unresolved`` or ``given`` (holds, and so does a baseline)."""
        if self.unresolved:
            return "unresolved"
        found = self._of(self.measured, self.interval)
        return "given" if found == "holds" and self.given_by else found

    @property
    def passed(self) -> bool:
        return self.outcome == "holds"

    def text(self) -> str:
        """``name: measured [interval] comparison threshold outcome`` with each baseline, and
        why a check is unresolved or given."""
        out = (f"{self.name}: {_num(self.measured)}{_span(self.interval)} {self.comparison} "
               f"{_num(self.threshold)} {self.outcome}")
        if self.baselines:
            out += " (" + ", ".join(f"{b.label}: {_num(b.measured)}{_span(b.interval)} "
                                    f"{self._of(b.measured, b.interval)}"
                                    for b in self.baselines) + ")"
        if self.outcome == "given":
            out += (f", given by its baseline ({'; '.join(self.given_by)}): an illustration, "
                    f"not evidence, not counted")
        if self.unresolved:
            out += f" ({self.unresolved})"
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "measured": float(self.measured),
                "threshold": float(self.threshold), "comparison": self.comparison,
                "interval": None if self.interval is None else [float(v) for v in self.interval],
                "baselines": [b.as_dict() for b in self.baselines],
                "unresolved": self.unresolved, "outcome": self.outcome}


def _span(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f" [{_num(interval[0])}, {_num(interval[1])}]"


# how the paper states a claim on an AUC difference -> (comparison, threshold in bands)
AUC_CLAIMS: dict[str, tuple[str, int]] = {
    "better": (">", 1),          # the difference is above +band
    "worse": ("<", -1),          # below -band
    "no change": ("|<|", 1),     # within +-band
    "not better": ("<", 1),      # below +band ("does not grow": no change or worse)
    "not worse": (">", -1),      # above -band ("no size does better")
}


def one_seed_reason(difference: Any, threshold: float, comparison: str) -> str:
    """Why a one-seed AUC difference decides nothing, and how many seeds it would need: from
    the difference's ``seed_sd`` (measured in this build on other comparisons, see
    :class:`~embcollapse.intervals.SeedSpread`) and its test-row standard error."""
    from ..intervals import seeds_needed

    d = float(difference.diff)
    gap = min(abs(d - threshold), abs(d + threshold)) if comparison == "|<|" \
        else abs(d - threshold)
    sd, test_se = float(difference.seed_sd), float(difference.test_se)
    if math.isnan(test_se):
        test_se = float(difference.se)
    why = "one seed: its interval holds only the test rows' noise, not training randomness"
    if math.isnan(sd):
        return why + "; no seed-to-seed spread is measured in this build to say how many seeds " \
                     "it would need"
    need = seeds_needed(gap, sd, test_se, difference.level)
    source = f" ({difference.seed_sd_source})" if difference.seed_sd_source else ""
    if need is None:
        return why + (f"; with the seed-to-seed sd {_num(sd)}{source} and a point value "
                      f"{_num(gap)} from the threshold, no number of seeds up to 100 would "
                      f"resolve it")
    return why + (f"; with the seed-to-seed sd {_num(sd)}{source} it would need {need} seeds "
                  f"(if the point value held)")


def auc_claim(name: str, measured: float, claim: str, difference: Any = None,
              baselines: Sequence[Baseline] = ()) -> Check:
    """A check on an AUC difference as the paper states it (``claim``: one of
    :data:`AUC_CLAIMS`), decided by one band, ``AUC_RESOLUTION``, on both sides.

    ``difference`` (an :class:`~embcollapse.intervals.Difference`, paired over the same test
    rows and over seeds) decides with its interval when it has two seeds or more; on one seed
    the check is unresolved and says how many seeds it would need; without one (runs stored
    without test predictions) it is unresolved.
    """
    if claim not in AUC_CLAIMS:
        raise ValueError(f"check {name!r}: claim must be one of {', '.join(AUC_CLAIMS)}, got "
                         f"{claim!r}")
    comparison, sign = AUC_CLAIMS[claim]
    threshold = sign * AUC_RESOLUTION
    label = f"{name} ({claim})"
    if difference is None:
        return Check(label, measured, threshold, comparison, baselines=baselines,
                     unresolved="no paired interval: the runs were stored without test "
                                "predictions")
    why = one_seed_reason(difference, threshold, comparison) if difference.seeds < 2 else ""
    return Check(label, difference.diff, threshold, comparison,
                 (difference.low, difference.high), baselines, why)


def with_interval(check: Check, interval: tuple[float, float] | None) -> Check:
    """``check`` with a confidence interval on its measured value."""
    return Check(check.name, check.measured, check.threshold, check.comparison, interval,
                 check.baselines, check.unresolved)


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
