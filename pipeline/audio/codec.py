"""MP3 encoding and decoding, and WAV writing, through ffmpeg pipes.

ffmpeg comes from the `imageio-ffmpeg` wheel, so no system install is needed; set
`EPISODES_FFMPEG` to use another binary. No temporary WAV, no pydub.

- Encoding sends float samples to ffmpeg on stdin (libmp3lame, CBR). The MP3 goes to a file,
  not a pipe, on purpose: ffmpeg writes the LAME/Xing "Info" frame (frame count, encoder delay
  and padding, which players need for the duration and for gapless, sample-exact decoding) by
  seeking back to the start once the stream is done, and silently leaves that frame out when
  its output cannot seek. `encode_mp3_bytes` lets ffmpeg write a private temporary file and
  reads it back (about a millisecond for an episode).
- Decoding asks ffmpeg for a float WAV on stdout and reads the rate and channel count from
  its header, so one ffmpeg run does what a probe and a decode did, and any layout ffmpeg
  knows (5.1 included) is read right. Measurements see what a listener's player sees (the
  encoder delay and padding removed, thanks to the Info frame). An MP3 is read from a file,
  never a pipe: from a pipe ffmpeg keeps the end padding (see `decode_bytes`).
- `encode_and_decode`, for mastering, does both at once: one encode feeds the file and a pipe
  that a second ffmpeg decodes while the first is still encoding; the decoded stream is trimmed
  by the file's own Info frame and used only if the file is exactly that frame plus the bytes
  that were decoded.
"""

from __future__ import annotations

import functools
import struct
import subprocess
import tempfile
import threading
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import AudioError
from ..paths import file_problem
from .ffmpeg import ffmpeg_path, run_ffmpeg, start_ffmpeg

_DOWNMIX_TO_STEREO = "aformat=channel_layouts=mono|stereo"
"""An ffmpeg filter that keeps mono and stereo and downmixes anything wider to stereo."""
DECODER_DELAY_SAMPLES = 528 + 1
"""ffmpeg's MP3 decoder delay: it drops this many samples at the start on top of the encoder
delay the LAME tag names, and the tag's end padding already counts them."""


def _frames(samples: np.ndarray) -> np.ndarray:
    """Float samples as little-endian float32 frames shaped (n, channels)."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    return np.ascontiguousarray(frames, dtype="<f4")


def _ffmpeg_error(result: subprocess.CompletedProcess, fallback: str) -> str:
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else fallback


def _encoder(rate: int, channels: int, bitrate_kbps: int) -> list[str]:
    """ffmpeg reading float PCM on stdin and encoding CBR MP3, untagged and byte-reproducible."""
    return [ffmpeg_path(), "-v", "error", "-nostdin", "-f", "f32le", "-ar", str(rate), "-ac", str(channels),
            "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-map_metadata", "-1",
            "-fflags", "+bitexact"]


def encode_mp3(samples: np.ndarray, rate: int, path: Path, bitrate_kbps: int) -> None:
    """Encode float samples ((n,) or (n, channels), -1..1) to a CBR MP3 at `path`, with its
    LAME/Xing Info frame and no tag."""
    frames = _frames(samples)
    command = [*_encoder(rate, frames.shape[1], bitrate_kbps), "-write_xing", "1", "-id3v2_version", "0",
               "-f", "mp3", "-y", str(path)]
    try:
        result = run_ffmpeg(command, input=frames.tobytes())
    except OSError as exc:
        raise AudioError(f"MP3 encoding failed: {exc.strerror}", path) from None
    if result.returncode != 0:
        raise AudioError(f"MP3 encoding failed: {_ffmpeg_error(result, 'ffmpeg failed')}", path)


def encode_mp3_bytes(samples: np.ndarray, rate: int, bitrate_kbps: int) -> bytes:
    """`encode_mp3` into memory: the MP3 file's bytes, Info frame included (see the module
    docstring for why this goes through a private temporary file)."""
    with tempfile.TemporaryDirectory(prefix="episodes-encode-") as folder:
        path = Path(folder) / "encoded.mp3"
        encode_mp3(samples, rate, path, bitrate_kbps)
        return path.read_bytes()


def encode_and_decode(samples: np.ndarray, rate: int, bitrate_kbps: int) -> tuple[bytes, np.ndarray, int]:
    """Encode to MP3 and decode what was encoded, at the same time: the MP3 file's bytes (as
    `encode_mp3_bytes`), and its samples (n, channels) and rate as a player decodes them.

    One ffmpeg encodes once into two outputs (its tee muxer): the file, whose Info frame is
    written last, and the same frames on a pipe, which a second ffmpeg decodes while the first
    is still encoding, so on two cores decoding costs no time. The decoded stream is then
    trimmed by the encoder delay and padding that the file's Info frame names, exactly as a
    player trims the file. Only if the file is that Info frame followed by exactly the bytes
    that were decoded is the result used; otherwise the file is decoded again
    (`decode_bytes`). tests/test_master.py checks the two give identical samples."""
    frames = _frames(samples)
    with tempfile.TemporaryDirectory(prefix="episodes-encode-") as temporary:
        folder = Path(temporary)
        encoder = [*_encoder(rate, frames.shape[1], bitrate_kbps), "-map", "0:a", "-f", "tee",
                   "[f=mp3:write_xing=1:id3v2_version=0]encoded.mp3|[f=mp3:write_xing=0:id3v2_version=0]pipe:1"]
        decoder = [ffmpeg_path(), "-v", "error", "-f", "mp3", "-i", "pipe:0", "-f", "f32le", "pipe:1"]
        stream: list[bytes] = []
        processes: list[subprocess.Popen] = []
        with open(folder / "encoder.log", "wb") as encoder_log, open(folder / "decoder.log", "wb") as decoder_log:
            try:
                processes.append(start_ffmpeg(encoder, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=encoder_log))
                processes.append(start_ffmpeg(decoder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=decoder_log))
                encoding, decoding = processes
                feeding = threading.Thread(target=_feed, args=(encoding.stdin, memoryview(frames).cast("B")),
                                           daemon=True)
                relaying = threading.Thread(target=_relay, args=(encoding.stdout, decoding.stdin, stream), daemon=True)
                feeding.start()
                relaying.start()
                raw = _read_all(decoding.stdout)
                relaying.join()
                feeding.join()
            except BaseException as exc:  # failed to start, or interrupted: leave no ffmpeg behind
                for process in processes:
                    process.kill()
                if isinstance(exc, OSError):
                    raise AudioError(f"MP3 encoding failed: {exc.strerror}") from None
                raise
            finally:
                for process in processes:
                    process.wait()
                    process.stdout.close()
        if encoding.returncode != 0:
            raise AudioError(f"MP3 encoding failed: {_last_line(folder / 'encoder.log')}")
        mp3 = (folder / "encoded.mp3").read_bytes()
        if decoding.returncode == 0 and len(raw) % (4 * frames.shape[1]) == 0:
            decoded = np.frombuffer(raw, dtype="<f4").reshape(-1, frames.shape[1])  # writable: a bytearray
            trimmed = _as_a_player_trims(mp3, b"".join(stream), decoded)
            if trimmed is not None and len(trimmed) == len(frames):  # same length: same rate, no gap
                return mp3, trimmed, rate
    decoded, decoded_rate = decode_bytes(mp3)
    return mp3, decoded, decoded_rate


def _read_all(pipe: BinaryIO) -> bytearray:
    """Everything a pipe gives, into one growing buffer (no list of chunks, no copy to bytes)."""
    data = bytearray()
    while chunk := pipe.read(1 << 20):
        data += chunk
    return data


def _feed(pipe: BinaryIO, data: memoryview) -> None:
    """Write the samples to the encoder (no copy) and close its input."""
    try:
        pipe.write(data)
    except BrokenPipeError:
        pass  # the encoder failed; its exit status and log say why
    finally:
        try:
            pipe.close()
        except BrokenPipeError:
            pass


def _relay(source: BinaryIO, sink: BinaryIO, kept: list[bytes]) -> None:
    """Copy the encoder's stream to the decoder, keeping every chunk; read to the end even if
    the decoder stops, so the encoder never blocks."""
    sink_open = True
    for chunk in iter(lambda: source.read(65536), b""):
        kept.append(chunk)
        if sink_open:
            try:
                sink.write(chunk)
            except BrokenPipeError:
                sink_open = False
    try:
        sink.close()
    except BrokenPipeError:
        pass


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "ffmpeg failed"


def _as_a_player_trims(mp3: bytes, stream: bytes, decoded: np.ndarray) -> np.ndarray | None:
    """`decoded` (the headerless `stream` decoded) trimmed by the encoder delay and padding in
    the LAME tag of the Info frame that `mp3` starts with; None unless `mp3` is exactly one
    Info frame followed by `stream` and the frame counts agree."""
    header = len(mp3) - len(stream)
    if header <= 0 or mp3[header:] != stream or len(mp3) < 4:
        return None
    frame = mp3[:header]
    samples_per_frame = 1152 if (frame[1] >> 3) & 3 == 3 else 576  # MPEG-1, else MPEG-2/2.5
    tag = frame.find(b"Info") if b"Info" in frame else frame.find(b"Xing")
    if tag < 0:
        return None
    flags = int.from_bytes(frame[tag + 4 : tag + 8], "big")
    position, count = tag + 8, None
    if flags & 1:
        count = int.from_bytes(frame[position : position + 4], "big")
        position += 4
    position += (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    if count is None or position + 24 > len(frame):
        return None
    delay_padding = int.from_bytes(frame[position + 21 : position + 24], "big")
    delay, padding = delay_padding >> 12, delay_padding & 0xFFF
    if len(decoded) != count * samples_per_frame or padding < DECODER_DELAY_SAMPLES:
        return None
    return decoded[delay + DECODER_DELAY_SAMPLES : len(decoded) - (padding - DECODER_DELAY_SAMPLES)]


def write_wav(samples: np.ndarray, rate: int, path: Path) -> None:
    """Write float samples as a 16-bit WAV file (for auditions)."""
    frames = _frames(samples)
    pcm = np.round(np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2")
    try:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(frames.shape[1])
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm.tobytes())
    except OSError as exc:
        raise AudioError(f"cannot write WAV: {exc.strerror}", path) from None


def _read_float_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Samples (n, channels) and rate from the float WAV ffmpeg streams (sizes unknown, so the
    data chunk runs to the end)."""
    channels, rate, body = _wav_layout(data)
    usable = (len(data) - body) // (4 * channels) * 4 * channels
    samples = np.frombuffer(data, dtype="<f4", count=usable // 4, offset=body)
    return samples.reshape(-1, channels).copy(), rate  # writable and aligned


def _decode(source: list[str], rate: int | None, stereo_at_most: bool, where: Path | None) -> tuple[np.ndarray, int]:
    command = [ffmpeg_path(), "-v", "error", *source]
    if stereo_at_most:
        command += ["-af", _DOWNMIX_TO_STEREO]
    if rate:
        command += ["-ar", str(rate)]
    command += ["-map", "0:a:0", "-c:a", "pcm_f32le", "-fflags", "+bitexact", "-f", "wav", "pipe:1"]
    try:
        result = run_ffmpeg(command)
    except OSError as exc:
        raise AudioError(f"cannot decode: {exc.strerror}", where) from None
    if result.returncode != 0:
        _refuse(where, result.stderr)
        raise AudioError(f"cannot decode: {_ffmpeg_error(result, 'ffmpeg failed')}", where)
    try:
        return _read_float_wav(result.stdout)
    except (ValueError, struct.error) as exc:
        raise AudioError(f"cannot decode: ffmpeg returned no audio ({exc})", where) from None


def decode(path: Path, rate: int | None = None, stereo_at_most: bool = False) -> tuple[np.ndarray, int]:
    """Decode any audio file ffmpeg reads to float32 samples shaped (n, channels), and its rate.

    `rate` resamples while decoding; `stereo_at_most` downmixes more than two channels (5.1)
    to stereo with ffmpeg's standard matrix."""
    _refuse(path)
    return _decode(["-nostdin", "-i", str(path)], rate, stereo_at_most, path)


def _refuse(path: Path | None, stderr: bytes = b"") -> None:
    """An AudioError saying plainly why `path` cannot be decoded, where that is something other
    than ffmpeg's last line: it is not a regular file (a folder, a FIFO that would block ffmpeg,
    a device that never ends), or (from ffmpeg's `stderr`) it holds no audio stream at all."""
    if path is None:
        return
    problem = file_problem(path)
    if problem:
        raise AudioError("file not found" if problem == "not found" else problem, path)
    if b"matches no streams" in stderr:
        raise AudioError("the file holds no audio stream", path)


def decode_mono(path: Path, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode a file's first audio stream to mono float32 (channels averaged) and its rate, as
    ffmpeg streams it: memory holds the mono samples, never the file's channels at once, and a
    file that lasts more than `max_seconds` is refused as soon as that much has arrived.

    Raises:
        AudioError: naming the file, when it cannot be decoded or lasts too long.
    """
    _refuse(path)
    command = [ffmpeg_path(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-c:a", "pcm_f32le",
               "-fflags", "+bitexact", "-f", "wav", "pipe:1"]
    with tempfile.TemporaryFile() as log:
        try:
            process = start_ffmpeg(command, stdout=subprocess.PIPE, stderr=log)
        except OSError as exc:
            raise AudioError(f"cannot decode: {exc.strerror}", path) from None
        try:
            mono, rate = _read_mono(process.stdout, max_seconds, path)
        except BaseException:
            process.kill()  # refused (too long) or interrupted: ffmpeg need not decode the rest
            raise
        finally:
            process.stdout.close()
            process.wait()
        log.seek(0)
        stderr = log.read()
    if mono is None or process.returncode != 0:
        _refuse(path, stderr)
        lines = stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"cannot decode: {lines[-1] if lines else 'ffmpeg returned no audio'}", path)
    return mono, rate


def _read_mono(stream: BinaryIO, max_seconds: float, path: Path) -> tuple[np.ndarray | None, int]:
    """Mono samples from ffmpeg's float WAV stream, read a block at a time; None if the stream
    is not a float WAV (ffmpeg failed)."""
    head = b""
    while True:
        try:
            channels, rate, start = _wav_layout(head)
            break
        except (ValueError, struct.error):
            block = stream.read(4096) if len(head) < 1 << 20 else b""
            if not block:
                return None, 0
            head += block
    frame_bytes = 4 * channels
    limit = int(max_seconds * rate)
    blocks: list[np.ndarray] = []
    count = 0
    pending = head[start:]
    while True:
        usable = len(pending) // frame_bytes * frame_bytes
        if usable:
            frames = np.frombuffer(pending, dtype="<f4", count=usable // 4).reshape(-1, channels)
            blocks.append(frames.mean(axis=1, dtype=np.float32) if channels > 1 else frames[:, 0].copy())
            count += len(frames)
            if count > limit:
                raise AudioError(f"lasts more than {max_seconds / 60:g} minutes, the longest recording accepted; "
                                 "split the episode", path)
        block = stream.read(1 << 20)
        if not block:
            break
        pending = pending[usable:] + block
    mono = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    return mono, rate


def _wav_layout(data: bytes) -> tuple[int, int, int]:
    """(channels, rate, offset of the samples) of a float WAV stream's header."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    position, channels, rate = 12, 0, 0
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        body = position + 8
        if chunk == b"fmt ":
            channels, rate = struct.unpack_from("<HI", data, body + 2)
        elif chunk == b"data":
            if not channels:
                raise ValueError("data before format")
            return channels, rate, body
        position = body + size + (size & 1)
    raise ValueError("no data chunk")


def decode_bytes(data: bytes, rate: int | None = None) -> tuple[np.ndarray, int]:
    """`decode` for an encoded file held in memory (an MP3 from `encode_mp3_bytes`).

    The bytes go to ffmpeg as a private temporary file, not a pipe: reading an MP3 from a
    pipe, ffmpeg removes the encoder delay the Info frame names but not the end padding
    (measured: 767 samples too many on a 12 s file), so a pipe would not give what a
    player gives. The write costs about a millisecond."""
    with tempfile.TemporaryDirectory(prefix="episodes-decode-") as folder:
        path = Path(folder) / "encoded"
        path.write_bytes(data)
        samples, sample_rate = _decode(["-nostdin", "-i", str(path)], rate, False, None)
    return samples, sample_rate


@functools.lru_cache(maxsize=64)
def _probe(path: Path, mtime: float) -> int:
    """Sample rate of the first audio stream, from the header of a decode cut to one sample."""
    command = [ffmpeg_path(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-frames:a", "1",
               "-c:a", "pcm_f32le", "-fflags", "+bitexact", "-f", "wav", "pipe:1"]
    _refuse(path)
    result = run_ffmpeg(command)
    if result.returncode != 0:
        _refuse(path, result.stderr)
        raise AudioError(f"no audio stream found: {_ffmpeg_error(result, 'ffmpeg failed')}", path)
    try:
        return _read_float_wav(result.stdout)[1]
    except (ValueError, struct.error):
        raise AudioError("no audio stream found", path) from None


def probe_rate(path: Path) -> int:
    """Sample rate in Hz of a file's first audio stream (AudioError if it has none)."""
    return _probe(path, path.stat().st_mtime if path.exists() else 0.0)
