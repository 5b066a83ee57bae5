"""Treaty Ledger domain: events, aggregates and treaty rules. No I/O, no clock."""
