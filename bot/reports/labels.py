"""Catalogue keys of the incident kinds and severities, in the order reports show them."""

from __future__ import annotations

CATEGORY = {
    "injury": "incidents.category_injury",
    "missing": "incidents.category_missing",
    "conflict": "incidents.category_conflict",
    "remark": "incidents.category_remark",
    "unsafe": "incidents.category_unsafe",
    "damage": "incidents.category_damage",
    "other": "incidents.category_other",
}
SEVERITY = {
    "low": "incidents.severity_low",
    "medium": "incidents.severity_medium",
    "high": "incidents.severity_high",
    "urgent": "incidents.severity_urgent",
}
