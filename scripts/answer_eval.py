"""Answer quality on question files (kb.evaluate.answers), or the refusal signal of every question.

Usage:
    .venv/bin/python scripts/answer_eval.py evalsets/parts/*.jsonl
    .venv/bin/python scripts/answer_eval.py --calibrate evalsets/parts/*.jsonl
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from kb.evaluate.answers import calibration_rows, evaluate_answers, load_questions


def main(argv: Sequence[str] | None = None) -> None:
    """Evaluate (default) or print calibration rows (--calibrate)."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from kb.base import KnowledgeBase
    from kb.config import Settings

    args = list(sys.argv[1:] if argv is None else argv)
    calibrate = "--calibrate" in args
    paths = [Path(a) for a in args if not a.startswith("--")]
    questions = load_questions(paths)
    kb = KnowledgeBase(Settings())
    if calibrate:
        rows = calibration_rows(kb, questions)
        for row in sorted(rows, key=lambda r: (r["kind"] != "unanswerable", r["signal"] or 0)):
            print(json.dumps(row, ensure_ascii=False))
        return
    print(json.dumps(evaluate_answers(kb, questions), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
