"""No phone or ID number reaches the access log through a query string."""

from __future__ import annotations

import logging

from callcenter.logfilters import DropQueryString, install_access_log_filter


def test_access_log_line_loses_its_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/clients?id_number=310101199001011234", "1.1", 200),
        None,
    )
    assert DropQueryString().filter(record)
    line = record.getMessage()
    assert "310101199001011234" not in line
    assert '"GET /api/clients HTTP/1.1" 200' in line


def test_filter_is_installed_once(caplog: object) -> None:
    install_access_log_filter("test.access")
    install_access_log_filter("test.access")
    filters = logging.getLogger("test.access").filters
    assert sum(isinstance(f, DropQueryString) for f in filters) == 1
