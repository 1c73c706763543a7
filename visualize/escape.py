"""One escaping helper per output context, and one slot filler for templates.

Every text that chainrule puts into a page, a picture or a printed command
goes through exactly one of these, chosen by where it lands:

* :func:`html_text` — HTML element content (``<p>…</p>``, ``<title>``);
* :func:`html_attr` — a quoted HTML attribute value (``id="…"``, ``href="…"``);
* :func:`script_json` — a value written as JSON inside an inline ``<script>``
  (``<``, ``>``, ``&``, U+2028 and U+2029 become ``\\uXXXX``, so no
  ``</script>``, ``<!--`` or line separator can end or bend the script);
* :func:`js_string` — a JavaScript string literal (the JSON of a string);
* :func:`xml_text` — SVG/XML text and attribute values (control characters
  that XML forbids become U+FFFD);
* :func:`dot_string` — a quoted Graphviz string (``label="…"``, tooltips);
* :func:`dot_html` — text inside a Graphviz HTML-like label (``label=<…>``);
* :func:`shell` — one shell word of a command we print (``shlex.quote``).

:func:`fill` substitutes a template's ``__SLOT__`` words in one pass over the
template only: an inserted text is never scanned again, so a label that
contains a slot word (``__TITLE__``) stays as it is. Templates never use
``str.replace`` on user text.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

__all__ = [
    "dot_html",
    "dot_string",
    "fill",
    "html_attr",
    "html_text",
    "js_string",
    "script_json",
    "shell",
    "xml_text",
]

# characters XML 1.0 forbids (C0 controls but tab, newline, return; lone surrogates, which
# UTF-8 cannot encode; the non-characters)
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                  "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_RE = re.compile("[<>&\u2028\u2029]")
_SLOT = re.compile(r"__([A-Z][A-Z0-9_]*?)__")


def _clean(text: object) -> str:
    return _XML_BAD.sub("\ufffd", str(text))


def html_text(text: object) -> str:
    """Escape ``text`` for HTML element content: ``&``, ``<``, ``>`` and both quotes.

    Quotes are escaped too, so the result is also safe in a quoted attribute.
    Control characters HTML/XML cannot carry become U+FFFD.
    """
    return html.escape(_clean(text), quote=True)


def html_attr(text: object) -> str:
    """Escape ``text`` for a quoted (``"…"`` or ``'…'``) HTML attribute value."""
    return html.escape(_clean(text), quote=True)


def script_json(value: Any) -> str:
    """Return ``value`` as JSON safe to put inside an inline ``<script>`` element.

    ``<``, ``>``, ``&``, U+2028 and U+2029 are written as ``\\uXXXX`` escapes
    (inside strings, the only place JSON can hold them), so the text cannot
    close the script (``</script>``), open an HTML comment (``<!--``) or break
    a JavaScript line. NaN and the infinities are written as JavaScript's
    ``NaN``/``Infinity``.

    Raises:
        TypeError: if ``value`` is not JSON-serialisable.
    """
    text = json.dumps(value, separators=(",", ":"))
    return _SCRIPT_RE.sub(lambda m: _SCRIPT_UNSAFE[m.group(0)], text)


def js_string(text: object) -> str:
    """Return a JavaScript string literal (with its quotes) of ``text``, safe in a script."""
    return script_json(str(text))


def xml_text(text: object) -> str:
    """Escape ``text`` for SVG/XML text or a quoted attribute value."""
    return html.escape(_clean(text), quote=True)


def _dot_clean(text: object) -> str:
    # Graphviz measures the line and paragraph separators as nothing: a space instead
    return _clean(text).replace("\u2028", " ").replace("\u2029", " ")


def dot_string(text: object) -> str:
    """Return a quoted Graphviz string (with its quotes) showing ``text`` literally.

    Backslashes, quotes and newlines are escaped for DOT; ``&`` becomes
    ``&amp;`` because Graphviz reads HTML entities in every label (so
    ``&lt;`` shows as itself, not as ``<``).
    """
    body = (_dot_clean(text).replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
            .replace("\r", "\\r").replace("\n", "\\n"))
    return '"' + body + '"'


def dot_html(text: object) -> str:
    """Escape ``text`` for a Graphviz HTML-like label (``label=<…>``).

    Graphviz still reads backslash escapes inside HTML-like labels (``\\``
    shows one backslash), so each backslash is doubled.
    """
    return (_dot_clean(text).replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;"))


def shell(word: object) -> str:
    """Quote one word of a shell command we print (``shlex.quote``)."""
    return shlex.quote(str(word))


def fill(template: str, slots: Mapping[str, str]) -> str:
    """Substitute every ``__NAME__`` slot of ``template`` in one pass.

    Slot names are upper case (``__TITLE__``, ``__DATA__``). The values are
    inserted as given — escape each for its context first — and are never
    scanned for slots again.

    Args:
        template: the text with its slots (our own text, never user text).
        slots: name (without underscores) -> the already escaped text.

    Returns:
        The filled template.

    Raises:
        KeyError: if the template has a slot ``slots`` does not give, or
            ``slots`` gives a name the template has no slot for.
    """
    used = set(_SLOT.findall(template))
    missing = used - set(slots)
    extra = set(slots) - used
    if missing or extra:
        raise KeyError(f"fill: template slots {sorted(used)}; missing {sorted(missing)}, "
                       f"unknown {sorted(extra)}")
    return _SLOT.sub(lambda m: str(slots[m.group(1)]), template)
