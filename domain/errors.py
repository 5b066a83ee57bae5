"""Domain errors. Each names the field or fact that was wrong and says what would be right."""

from __future__ import annotations

from collections.abc import Sequence


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose; `field` names the culprit."""

    field: str = ""


class UnknownStateError(LedgerError, LookupError):
    def __init__(self, query: str, suggestions: Sequence[str] = ()) -> None:
        self.field = "state"
        self.query = query
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"state: no State {query!r} is registered in this ledger{hint}")


class RuleViolationError(LedgerError, ValueError):
    """A command that the treaty rules or the ledger's own rules do not allow."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class InvalidValueError(LedgerError, ValueError):
    def __init__(self, field: str, value: object, allowed: Sequence[str] | str) -> None:
        self.field = field
        expected = allowed if isinstance(allowed, str) else "one of " + ", ".join(allowed)
        super().__init__(f"{field}: {value!r} is not valid; expected {expected}")


class AlreadyRegisteredError(LedgerError, ValueError):
    def __init__(self, dossier_id: str) -> None:
        self.field = "iso3"
        super().__init__(f"iso3: {dossier_id} is already registered")


class EmptyLedgerError(LedgerError, LookupError):
    def __init__(self, location: str) -> None:
        self.field = "ledger"
        super().__init__(
            f"the ledger at {location} holds no States yet; load the reference data with "
            "`treaty load ccm-2018` (or `make run`)"
        )


class ConcurrencyConflictError(LedgerError, RuntimeError):
    """Other writers kept changing the same State; nothing of this command was written."""

    def __init__(self, dossier_id: str, attempts: int) -> None:
        self.field = "state"
        super().__init__(
            f"state: {dossier_id} changed under this command {attempts} times in a row; nothing was "
            "written, try again"
        )
