"""Write a reproduction run: PNG figures, ``reproduction.json``, a self-contained ``reproduction.html``.

``plan_report`` registers the report's destinations in an ``Outputs`` (``reference.files``) before
anything runs: the figures folder ``reproduction/`` (replaced as a whole), the JSON, the HTML and
the folder's ``index.html``; an output that is a folder where a file goes (or the reverse), or a
folder that cannot be written, is refused there, before TensorFlow starts. ``write_report`` stages
every file; the caller's ``published_together`` block publishes them together, so an interrupted
or failed run leaves the previous report byte-identical. The HTML embeds every figure as a base64
PNG and loads nothing from outside; Jinja2 autoescapes every string that reaches it. No TensorFlow
is imported here.

``reproduction.json``, schema ``SCHEMA`` (3), made for comparing runs (two TensorFlow versions)
claim by claim on ``claims[].id`` (``tfrepro-versions``, ``reference.reproduction.across_versions``,
reads schemas 2 and 3); NaN and infinities are ``null``. Top level:

- ``schema``; ``versions`` (``tensorflow``, ``keras``, ``python``, ``numpy``); ``scale``; ``seeds``
  (the list); ``interval`` (``method``, ``confidence``, ``quantile``: ``t_{(1+c)/2, N-1}`` for this
  run's N, null for one seed, ``rationale``); ``verdicts`` and ``kinds`` (the ledger's
  vocabularies); ``environment``; ``seconds``; ``counts`` (claims per verdict);
- ``sections.<name>``: ``seconds``, ``cpu_seconds``, ``numbers`` (a section that trains has
  ``numbers.seeds`` and ``numbers.per_seed``, one entry per seed, every run's series included),
  ``tables``, ``figures``, ``notes``, ``warnings``, ``defects`` (ids);
- ``claims[]``: the text (``id``, ``section``, ``source``, ``quote``, ``translation``, ``method``,
  ``tests``, ``needs``, ``figures``, ``version_limits[]``: ``package``, ``since``, ``reason``),
  ``kind`` (one of ``kinds``), ``verdict``, ``label``, ``outcome`` (the numbers' outcome before any
  version limit: ``supported``, ``opposed``, ``undecided``), ``differs_on[]`` (the limits that
  applied: ``package``, ``installed``, ``since``, ``reason``), ``fixed_by``, ``seeds``, ``evidence``
  (one line), ``effects[]`` (``label``, ``unit``, ``claimed``
  (``>`` or ``<``), ``reference``, ``seeds``, ``values`` (one per seed), ``interval`` (``mean``,
  ``low``, ``high``, ``n``, ``df``, ``sd``, ``t``, ``confidence``), ``agreeing`` (seeds on the
  claimed side), ``n``, ``outcome``) and ``checks`` (per seed: true, false, or null when the run
  did not exercise the mechanism);
- ``defects[]``: ``reference.reproduction.ledger.DefectResult`` as a dict.

Schema 3 added the verdict "differs on this version" and the claims' ``version_limits``,
``outcome`` and ``differs_on``; schema 2 had the rest.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np

from reference.files import Outputs
from reference.reproduction.index import INDEX_NAME, render_index
from reference.reproduction.intervals import CONFIDENCE, METHOD, RATIONALE, t_quantile
from reference.reproduction.ledger import (
    AFTER_FIX,
    CONTRADICTED,
    DIFFERS,
    INCONCLUSIVE,
    KINDS,
    REPRODUCED,
    VERDICTS,
    ClaimResult,
)
from reference.reproduction.scale import SECTION_TITLES
from reference.reproduction.version_limits import PACKAGES

if TYPE_CHECKING:
    from reference.reproduction.runner import RunResult

__all__ = [
    "DPI",
    "FIGURES_DIR",
    "HTML_NAME",
    "JSON_NAME",
    "SCHEMA",
    "VERDICT_CLASSES",
    "plain",
    "plan_report",
    "write_report",
]

FIGURES_DIR = "reproduction"
HTML_NAME = "reproduction.html"
JSON_NAME = "reproduction.json"
DPI = 90
SCHEMA = 3  # of reproduction.json (module docstring); 1 had one run per claim and no schema field
VERDICT_CLASSES = {
    REPRODUCED: "ok",
    AFTER_FIX: "fixed",
    CONTRADICTED: "no",
    INCONCLUSIVE: "open",
    DIFFERS: "version",
}
# The summary's advice (总结 / 最佳实践) that states no testable fact; listed, not judged.
ADVICE = (
    ("损失函数选择:根据任务类型选择合适的损失函数", "Choose the loss function for the task type."),
    ("使用适当的数据预处理和增强", "Use appropriate preprocessing and augmentation."),
    ("使用验证集进行超参数调优", "Tune hyperparameters on a validation set."),
    ("可视化训练过程便于调试", "Visualize training to ease debugging."),
)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: NumPy scalars and arrays converted, NaN and inf as ``None``."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _quantile(seeds: int) -> float | None:
    """``t_{(1 + c) / 2, N - 1}`` of a run over ``seeds`` seeds (None for one seed)."""
    return None if seeds < 2 else t_quantile(seeds)


def _glance(claim: ClaimResult) -> list[dict]:
    """The rows of the verdicts-at-a-glance table for ``claim``: one per effect, one for a checked
    or deterministic claim (``what``, ``value``, ``interval`` and ``agree`` as text)."""
    if claim.effects:
        rows = []
        for e in claim.effects:
            interval = e.interval
            if interval is None:
                text = "no interval (a value is not finite)"
            elif interval.n == 1:
                text = "none from one seed"
            else:
                text = f"[{interval.low:+.3g}, {interval.high:+.3g}]"
            mean = sum(e.values) / len(e.values)
            rows.append(
                {
                    "what": f"{e.label}, claimed {e.claimed} {e.reference:g}",
                    "value": f"{mean:+.3g} {e.unit}" if math.isfinite(mean) else "not finite",
                    "interval": text,
                    "agree": f"{e.agreeing} of {len(e.values)}",
                }
            )
        return rows
    if claim.checks:
        held, skipped = claim.checks.count(True), claim.checks.count(None)
        agree = f"held on {held} of {len(claim.checks)}" + (f" ({skipped} not exercised)" if skipped else "")
        return [{"what": "mechanism checked on every seed", "value": "-", "interval": "-", "agree": agree}]
    return [{"what": "deterministic: one run", "value": "-", "interval": "-", "agree": "-"}]


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return buffer.getvalue()


def _save_figures(result: RunResult, outputs: Outputs, folder: Path) -> dict[str, str]:
    """Stage every figure as ``folder/<name>.png``; returns name -> data URI."""
    uris = {}
    for section in result.sections:
        for name, figure in section.figures.items():
            data = _png(figure)
            outputs.write_bytes(folder / f"{name}.png", data)
            uris[name] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return uris


def _as_json(result: RunResult) -> dict:
    """The run as one JSON document, schema ``SCHEMA`` (module docstring)."""
    environment = result.environment
    return plain(
        {
            "schema": SCHEMA,
            "versions": {key: environment.get(key) for key in ("tensorflow", "keras", "python", "numpy")},
            "scale": result.scale.name,
            "seeds": list(result.scale.seed_list),
            "interval": {
                "method": METHOD,
                "confidence": CONFIDENCE,
                "quantile": _quantile(result.scale.seeds),
                "rationale": RATIONALE,
            },
            "verdicts": list(VERDICTS),
            "kinds": list(KINDS),
            "environment": environment,
            "seconds": result.seconds,
            "counts": result.counts,
            "sections": {
                s.name: {
                    "seconds": s.seconds,
                    "cpu_seconds": s.cpu_seconds,
                    "numbers": s.numbers,
                    "tables": [t.as_dict() for t in s.tables],
                    "figures": [f"{FIGURES_DIR}/{n}.png" for n in s.figures],
                    "notes": s.notes,
                    "warnings": s.warnings,
                    "defects": [d.id for d in s.defects],
                }
                for s in result.sections
            },
            "claims": [c.as_dict() for c in result.claims],
            "defects": [d.as_dict() for d in result.defects],
        }
    )


def _render_html(result: RunResult, figures: dict[str, str]) -> str:
    """The report page (Jinja2, autoescaped)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reference.reproduction", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    sections = [
        {
            "result": s,
            "number": list(SECTION_TITLES).index(s.name) + 1,
            "title_zh": SECTION_TITLES[s.name][0],
            "title_en": SECTION_TITLES[s.name][1],
            "claims": [c for c in result.claims if c.section == s.name],
        }
        for s in result.sections
    ]
    return environment.get_template("reproduction.html.j2").render(
        run=result,
        sections=sections,
        figures=figures,
        verdict_classes=VERDICT_CLASSES,
        packages=PACKAGES,
        advice=ADVICE,
        figures_dir=FIGURES_DIR,
        glance=[(c, _glance(c)) for c in result.claims],
        quantile=_quantile(result.scale.seeds),
        rationale=RATIONALE,
    )


def plan_report(outputs: Outputs, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Register the report's destinations in ``outputs`` (module docstring); returns them by role:
    ``html``, ``json``, ``figures`` (folder) and ``index``.

    Raises:
        OSError: a destination is of the wrong kind, or ``out_dir`` cannot be written (named).
    """
    out = Path(out_dir)
    paths = {
        "figures": out / FIGURES_DIR,
        "json": out / JSON_NAME,
        "html": out / HTML_NAME,
        "index": out / INDEX_NAME,
    }
    outputs.folder(paths["figures"])
    for role in ("json", "html", "index"):
        outputs.file(paths[role])
    return paths


def write_report(result: RunResult, paths: dict[str, Path], outputs: Outputs) -> None:
    """Stage the whole report of ``result`` in ``outputs`` at the ``paths`` of ``plan_report`` (the
    caller publishes them)."""
    figures = _save_figures(result, outputs, paths["figures"])
    outputs.write_text(paths["json"], json.dumps(_as_json(result), indent=1, ensure_ascii=False))
    outputs.write_text(paths["html"], _render_html(result, figures))
    outputs.write_text(paths["index"], render_index(paths["index"].parent, publishing=[HTML_NAME, JSON_NAME]))
