"""Entry module of the native Android app (`flet build apk`, configured by [tool.flet] in
pyproject.toml; steps and what is untested in docs/phone.md).

Native Python on the phone: threads, Pillow and requests work as on a PC, so this is the PC
app without the web server: the device store under the app's own storage folder
(``FLET_APP_STORAGE_DATA``), sync in the background once enrolled. Phones have system CJK
fonts, so no font is bundled. (The phone's browser runs ``app.browser`` instead.)
"""

import flet as ft

from app.device import open_device
from app.runtime import default_data_dir
from app.ui.app import make_main

ft.run(make_main(open_device(default_data_dir())))
