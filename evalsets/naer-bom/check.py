"""Sjekk av evalueringssettet «nær bom» (evalsets/naer-bom/questions.jsonl).

Kjøres fra rotkatalogen i repoet:

    python evalsets/naer-bom/check.py

Sjekker at
  * hver linje er gyldig JSON med feltene id, question, kind, asks, relevant,
    facts, trap og why_absent,
  * id-ene er unike og følger mønsteret naer-NN / svar-NN etter kind,
  * kind og asks har lovlige verdier,
  * alle stier i relevant finnes under corpus/,
  * hvert fact i et answerable-spørsmål er en eksakt delstreng (etter
    normalisering av mellomrom) av teksten i minst ett av de relevante
    dokumentene (PDF via pypdf, DOCX via python-docx eller zipfile),
  * near-miss-spørsmål har tom facts-liste og en why_absent-begrunnelse,
  * det er minst 30 near-miss, minst 30 answerable og minst 10 feller (trap).

Bruker bare standardbiblioteket, pypdf og (om tilgjengelig) python-docx.
"""
from __future__ import annotations

import json
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO / "corpus"
QUESTIONS = HERE / "questions.jsonl"

KINDS = {"near-miss": "naer", "answerable": "svar"}
ASKS = {"figure", "date", "name", "measure", "result"}
FIELDS = ["id", "question", "kind", "asks", "relevant", "facts", "trap", "why_absent"]
MIN_PER_KIND = 30
MIN_TRAPS = 10

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def norm(text: str) -> str:
    """Slå sammen all whitespace (også hardt mellomrom) til ett mellomrom."""
    return " ".join(text.split())


def read_pdf(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        sys.exit("pypdf mangler: kjør med prosjektets venv (.venv/bin/python) eller installer pypdf")
    return "\n".join((page.extract_text() or "") for page in PdfReader(str(path)).pages)


def read_docx(path: Path) -> str:
    try:
        import docx  # python-docx
    except ImportError:
        docx = None
    if docx is not None:
        d = docx.Document(str(path))
        parts = [p.text for p in d.paragraphs]
        for table in d.tables:
            for row in table.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
        return "\n".join(parts)
    # Reserve: les document.xml direkte (alle avsnitt, også i tabeller).
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("word/document.xml"))
    parts = []
    for p in root.iter(W_NS + "p"):
        parts.append("".join(t.text or "" for t in p.iter(W_NS + "t")))
    return "\n".join(parts)


_cache: dict[str, str] = {}


def doc_text(rel: str) -> str:
    if rel not in _cache:
        path = CORPUS / rel
        if path.suffix == ".pdf":
            raw = read_pdf(path)
        elif path.suffix == ".docx":
            raw = read_docx(path)
        else:
            raw = path.read_text(encoding="utf-8")
        _cache[rel] = norm(raw)
    return _cache[rel]


def main() -> int:
    errors: list[str] = []
    rows = []
    with QUESTIONS.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(f"linje {n}: ugyldig JSON ({e})")

    ids = Counter(r.get("id") for _, r in rows)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"id {i!r} forekommer {c} ganger")
    questions = Counter(norm(str(r.get("question", ""))).lower() for _, r in rows)
    for q, c in questions.items():
        if c > 1:
            errors.append(f"spørsmålet {q!r} forekommer {c} ganger")

    kinds = Counter()
    asks_by_kind = {k: Counter() for k in KINDS}
    traps = 0
    for n, r in rows:
        rid = r.get("id", f"linje {n}")
        missing = [k for k in FIELDS if k not in r]
        if missing:
            errors.append(f"{rid}: mangler felt {missing}")
            continue
        kind, asks = r["kind"], r["asks"]
        if kind not in KINDS:
            errors.append(f"{rid}: ugyldig kind {kind!r}")
            continue
        if not re.fullmatch(KINDS[kind] + r"-\d{2,}", str(r["id"])):
            errors.append(f"{rid}: id passer ikke med kind {kind!r}")
        if asks not in ASKS:
            errors.append(f"{rid}: ugyldig asks {asks!r}")
        if not isinstance(r["question"], str) or not r["question"].strip():
            errors.append(f"{rid}: tomt spørsmål")
        kinds[kind] += 1
        asks_by_kind[kind][asks] += 1

        rel = r["relevant"]
        if not isinstance(rel, list):
            errors.append(f"{rid}: relevant må være en liste")
            rel = []
        for p in rel:
            path = CORPUS / p
            if not path.is_file() or path.name in ("README.md", ".kbignore"):
                errors.append(f"{rid}: relevant dokument finnes ikke: {p}")
        facts = r["facts"]
        if not isinstance(facts, list):
            errors.append(f"{rid}: facts må være en liste")
            continue

        if kind == "answerable":
            if not rel:
                errors.append(f"{rid}: answerable uten relevante dokumenter")
            if not 1 <= len(facts) <= 3:
                errors.append(f"{rid}: answerable må ha 1–3 facts, har {len(facts)}")
            existing = [p for p in rel if (CORPUS / p).is_file()]
            for fact in facts:
                if not isinstance(fact, str) or not fact.strip():
                    errors.append(f"{rid}: tomt fact")
                    continue
                nf = norm(fact)
                if not any(nf in doc_text(p) for p in existing):
                    errors.append(f"{rid}: fact {fact!r} finnes ikke i noen av {existing}")
        else:
            if facts:
                errors.append(f"{rid}: near-miss skal ha tom facts-liste")
            if r["trap"] is not None:
                if not isinstance(r["trap"], str) or not r["trap"].strip():
                    errors.append(f"{rid}: trap må være null eller en ikke-tom tekst")
                else:
                    traps += 1
            if not isinstance(r["why_absent"], str) or not r["why_absent"].strip():
                errors.append(f"{rid}: near-miss mangler why_absent")

    for kind in KINDS:
        if kinds[kind] < MIN_PER_KIND:
            errors.append(f"for få {kind}: {kinds[kind]} (minst {MIN_PER_KIND})")
    if traps < MIN_TRAPS:
        errors.append(f"for få feller (trap): {traps} (minst {MIN_TRAPS})")

    print(f"{len(rows)} spørsmål: " + ", ".join(f"{k} {kinds[k]}" for k in KINDS) + f"; feller {traps}")
    for kind in KINDS:
        print(f"  {kind}: " + ", ".join(f"{a} {asks_by_kind[kind][a]}" for a in sorted(ASKS)))
    if errors:
        print(f"\n{len(errors)} feil:")
        for e in errors:
            print("  - " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
