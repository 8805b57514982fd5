"""Audio processing: pure DSP on float arrays (trim, fit, mix, loudness, limiter) and the ffmpeg codec."""

AUDIO_FORMAT = "7"
"""Version of everything that turns sentences into the encoded MP3 (trimming, assembly, fit, mix,
tempo, loudness, limiter, encoder settings). It is part of every episode's audio key: bump it in the
same commit as any change to that code that changes its output, so old MP3s are rebuilt."""
