"""The pure core: the engine, the script model, effects, time. Imports nothing else here."""
