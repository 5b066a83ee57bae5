"""A `Meeting`: one gathering the coordinators, the President or the ISU held or joined.

The States that took part each record `MeetingAttended` in their own dossier; the meeting
itself (place, organisations, topics, and whether participants went unnamed) lives here, so
that a meeting whose participants the sources do not name is still in the ledger.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.conventions import Convention
from domain.dates import When
from domain.dossier import LedgerEvent, Provenance, check_in, check_reference, check_when, common_fields
from domain.outreach import AREAS, MEETING_KINDS

_NAMESPACE = uuid.UUID("0f3b2a8c-58c2-5d5e-8a6b-2b8b3c1f9e77")


def meeting_id_for(convention_id: str, reference: str) -> str:
    return f"{convention_id.upper()}/MTG/{reference}"


def meeting_storage_id(meeting_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, meeting_id)


class Meeting(Aggregate):
    class Event(LedgerEvent):  # its `dossier` is the meeting's readable id, e.g. CCM/MTG/8msp-ipu-2018-03-27
        pass

    class MeetingHeld(Event, Aggregate.Created):
        convention: str
        reference: str
        meeting_kind: str
        area: str
        place: str
        margins_of: str
        organisations: list[str]
        topics: str
        outcomes: str
        unnamed_participants: str

        def apply(self, aggregate: Meeting) -> None:
            aggregate.dossier = self.dossier

    def __init__(self) -> None:
        self.dossier = ""

    @classmethod
    def hold(
        cls, *, convention: Convention, reference: str, meeting_kind: str, area: str, place: str,
        margins_of: str, organisations: list[str], topics: str, outcomes: str, unnamed_participants: str,
        when: When, prov: Provenance, now: datetime,
    ) -> Meeting:
        check_reference(reference)
        check_in("meeting_kind", meeting_kind, MEETING_KINDS)
        check_in("area", area, AREAS)
        check_when(when, now)
        meeting_id = meeting_id_for(convention.id, reference)
        fields: dict[str, Any] = dict(
            convention=convention.id, reference=reference, meeting_kind=meeting_kind, area=area, place=place,
            margins_of=margins_of, organisations=list(organisations), topics=topics, outcomes=outcomes,
            unnamed_participants=unnamed_participants,
        )
        return cls._create(cls.MeetingHeld, id=meeting_storage_id(meeting_id), timestamp=now, dossier=meeting_id,
                           **common_fields(when, prov), **fields)
