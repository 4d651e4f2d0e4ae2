"""The labelled set's corpus and questions in other wordings, to measure what answers depend on wording alone.

Usage:
    .venv/bin/python scripts/reworded.py headings OUT       # corpus/ copied to OUT, the cases' headings reworded
    .venv/bin/kb eval --corpus OUT --answers                 # the own set over it
    .venv/bin/python scripts/reworded.py how OUT.jsonl      # the own set's «hvordan …» as «på hvilken måte …»
    .venv/bin/kb eval --set OUT.jsonl --answers

Other municipalities name a case's steps in their own words, and their members ask in theirs; the labelled set
has one wording of each. The headings are common Norwegian ones for the same four steps, cycled per document.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADINGS = {
    "## Utfordringen": ["Bakgrunn", "Utgangspunktet", "Hvorfor gjorde vi dette?", "Problemstilling", "Behovet"],
    "## Hva vi gjorde": [
        "Hva gjorde vi?",
        "Dette har vi gjort",
        "Aktiviteter",
        "Hva ble gjort?",
        "Gjennomført",
        "Slik gjorde vi det",
        "Tiltakene",
        "Grep vi tok",
    ],
    "## Resultater": [
        "Hva har vi oppnådd?",
        "Effekter",
        "Dette fikk vi til",
        "Hva har det gitt?",
        "Gevinster",
        "Hvordan gikk det?",
    ],
    "## Dette lærte vi": [
        "Hva har vi lært?",
        "Læringspunkter",
        "Råd til andre",
        "Suksesskriterier",
        "Dette ville vi gjort annerledes",
        "Tips til andre",
    ],
}


def reword_headings(out: Path) -> int:
    """Copy corpus/ to `out` with the markdown cases' four section headings reworded; the number of cases."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ROOT / "corpus", out)
    cases = sorted(p for p in out.rglob("*.md") if "erfaringer" in p.parts)
    for i, path in enumerate(cases):
        lines = path.read_text(encoding="utf-8").splitlines()
        lines = [f"## {HEADINGS[line][i % len(HEADINGS[line])]}" if line in HEADINGS else line for line in lines]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(cases)


def reword_how(out: Path) -> int:
    """The own set's questions that open with «hvordan» (not «hvordan gikk»), asked «på hvilken måte»."""
    rows = []
    for line in (ROOT / "evalsets" / "erfaringsbanken.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if re.match(r"(?i)hvordan\b(?! g(?:ikk|år)\b)", row["question"]):
            opening = "På hvilken måte" if row["question"][0] == "H" else "på hvilken måte"
            rows.append({**row, "question": opening + row["question"][len("hvordan") :]})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def main(argv: list[str]) -> None:
    """`headings OUT` or `how OUT.jsonl`."""
    if len(argv) != 2 or argv[0] not in ("headings", "how"):
        raise SystemExit(__doc__)
    if argv[0] == "headings":
        print(f"{reword_headings(Path(argv[1]))} caser skrevet om i {argv[1]}")
    else:
        print(f"{reword_how(Path(argv[1]))} spørsmål skrevet til {argv[1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
