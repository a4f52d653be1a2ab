"""``Services``: what the field app's screens call, one object per device (data folder), shared
by every browser tab. Each feature lives in its own module over ``Core``; this class only puts
them together."""

from __future__ import annotations

from app.services.common import Core
from app.services.households import Households
from app.services.issues import Issues
from app.services.meetings import Meetings
from app.services.people import People
from app.services.photos import Photos
from app.services.reference import ReferenceData
from app.services.status import Status
from app.services.visits import Visits
from app.services.voice import Voices
from app.services.wishes import Wishes
from app.store import Store


class Services(ReferenceData, Households, People, Meetings, Wishes, Photos, Voices, Visits, Issues, Status, Core):
    """The app's door to the device store and the shared model."""

    def __init__(self, store: Store) -> None:
        Core.__init__(self, store)
        Photos.__init__(self)
        Issues.__init__(self)
