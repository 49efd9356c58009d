"""Log output of `forum serve`: one line per record, JSON objects by default (FORUM_LOG_FORMAT).

A request's line (logger `forum.request`, see forum.web.telemetry) carries its fields in
`record.fields`; they become keys of the object. Everything else (warnings, uvicorn's start-up
lines, tracebacks) is an object with `level`, `logger` and `message`. Lines go to stderr, where
systemd's journal or a container runtime collects them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from forum.settings import Settings

REQUEST_LOGGER = "forum.request"


_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


class JsonFormatter(logging.Formatter):
    # The formatted second, made once per second (a line per request makes strftime add up).
    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        out: dict[str, Any] = {
            "time": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return _encode(out)


class TextFormatter(logging.Formatter):
    """`key=value` pairs for request lines, the message otherwise (for a terminal)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.message = " ".join(f"{k}={v}" for k, v in fields.items())
        return super().formatMessage(record)


def log_config(settings: Settings, verbose: bool = False) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn's Config (applied in every worker process)."""
    formatter = "forum.logs.JsonFormatter" if settings.log_format == "json" else ""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "line": {"()": formatter or "forum.logs.TextFormatter"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            # Our request lines replace uvicorn's access log.
            REQUEST_LOGGER: {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "forum": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "uvicorn": {
                "level": "INFO" if verbose else "WARNING",
                "handlers": ["stderr"],
                "propagate": False,
            },
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }
