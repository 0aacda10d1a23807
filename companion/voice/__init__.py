"""The voice out: spoken lines and cue tones rendered, cached and played, or written to a file."""
