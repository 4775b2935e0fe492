"""Pure legal time: depositary calendars, time-varying facts and withdrawal clocks.

No I/O and no clock: every function takes the dates it needs. See docs/legal-time.md.
"""

from treatyflow.legal.calendar import DueDate, add_months_clipped, due_date, earliest_notice_date
from treatyflow.legal.clocks import Clock, ClockStatus, check_notice, evaluate_clock
from treatyflow.legal.facts import FactTimeline, FactValue

__all__ = [
    "Clock",
    "ClockStatus",
    "DueDate",
    "FactTimeline",
    "FactValue",
    "add_months_clipped",
    "check_notice",
    "due_date",
    "earliest_notice_date",
    "evaluate_clock",
]
