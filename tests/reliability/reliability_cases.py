"""The commands that fill the reliability tests' template database (``populated``).

In a module of its own, with a name no other test folder uses: test files import it by name
(``from reliability_cases import POPULATE``), which ``from conftest import ...`` cannot do
safely when several folders' conftest modules are collected in one run.
"""

from __future__ import annotations

POPULATE = [
    ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
     "--at", "notified", "--on", "2025-06-27"],
    ["case", "set-fact", "LTU-1", "armed_conflict=false", "--on", "2025-06-28"],
    ["case", "note", "LTU-1", "instrument received", "--on", "2025-06-29"],
    ["case", "open", "--country", "POL", "--treaty", "ottawa", "--procedure", "generic",
     "--id", "G1", "--on", "2025-01-10"],
]  # fmt: skip
