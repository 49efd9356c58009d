"""Every request and response shape, declared once as pydantic models, one module per noun.

Input models (`base.Input`) validate the JSON API's bodies, queries and paths and the HTML forms
with the same limits (`forum.limits`), through `forum.schemas.parse`; output models
(`base.Output`) describe what `forum.web.api.serialise` returns. /api/v1/openapi.json is generated
from both (`forum.web.api.openapi`). Services keep the domain rules (a blank title, a caucus's
last convener); these models refuse only wrong types, ranges and lengths.
"""
