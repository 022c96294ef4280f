"""Log output of ``insi-dmp-sim serve``: text or JSON lines, and the access log.

One formatter serves the simulator's loggers and gunicorn's (its error log and, with
``access_log``, its access log, whose lines carry the ``X-Request-Id`` the journal
records for the same exchange). With ``log_format = "json"`` every line is one JSON
object: ``time``, ``level``, ``logger``, ``message``, plus ``exception`` and the fields
given as ``extra``; an access line has ``remote``, ``method``, ``path``, ``query``,
``status``, ``bytes``, ``duration_ms``, ``request_id`` and ``user_agent`` instead.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from gunicorn import glogging

from simulator.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# gunicorn's access-log atoms (its documented access_log_format): the request id is
# the response header the SOAP endpoints set, the journal's key for the exchange.
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
ACCESS_FIELDS = {"remote": "h", "method": "m", "path": "U", "query": "q", "status": "s",
                 "bytes": "B", "duration_ms": "M", "request_id": "{x-request-id}o",
                 "user_agent": "a"}
# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname.lower(), "logger": record.name}
        if record.name == "gunicorn.access" and isinstance(record.args, dict | glogging.SafeAtoms):
            for field, atom in ACCESS_FIELDS.items():
                value = record.args[atom]
                line[field] = None if value in ("-", "") else value
            if line["status"] is not None:
                line["status"] = int(line["status"])
        else:
            line["message"] = record.getMessage()
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def formatter(settings: Settings) -> logging.Formatter:
    """The formatter of ``settings.log_format``."""
    return JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings) -> None:
    """The simulator's own loggers, on stderr, at ``settings.log_level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


class SimulatorLogger(glogging.Logger):
    """gunicorn's logger with the simulator's format (gunicorn setting ``logger_class``);
    its options come from the ``Settings`` the server puts in ``SETTINGS``."""

    SETTINGS: Settings | None = None

    def setup(self, cfg):
        """gunicorn's handlers (error log on stderr, access log on stdout when on),
        each with the simulator's formatter."""
        super().setup(cfg)
        settings = self.SETTINGS or Settings()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(settings))
