"""Stand-in for ``pendulum.datetime(...)`` and ``.in_timezone(...)``: timezone-aware datetimes."""
import datetime as _dt
from zoneinfo import ZoneInfo


class DateTime:
    def __init__(self, value):
        self.value = value

    def in_timezone(self, tz):
        return DateTime(self.value.astimezone(ZoneInfo(tz)))

    def isoformat(self):
        return self.value.isoformat()


def datetime(year, month, day, hour=0, minute=0, second=0, microsecond=0, tz="UTC", fold=1):
    return DateTime(_dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=ZoneInfo(tz)))
