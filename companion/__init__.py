"""companion: a local, offline, voice-guided co-regulation companion for couples."""

__version__ = "0.1.0"
