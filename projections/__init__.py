"""Read models, one per question. Each is a fold over facts filtered by valid time
(`as_of`) and record time (`known_at`), returning plain data that cites its events."""
