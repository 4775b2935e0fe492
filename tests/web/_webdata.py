"""Constants the web tests share."""

from __future__ import annotations

import datetime as dt

#: The "today" of every web test.
TODAY = dt.date(2025, 7, 1)
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
#: A note and a source made of every payload at once.
HOSTILE = f"{SCRIPT}{IMG} javascript:alert(1)"
