"""Question: which Article 7 reports are overdue on date D, as known at T?"""

from __future__ import annotations

from typing import Any


def overdue_reports(statuses: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    initial, annual = [], []
    for st in statuses:
        rep = st.get("initial_report")
        if rep and rep["state"] == "overdue":
            initial.append({"iso3": st["iso3"], "name": st["name"], **rep})
        for a in st.get("annual_reports", []):
            if a["state"] == "overdue":
                annual.append({"iso3": st["iso3"], "name": st["name"], **a})
    initial.sort(key=lambda r: r["name"])
    annual.sort(key=lambda r: (r["reporting_year"], r["name"]))
    return {"initial": initial, "annual": annual}
