"""A paper item's finding: our values, the paper's, named checks with thresholds, and a status.

Every finding function of :mod:`embcollapse.findings` returns a :class:`Finding`. Its status is
derived from its checks, never typed:

* ``reproduced``: every check holds; ``differs``: none holds and one fails; ``partly``: some
  hold and some fail;
* ``not resolved``: none fails, but at least one check's interval straddles its threshold (a
  check given an ``interval``; see :class:`Check`);
* ``illustration``: the item is shown, but nothing measured here could contradict it (no check);
* ``shared``: the evidence is another item's check (``see`` names it), so it is not counted twice;
* ``not run``: the runs it needs are not in this build (``reason`` says why);
* ``diagram``: the item is not an experiment.

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
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Check:
    """One named comparison of a measured value with a threshold: ``measured <comparison>
    threshold``. NaN never holds.

    ``interval`` (optional, ``(low, high)``) is the measured value's confidence interval: the
    check then *holds* when the whole interval is on the claimed side of the threshold, *fails*
    when the whole interval is on the other side, and is *unresolved* otherwise.
    """

    name: str
    measured: float
    threshold: float
    comparison: str
    interval: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"check {self.name!r}: comparison must be one of "
                             f"{', '.join(COMPARISONS)}, got {self.comparison!r}")
        if self.interval is not None and not self.interval[0] <= self.interval[1]:
            raise ValueError(f"check {self.name!r}: interval {self.interval} is not (low, high)")

    def _holds(self, value: float) -> bool:
        return not math.isnan(value) and COMPARISONS[self.comparison](value, self.threshold)

    @property
    def outcome(self) -> str:
        """``holds``, ``fails`` or (with an interval) ``unresolved``."""
        if self.interval is None:
            return "holds" if self._holds(float(self.measured)) else "fails"
        low, high = (self._holds(float(v)) for v in self.interval)
        return "holds" if low and high else "fails" if not (low or high) else "unresolved"

    @property
    def passed(self) -> bool:
        return self.outcome == "holds"

    def text(self) -> str:
        """``name: measured (interval) comparison threshold -> outcome``."""
        spread = "" if self.interval is None else \
            f" [{_num(self.interval[0])}, {_num(self.interval[1])}]"
        return (f"{self.name}: {_num(self.measured)}{spread} {self.comparison} "
                f"{_num(self.threshold)} {self.outcome}")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "measured": float(self.measured),
                "threshold": float(self.threshold), "comparison": self.comparison,
                "interval": None if self.interval is None else [float(v) for v in self.interval],
                "outcome": self.outcome}


def auc_check(name: str, measured: float, threshold: float, comparison: str,
              difference: Any = None) -> Check:
    """A check on an AUC difference: with ``difference`` (an
    :class:`~embcollapse.intervals.Difference`, paired over the same test rows and over seeds)
    its value and interval decide; without one (runs stored without test predictions) only
    ``measured``."""
    if difference is None:
        return Check(name, measured, threshold, comparison)
    return Check(name, difference.diff, threshold, comparison, (difference.low, difference.high))


def signed_with_interval(value: float, difference: Any = None) -> str:
    """``+0.0012`` or, with a paired difference, ``+0.0012 [-0.0003, +0.0027]``."""
    if difference is None:
        return f"{value:+.4f}"
    return f"{difference.diff:+.4f} [{difference.low:+.4f}, {difference.high:+.4f}]"


def _num(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "nan"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.2e}"


def status_of_checks(checks: Sequence[Check]) -> str:
    """The status the checks give (``illustration`` for none; see the module docstring)."""
    if not checks:
        return "illustration"
    outcomes = [c.outcome for c in checks]
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
    return Finding(key, ours, paper, checks, status_of_checks(checks), rule,
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
