"""The README's configuration table lists exactly the Settings fields, with their real defaults."""

import re

from kb.config import REPO_ROOT, Settings


def readme_table() -> dict[str, str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Innstillinger", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `KB_([A-Z_]+)` \| ([^|]*) \|", section, flags=re.MULTILINE))


def test_readme_settings_table_matches_settings() -> None:
    table = readme_table()
    fields = {name.upper() for name in Settings.model_fields}
    assert set(table) == fields, f"missing in README: {fields - set(table)}; unknown: {set(table) - fields}"
    for name, field in Settings.model_fields.items():
        if field.default_factory is None and field.default not in (None, ""):
            assert table[name.upper()].strip().strip("`") == str(field.default), name


def test_readme_commands_exist_in_makefile() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"^make ([a-z-]+)$", readme, flags=re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "make test" in readme
