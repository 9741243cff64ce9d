"""What the access log must not keep: the one-time token of a staff enrolment link (docs/backoffice.md).

Until it is spent, whoever reads the link enrols, and the link carries its 256-bit token in the path, which an
access log writes (the request line, the path, the Referer). gunicorn's logger (config/gunicorn_config.py) writes
these through ``redact_one_time_tokens``; the deployment's proxy must do the same (docs/operations.md).
"""

from __future__ import annotations

import re

_ONE_TIME_TOKEN_IN_PATH = re.compile(r"(/backoffice/enrol/)[^/?#\s]+")


def redact_one_time_tokens(text: str) -> str:
    return _ONE_TIME_TOKEN_IN_PATH.sub(r"\1[redacted]", text)
