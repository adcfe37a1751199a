"""Write a reproduction run: PNG figures, ``reproduction.json``, a self-contained ``reproduction.html``.

Everything is built in a staging folder inside the output folder, then moved into place: the
figures folder is replaced as a whole (``os.replace`` of a renamed folder), the JSON and the HTML
with ``os.replace``. An interrupted run leaves the previous report untouched and no partial file.
The HTML embeds every figure as a base64 PNG and loads nothing from outside; Jinja2 autoescapes
every string that reaches it.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from reference.reproduction.files import STAGING_PREFIX
from reference.reproduction.index import write_index
from reference.reproduction.ledger import AFTER_FIX, NOT_REPRODUCED, REPRODUCED
from reference.reproduction.runner import RunResult
from reference.reproduction.scale import SECTION_TITLES

__all__ = ["DPI", "FIGURES_DIR", "HTML_NAME", "JSON_NAME", "plain", "write_report"]

FIGURES_DIR = "reproduction"
HTML_NAME = "reproduction.html"
JSON_NAME = "reproduction.json"
DPI = 90
VERDICT_CLASSES = {REPRODUCED: "ok", AFTER_FIX: "fixed", NOT_REPRODUCED: "no"}
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


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return buffer.getvalue()


def _save_figures(result: RunResult, folder: Path) -> dict[str, str]:
    """Save every figure as ``folder/<name>.png``; returns name -> data URI."""
    folder.mkdir()
    uris = {}
    for section in result.sections:
        for name, figure in section.figures.items():
            data = _png(figure)
            (folder / f"{name}.png").write_bytes(data)
            uris[name] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return uris


def _as_json(result: RunResult) -> dict:
    """The run as one JSON document (numbers of every section, both ledgers, the environment)."""
    return plain(
        {
            "environment": result.environment,
            "seconds": result.seconds,
            "counts": result.counts,
            "sections": {
                s.name: {
                    "seconds": s.seconds,
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
        advice=ADVICE,
        figures_dir=FIGURES_DIR,
    )


def _replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, replacing a previous one as a whole."""
    old = None
    if target.exists():
        old = target.with_name(f"{STAGING_PREFIX}old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_report(
    result: RunResult, out_dir: str | os.PathLike, staging: str | os.PathLike
) -> dict[str, Path]:
    """Build the report in ``staging`` (a folder inside ``out_dir``), then move it into place.

    Returns:
        The paths written: ``html``, ``json``, ``figures`` (folder) and ``index``.
    """
    out, staging = Path(out_dir), Path(staging)
    figures = _save_figures(result, staging / FIGURES_DIR)
    (staging / JSON_NAME).write_text(
        json.dumps(_as_json(result), indent=1, ensure_ascii=False), encoding="utf-8"
    )
    (staging / HTML_NAME).write_text(_render_html(result, figures), encoding="utf-8")
    _replace_folder(staging / FIGURES_DIR, out / FIGURES_DIR)
    os.replace(staging / JSON_NAME, out / JSON_NAME)
    os.replace(staging / HTML_NAME, out / HTML_NAME)
    return {
        "html": out / HTML_NAME,
        "json": out / JSON_NAME,
        "figures": out / FIGURES_DIR,
        "index": write_index(out),
    }
