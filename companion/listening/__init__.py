"""The listening side: recognisers, the spoken commands and their vocabularies, the models."""
