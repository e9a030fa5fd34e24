"""The Chinese catalogue follows docs/style-zh.md: full-width punctuation and one word per concept.

Only the mechanical part of the style guide is enforced here; wording is for people to read.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ZH = Path(__file__).resolve().parents[1] / "bot" / "locales" / "zh_Hans" / "LC_MESSAGES"

CJK = "[\u3400-\u9fff\uf900-\ufaff]"

# (rule, pattern) - each must be absent from every Chinese text.
PUNCTUATION = [
    ("half-width , : ; ? ! or ( ) right after a Chinese character", re.compile(CJK + r"[,:;?!()]")),
    ("half-width , : ; ? ! or ( ) right before a Chinese character", re.compile(r"[,:;?!()]" + CJK)),
    ("space before full-width punctuation", re.compile(r" [，。：；！？、）」]")),
    ("space after full-width punctuation", re.compile(r"[（「，。：；！？、] ")),
    ("curly or straight quotes (use 「」)", re.compile(r"[“”‘’\"]")),
    ("three dots (use ……)", re.compile(r"\.\.\.|(?<!…)…(?!…)")),
    ("a tick or cross other than ✅ / ❌", re.compile("[✔✓☑✖✗✘]")),
]

# Forbidden variant -> the one word used instead (the vocabulary table of docs/style-zh.md).
VOCABULARY = {
    "成员": "会员",
    "注册": "登记",
    "意见建议": "反馈",
    "意见反馈": "反馈",
    "协调员": "联络员",
    "负责人": "联络员",
    "工作人员": "联络员",
    "收件人": "接收人",
    "出席": "签到",
    "出勤": "签到",
    "未到": "缺席",
    "批准": "通过",
    "已确认报名": "已报名",
    "候补者": "候补会员",
    "满意度问卷": "活动评价",
    "你": "您",
}


def _texts() -> list[tuple[str, str, str]]:
    found = []
    for po in sorted(ZH.glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale="zh_Hans"):
                if message.id and isinstance(message.id, str):
                    found.append((po.name, message.id, str(message.string)))
    return found


def test_the_catalogue_is_read() -> None:
    texts = _texts()
    assert len(texts) > 500
    assert ("core.po", "start.welcome", "您好，{name}！这里是新联会联络助手。") in texts


def test_chinese_texts_use_full_width_punctuation() -> None:
    offenders = [
        f"{name} {key}: {rule}: {text!r}"
        for name, key, text in _texts()
        for rule, pattern in PUNCTUATION
        if pattern.search(text)
    ]
    assert offenders == []


def test_chinese_texts_use_one_word_per_concept() -> None:
    offenders = [
        f"{name} {key}: {word!r} -> {VOCABULARY[word]!r}: {text!r}"
        for name, key, text in _texts()
        for word in VOCABULARY
        if word in text
    ]
    assert offenders == []


def test_the_rules_catch_what_they_are_meant_to_catch() -> None:
    def broken(text: str) -> list[str]:
        return [rule for rule, pattern in PUNCTUATION if pattern.search(text)]

    assert broken("时间:{when}") and broken("好的,谢谢") and broken("确定吗?") and broken("完成!")
    assert broken("已签到 ，谢谢") and broken("“完成”") and broken("✔️ 结束") and broken("正在生成...")
    assert broken("加入日历(.ics)")
    assert not broken("时间：{when}，周六14:00，输入 1d,2h,30m 或 weekly 4。正在生成……")
    assert not broken("请点「完成」。发送 /cancel 退出。✅ 已确认 12-03 15:41")
