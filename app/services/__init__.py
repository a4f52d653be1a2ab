"""What the screens call: the only part of the app that touches the store and the model.

Screens get plain dicts ("rows") ready to show and hand back plain dicts of field values;
everything about records, changes, clocks, the issue fold and photo files stays here.

The public names are re-exported here; the feature modules behind them (households, visits,
issues, photos, reference data, status, staff) are split along what the screens do.
"""

from app.services.common import (
    DEFAULT_VISIT_INTERVAL_DAYS,
    ROLE,
    VERSION,
    PhotoRef,
    ServiceError,
    clean,
    fmt_date,
    fmt_time,
    initials,
    last_sync_text,
    reported_at,
)
from app.services.field import Services

__all__ = ["DEFAULT_VISIT_INTERVAL_DAYS", "ROLE", "VERSION", "PhotoRef", "ServiceError", "Services",
           "clean", "fmt_date", "fmt_time", "initials", "last_sync_text", "reported_at"]
