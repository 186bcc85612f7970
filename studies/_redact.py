"""Passwords in storage URLs never reach logs, errors, or the dashboard."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host (also inside longer text); up to
# the last '@' of the URL, so an unencoded '@' in the password is masked too
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>\S+)(?=@)")
# key=value forms some drivers print, e.g. "password=secret" in a DSN
# (a value ends before whitespace; a ':', ';' or ',' just before that is the message's own)
_DSN_PASSWORD = re.compile(r"(?i)(password\s*=\s*)('[^']*'|\"[^\"]*\"|\S+?(?=[:;,]?(?:\s|$)))")


def redact(text: object) -> str:
    """`text` with every password in a URL or DSN replaced by ***."""
    masked = _URL_PASSWORD.sub(r"\g<head>***", str(text))
    return _DSN_PASSWORD.sub(r"\1***", masked)
