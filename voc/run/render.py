"""Stage 4: report.html, heatmaps, tables and summary.json — rendered once, with the run's final summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from voc.schema import RunSummary


def render(outdir: Path, frame: pd.DataFrame, aggregates: Any, summary: RunSummary,
           sections: Sequence[tuple[str, str]] = ()) -> dict[str, Path]:
    """Write every rendered output; returns them by path relative to ``outdir``."""
    from voc.render import write_outputs

    written = write_outputs(outdir, frame, aggregates, summary, extra_sections=list(sections))
    return {str(Path(w).relative_to(outdir)): Path(w) for w in written}
