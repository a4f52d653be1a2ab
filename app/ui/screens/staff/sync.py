"""同步 for staff devices: the field app's sync screen (enrol, sync now, refused changes,
conflicts with both values and re-apply / keep) inside the staff frame."""

from __future__ import annotations

import flet as ft

from app.ui.screens.staff.layout import staff_view
from app.ui.screens.sync import sync_controls
from sync.i18n import t


@ft.component
def StaffSyncScreen() -> ft.View:
    return staff_view(4, t("ui.sync.title"), sync_controls())
