"""The live counter (static/staff/sms-counter.js) counts exactly as the server
(notifications/sms.py): same character sets, same replacements, same removal
of diacritics, same segments. Run with node; skipped where node is missing."""

import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from common.text import unaccent_keep_case
from notifications.sms import GSM7_BASIC, GSM7_EXTENSION, NEEDLESS_UCS2, sms_clean, sms_prepare
from notifications.staff_services import normalise_newlines
from notifications.templating import PLACEHOLDERS, PLACEHOLDERS_BY_KIND, fill, template_errors

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "staff" / "sms-counter.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs node")

# Reads {"op": ..., "args": [...]} lines as one JSON list on stdin, answers a JSON list.
RUNNER = """
const counter = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map(([op, args]) => {
    if (op === "sets") {
      return {basic: Array.from(counter.GSM7_BASIC), extension: Array.from(counter.GSM7_EXTENSION),
              needless: counter.NEEDLESS_UCS2};
    }
    if (op === "changed") {  // code points that unaccent changes, with what they become
      const changed = {};
      for (let cp = args[0]; cp < args[1]; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const c = String.fromCodePoint(cp);
        const u = counter.unaccentKeepCase(c);
        if (u !== c) changed[cp] = u;
      }
      return changed;
    }
    if (op === "prepare") {
      const sms = counter.smsPrepare(args[0], args[1]);
      return [sms.text, sms.encoding, sms.segments, sms.characters];
    }
    return counter[op].apply(null, args);
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def run_js(calls: list) -> list:
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(SCRIPT)],
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


CASES = [
    "",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "{" * 80,
    "{" * 80 + "a",
    "€ ^ ~ | [ ] \\ \f",
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà",
    "ư" * 70,
    "ư" * 71,
    "ư" * 134,
    "ư" * 135,
    "Đã đăng ký: Ngày Sách và Văn hóa đọc Việt Nam, 09:00 21/04/2026 tại Thư viện tỉnh Hưng Yên. Vé: "
    "http://127.0.0.1:8000/t/xxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "Thư viện ĐỨC Đường Ỷ Lan ỹ ỵ Ơ ơ",
    "Vie\u0302\u0323t Nam (decomposed)",
    "a\u00a0b\u2007c\u202fd\u200be\u2018f\u2019g\u201ch\u201di\u2013j\u2014k\u2026",
    "emoji 🎉 counts two units",
    "🎉" * 35,
    "🎉" * 36,
    "Ç ç é É è ñ Ñ",  # GSM-7 only in part
    "Ελληνικά ΔΦΓ",
    "中文 ngày",
    "Straße",
    "x" * 152 + "€",
    "x" * 159 + "€",
]


@pytest.mark.parametrize("without_diacritics", [False, True])
def test_counts_match_the_server(without_diacritics):
    answers = run_js([["prepare", [text, without_diacritics]] for text in CASES])
    for text, answer in zip(CASES, answers):
        sms = sms_prepare(text, without_diacritics=without_diacritics)
        assert answer == [sms.text, sms.encoding, sms.segments, sms.characters], text


def test_known_segment_boundaries():
    # GSM-7 160/153, extension characters count two, UCS-2 70/67
    answers = run_js([["prepare", [text, False]] for text in ["a" * 160, "a" * 161, "{" * 80, "{" * 81, "ư" * 70,
                                                               "ư" * 71, "ư" * 134, "ư" * 135]])
    assert [a[1:3] for a in answers] == [
        ["GSM-7", 1], ["GSM-7", 2], ["GSM-7", 1], ["GSM-7", 2],
        ["UCS-2", 1], ["UCS-2", 2], ["UCS-2", 2], ["UCS-2", 3],
    ]
    [vietnamese] = run_js([["prepare", ["Thư viện tỉnh", True]]])
    assert vietnamese == ["Thu vien tinh", "GSM-7", 1, 13]


def test_character_sets_are_the_servers():
    [sets] = run_js([["sets", []]])
    assert set(sets["basic"]) == GSM7_BASIC
    assert set(sets["extension"]) == GSM7_EXTENSION
    assert sets["needless"] == NEEDLESS_UCS2


def test_removing_diacritics_matches_for_every_character():
    # every code point the server's unaccent changes, the script changes the same way
    # (among those assigned in the server's Unicode version: node's may be newer)
    limit = sys.maxunicode + 1
    [changed] = run_js([["changed", [0, limit]]])
    changed = {cp: u for cp, u in changed.items() if unicodedata.category(chr(int(cp))) != "Cn"}
    expected = {}
    for cp in range(limit):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if unicodedata.combining(c) or unicodedata.decomposition(c) or c in "đĐ":
            u = unaccent_keep_case(c)
            if u != c:
                expected[str(cp)] = u
    assert changed == expected


K = "confirmation"


def test_fill_normalise_and_placeholders_match():
    # the page gives the script a value (maybe empty) for every placeholder
    values = dict.fromkeys(PLACEHOLDERS, "") | {"title": "Sách", "when": "09:00 21/04/2026", "optout": None}
    bodies = ["{title} {when} {title.x} {0} {} {{title}} {optout} {name}", "  Chào\r\n{title}\r \x1c\u3000"]
    answers = run_js(
        [["fill", [b, values]] for b in bodies]
        + [["normalise", [b]] for b in bodies]
        + [["unknownPlaceholders", ["{title} {ten} {position} {ten} { url }", list(PLACEHOLDERS_BY_KIND[K])]]]
    )
    assert answers[:2] == [fill(b, values) for b in bodies]
    assert answers[2:4] == [normalise_newlines(b).strip() for b in bodies]
    assert answers[4] == ["{ten}", "{position}", "{ url }"]
    assert len(template_errors("{title} {ten} {position} {ten} { url }", K)) == 3


def test_clean_replaces_look_alikes_like_the_server():
    text = "“Sách” – 10\u00a0giờ…"
    [answer] = run_js([["smsClean", [text, False]]])
    assert answer == sms_clean(text) == '"Sách" - 10 giờ...'
