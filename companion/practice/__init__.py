"""Practice between sessions: the journal, homework plans, the therapist's report, settings."""
