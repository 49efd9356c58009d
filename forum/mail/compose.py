"""Email bodies from Jinja templates: `templates/email/NAME.txt` (plain text, not escaped) and
`templates/email/NAME.html` (escaped, extends `email/base.html`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(TEMPLATE_DIR)
    text = jinja2.Environment(
        loader=loader,
        autoescape=False,  # noqa: S701 - plain-text mail is not HTML; the HTML part escapes
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    html = jinja2.Environment(
        loader=loader,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return text, html


def render(name: str, **context: Any) -> tuple[str, str]:
    """The plain-text and HTML bodies of the email template `name`."""
    text_env, html_env = _environments()
    text = text_env.get_template(f"email/{name}.txt").render(**context)
    html = html_env.get_template(f"email/{name}.html").render(**context)
    return text, html
