"""Logging filters that keep personal data out of log lines.

Uvicorn's access log prints each request line with its query string, and client searches
carry phone and ID numbers there (``GET /api/clients?id_number=...``). The filter drops the
query string from access-log records; the path alone is enough to operate the service.
"""

from __future__ import annotations

import logging


class DropQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access: (client_addr, method, full_path, http_version, status_code)
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (*args[:2], path, *args[3:])
        return True


def install_access_log_filter(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, DropQueryString) for f in logger.filters):
        logger.addFilter(DropQueryString())
