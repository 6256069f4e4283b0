"""The message catalogue is complete in both languages and covers every key the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain.headcounts import MOMENTS
from bot.domain.holidays import REGIONS
from bot.domain.incidents import CATEGORIES, SEVERITIES
from bot.domain.permissions import COMMANDS_BY_ROLE
from bot.texts import LANGUAGES, get_texts, placeholders

ROOT = Path(__file__).resolve().parent.parent
KEY_LITERAL = re.compile(r"""["']([a-z_]+\.[a-z_0-9]+)["']""")


def test_both_languages_have_the_same_keys() -> None:
    texts = get_texts()
    nl, en = texts.keys("nl"), texts.keys("en")
    assert nl - en == set(), f"missing in en: {sorted(nl - en)}"
    assert en - nl == set(), f"missing in nl: {sorted(en - nl)}"


def test_placeholders_match_between_languages() -> None:
    texts = get_texts()
    for key in texts.keys("nl"):
        assert placeholders(texts.raw("nl", key)) == placeholders(texts.raw("en", key)), key


def test_every_key_used_in_the_code_exists() -> None:
    texts = get_texts()
    sections = {key.split(".")[0] for key in texts.keys("nl")}
    used: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for match in KEY_LITERAL.finditer(path.read_text(encoding="utf-8")):
            if match.group(1).split(".")[0] in sections:
                used.add(match.group(1))
    # Keys built at run time from a prefix are checked through their possible endings.
    dynamic = {f"input.date_{r}" for r in ("unrecognised", "nonexistent", "weekday_mismatch")}
    dynamic |= {f"exchange.host_{h}" for h in ("online", "both")}
    dynamic |= {"fallback.lapsed_incident"}
    dynamic |= {f"incidents.category_{c}" for c in CATEGORIES}
    dynamic |= {f"incidents.severity_{s}" for s in SEVERITIES}
    dynamic |= {f"incidents.head_{s}" for s in SEVERITIES}
    dynamic |= {f"headcounts.moment_{m}" for m in MOMENTS}
    dynamic |= {f"region.{r}" for r in REGIONS}
    dynamic |= {f"commands.{c}" for role in COMMANDS_BY_ROLE.values() for c in role}
    # A key for `Texts.amount` ("common.minutes") stands for its _one and _many forms.
    missing = sorted(
        k
        for k in used | dynamic
        if not texts.has(k) and not (texts.has(f"{k}_one") and texts.has(f"{k}_many"))
    )
    assert missing == []
    for lang in LANGUAGES:
        assert all(texts.raw(lang, k).strip() for k in texts.keys(lang))


def test_parameters_are_escaped() -> None:
    texts = get_texts()
    out = texts.get("nl", "start.stranger", name="<b>Bobby & co</b>")
    assert "&lt;b&gt;Bobby &amp; co&lt;/b&gt;" in out
