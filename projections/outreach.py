"""Questions: which letters were sent and answered, and which meetings held, as of a date,
as known at a time? Input: outreach facts already filtered by the status index."""

from __future__ import annotations

from typing import Any

from domain.facts import Fact

KINDS = frozenset({"LetterReceived", "LetterAnswered", "MeetingHeld", "MeetingAttended", "DemarcheReceived",
                   "PartnershipChanged", "MandateHeld"})


def letters(facts: dict[str, list[Fact]], names: dict[str, str], area: str | None = None,
            awaiting_reply: bool = False) -> list[dict[str, Any]]:
    """One entry per (letter, recipient), with the reply if any."""
    out = []
    for dossier_id, items in facts.items():
        replies = {f.data["reference"]: f for f in items if f.kind == "LetterAnswered"}
        for f in items:
            if f.kind != "LetterReceived" or (area and f.data["area"] != area):
                continue
            reply = replies.get(f.data["reference"])
            if awaiting_reply and reply is not None:
                continue
            out.append({
                "reference": f.data["reference"], "state": names.get(dossier_id, dossier_id),
                "iso3": dossier_id.partition("/")[2], "area": f.data["area"], "sender": f.data["sender"],
                "purpose": f.data["purpose"], "article": f.data.get("article"),
                "action_point": f.data.get("action_point"), "sent": f.citation,
                "reply": None if reply is None else {**reply.citation, "summary": reply.data["summary"]},
            })
    return sorted(out, key=lambda x: (x["sent"]["on"], x["reference"], x["state"]))


def meetings(facts: dict[str, list[Fact]], names: dict[str, str], area: str | None = None) -> list[dict[str, Any]]:
    """One entry per meeting, with the States that took part (a meeting may name none)."""
    by_ref: dict[str, dict[str, Any]] = {}
    for items in facts.values():
        for f in items:
            if f.kind == "MeetingHeld" and (not area or f.data["area"] == area):
                by_ref[f.data["reference"]] = {
                    "reference": f.data["reference"], "meeting_kind": f.data["meeting_kind"],
                    "area": f.data["area"], "place": f.data["place"], "margins_of": f.data["margins_of"],
                    "organisations": f.data["organisations"], "topics": f.data["topics"],
                    "outcomes": f.data["outcomes"], "unnamed_participants": f.data["unnamed_participants"],
                    "when": f.when.text(), "event_id": f.event_id, "participants": [],
                }
    for dossier_id, items in facts.items():
        for f in items:
            entry = by_ref.get(f.data.get("reference", "")) if f.kind == "MeetingAttended" else None
            if entry is not None:
                entry["participants"].append({"state": names.get(dossier_id, dossier_id), "event_id": f.event_id})
    for entry in by_ref.values():
        entry["participants"].sort(key=lambda p: p["state"])
    return sorted(by_ref.values(), key=lambda m: (m["when"], m["reference"]))
