"""visualize.escape: one escaping helper per context, and the one-pass slot filler."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visualize import escape

HOSTILE = ["</script><script>window.PWNED=1</script>", "<!--", "]]>", "\"'`", "\u2028\u2029",
           "__TITLE__", "&lt;b&gt;", "a\\nb", "x\x01y"]


@given(st.text())
def test_script_json_round_trips_and_never_holds_markup(text: str) -> None:
    out = escape.script_json({"label": text, "n": [1, 2.5]})
    for bad in "<>&\u2028\u2029":
        assert bad not in out
    assert json.loads(out) == {"label": text, "n": [1, 2.5]}


@given(st.text())
def test_html_text_leaves_no_markup(text: str) -> None:
    out = escape.html_text(text)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert "&" not in out.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "") \
        .replace("&quot;", "").replace("&#x27;", "")


def test_fill_substitutes_in_one_pass_and_never_rescans() -> None:
    out = escape.fill("<h1>__TITLE__</h1><p>__BODY__</p>",
                      {"TITLE": "__BODY__", "BODY": "__TITLE__"})
    assert out == "<h1>__BODY__</h1><p>__TITLE__</p>"


def test_fill_refuses_a_missing_or_unknown_slot() -> None:
    with pytest.raises(KeyError, match="missing"):
        escape.fill("__A__ __B__", {"A": "1"})
    with pytest.raises(KeyError, match="unknown"):
        escape.fill("__A__", {"A": "1", "C": "2"})


def test_dot_string_escapes_quotes_backslashes_newlines_and_entities() -> None:
    assert escape.dot_string('a"b\\c\nd&lt;') == '"a\\"b\\\\c\\nd&amp;lt;"'


def test_shell_quotes_a_word() -> None:
    assert escape.shell("a b; rm -rf /") == "'a b; rm -rf /'"


@pytest.mark.parametrize("text", HOSTILE)
def test_xml_text_is_well_formed(text: str) -> None:
    import xml.etree.ElementTree as ET

    doc = f'<svg a="{escape.xml_text(text)}"><title>{escape.xml_text(text)}</title></svg>'
    root = ET.fromstring(doc)
    assert root.find("title").text == text.replace("\x01", "\ufffd")  # type: ignore[union-attr]
