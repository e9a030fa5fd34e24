import ast
import re
from pathlib import Path

from bot.i18n import Catalog, Markup, keys_used_in, normalise_language, placeholders

ROOT = Path(__file__).resolve().parents[1]


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    catalog = Catalog.load()
    zh, en = catalog.messages["zh-Hans"], catalog.messages["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key
        assert zh[key].strip() and en[key].strip(), key


def test_every_key_used_in_code_exists() -> None:
    catalog = Catalog.load()
    used: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= keys_used_in(path.read_text(encoding="utf-8"))
    missing = sorted(k for k in used if not catalog.has(k))
    assert missing == []


# Keys built at run time, f"<prefix>{value}": a key of these families counts as used by its family.
# Each prefix must still be built somewhere (checked below), so the list cannot keep a dead family.
DYNAMIC_KEY_PREFIXES = (
    "act.bad.",  # rule problem codes (bot/activities/rules.py) -> Refusal / edit
    "act.btn.star",  # rating buttons 1..5
    "act.edit.ask.", "act.field.",  # /editactivity fields
    "act.more.ask.", "act.more.opt.",  # 更多选项 options (bot/activities/callbacks.MORE_OPTIONS)
    "act.r.", "act.roster.", "act.summary.repeat.",
    "delivery.report.", "fb.col.", "fb.write_", "help.intro.", "label.",
    "ledger.cols.", "ledger.sheet.",  # ledger export sheets
    "members.field.", "members.invite.opt.", "members.join.",
    "notice.ack.", "notice.participants.", "notice.preview_",
    "sv.col.", "sv.kind.", "sv.state.",
    "webapp.view.", "when.month.", "when.weekday.", "zone.",
)


def _code_sources() -> str:
    """Every product source file (Python, and the Mini App's page and script)."""
    parts = []
    for folder in ("bot", "handlers", "sandbox"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".js", ".html"):
                parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def test_every_catalogue_entry_is_used_by_code() -> None:
    """No dead entries: every msgid appears in code as a literal key, or belongs to a built family."""
    source = _code_sources()
    literals = set(re.findall(r"""["']([A-Za-z0-9_./-]+)["']""", source))
    unused = sorted(
        key
        for key in Catalog.load().messages["en"]
        if key not in literals and not key.startswith(DYNAMIC_KEY_PREFIXES)
    )
    assert unused == []
    built = set(re.findall(r"""\bf["']([a-z0-9_.]+)\{""", source))
    assert sorted(p for p in DYNAMIC_KEY_PREFIXES if p not in built) == []


def test_placeholder_values_are_escaped_but_markup_is_kept() -> None:
    catalog = Catalog.load()
    text = catalog.text("en", "start.welcome", name="<script>&")
    assert "&lt;script&gt;&amp;" in text
    assert "<script>" not in text
    kept = catalog.text("en", "start.welcome", name=Markup("<b>ok</b>"))
    assert "<b>ok</b>" in kept


def test_telegram_language_codes_map_to_catalogues() -> None:
    assert normalise_language("zh-hans", "en") == "zh-Hans"
    assert normalise_language("zh-CN", "en") == "zh-Hans"
    assert normalise_language("en-US", "zh-Hans") == "en"
    assert normalise_language("de", "zh-Hans") == "zh-Hans"
    assert normalise_language(None, "en") == "en"


def _cjk_literals(source: str) -> list[tuple[int, str]]:
    """String literals with Chinese characters, docstrings excluded."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and any("\u4e00" <= ch <= "\u9fff" for ch in node.value)
    ]


def test_handler_code_holds_no_chinese_sentences() -> None:
    # Only language self-names (the picker shows "中文") and the words of the date grammar
    # (what people type: 12月5日, 明天) may appear in code; sentences live in the catalogue.
    # The date grammar itself (bot/when.py, the one reader of typed dates) holds those words.
    allowed = {"中文", "年", "月", "日", "号", "今天", "明天", "后天", "："}
    grammar = ROOT / "bot" / "when.py"
    offenders = []
    for folder in ("handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == grammar:
                continue
            for line, value in _cjk_literals(path.read_text(encoding="utf-8")):
                if value not in allowed:
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {value}")
    assert offenders == []
