"""What coordinators, the President and the ISU do: the vocabulary of outreach events."""

from __future__ import annotations

# Thematic areas: the Dubrovnik Action Plan's, plus the general status and operation of the
# Convention and the Presidency.
AREAS = ("universalization", "stockpile_destruction", "clearance", "victim_assistance", "cooperation",
         "transparency", "national_implementation", "general_status", "presidency")
SENDERS = ("coordinators", "president", "isu")
MEETING_KINDS = ("bilateral", "informal_meeting", "workshop", "seminar", "conference", "side_event")
PARTNERSHIP_STATUSES = ("discussed", "formed", "ended")
PARTNERSHIP_ROLES = ("needs", "partner")
MANDATES = ("coordinator", "president")
