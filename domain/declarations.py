"""What States declare about their implementation (the facts an action plan monitors).

One event type, `DeclarationMade`, with a controlled vocabulary: a new subject is a line
here, not a new event class. Each subject names the treaty article it belongs to, so that
indicators can restrict themselves to the States with that obligation.
"""

from __future__ import annotations

# subject -> the article or theme it concerns (for documentation and filtering)
SUBJECTS: dict[str, str] = {
    # international cooperation and assistance (Art. 6)
    "assistance_requested": "art6",
    "assistance_provided": "art6",
    "assistance_received": "art6",
    "national_resources_allocated": "art6",
    "technical_assistance_received": "art6",
    # stockpile destruction and retention (Art. 3)
    "destruction_plan": "art3",
    "safety_environment_standards": "art3",
    "stockpile_destruction_progress": "art3",
    "expected_completion_date": "art3",
    "deadline_compliance_expected": "art3",
    "retained_munitions_use_reported": "art3",
    "retained_munitions_used_in_training": "art3",
    "retained_stock_reduction_planned": "art3",
    "will_not_retain": "art3",
    "destroyed_for_another_state": "art3",
    # clearance and risk reduction education (Art. 4)
    "contamination_extent_reported": "art4",
    "clearance_progress_reported": "art4",
    "risk_reduction_education": "art4",
    "risk_reduction_education_planned": "art4",
    "challenges_reported": "art4",
    # victim assistance (Art. 5)
    "new_victims_reported": "art5",
    "disaggregated_victim_data": "art5",
    "victim_data_collection": "art5",
    "victim_data_challenges": "art5",
    "va_focal_point": "art5",
    "national_va_plan": "art5",
    "va_plan_pending_approval": "art5",
    "no_va_plan": "art5",
    "disability_law_pending_approval": "art5",
    "disability_law_implementation": "art5",
    "national_disability_strategy_planned": "art5",
    "va_integrated_disability_sector": "art5",
    "victims_involved_in_decisions": "art5",
    "va_funding_drop": "art5",
    "va_resource_mobilization": "art5",
    "va_challenges_shared": "art5",
    # national implementation measures (Art. 9)
    "specific_law_enacted": "art9",
    "existing_law_sufficient": "art9",
    "legislation_in_preparation": "art9",
    "model_law_under_study": "art9",
    "investment_prohibition_law": "art9",
    # support to the ISU and universalization
    "isu_contribution_paid": "isu",
    "unga_resolution_voted_for": "universalization",
}

# Subjects whose declaration names a field of work.
AREAS = (
    "clearance",
    "stockpile_destruction",
    "risk_reduction_education",
    "victim_assistance",
    "national_implementation",
    "survey",
    "general",
)
AREA_SUBJECTS = (
    "assistance_requested",
    "assistance_provided",
    "assistance_received",
    "national_resources_allocated",
    "technical_assistance_received",
)
VIA = ("initial report", "annual report", "Article 7 report", "statement", "letter reply", "informal meeting",
       "unspecified")
