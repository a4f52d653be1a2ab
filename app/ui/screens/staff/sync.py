"""同步 for staff devices: the field app's sync screen (enrol, sync now, refused changes,
conflicts with both values and re-apply / keep) inside the staff frame."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.staff.layout import staff_view
from app.ui.screens.sync import SyncScreen
from app.ui.widgets import DialogHost
from sync.i18n import t


def _is_dialog_host(c: Any) -> bool:
    return getattr(c, "fn", None) is getattr(DialogHost, "__component_impl__", DialogHost)


@ft.component
def StaffSyncScreen() -> ft.View:
    # The sync screen's body, called like a hook (its hooks belong to this component), then
    # framed with the staff rail / bar instead of the grid worker's tabs.
    view = SyncScreen.__component_impl__()  # type: ignore[attr-defined]
    body = [c for c in view.controls if not _is_dialog_host(c)]
    return staff_view(4, t("ui.sync.title"), body)
