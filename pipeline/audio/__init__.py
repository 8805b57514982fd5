"""Audio processing: pure DSP on float arrays (trim, fit, loudness, limiter) and the ffmpeg codec."""
