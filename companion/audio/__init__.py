"""The sound device and the audio in between: streams, the microphone, resampling, echo."""
