"""Audio in windows: decode a long file piece by piece so memory stays flat.

Each window ends at the quietest moment near its nominal end, so no word is cut
between two windows. Audio that cannot be decoded — a damaged packet, a file cut short —
is skipped as a player skips it, its time kept as silence, and reported: speech there was
never heard, so a transcript must not pass its silence off as an absence of speech.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Iterator

import numpy as np

from .errors import AudioError

log = logging.getLogger("dalel.transcribe")
SAMPLE_RATE = 16_000
_QUIET_SEARCH_S = 20.0   # look this far back from a window's end for a pause
_FRAME = SAMPLE_RATE // 10


def duration(path: str | os.PathLike) -> float:
    """Seconds of a media file: the container's duration, else its longest stream's."""
    import av
    try:
        with av.open(str(path)) as c:
            if c.duration:
                return c.duration / 1_000_000
            return max((float(s.duration * s.time_base) for s in c.streams if s.duration and s.time_base),
                       default=0.0)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise AudioError(f"cannot read {path}: {exc}") from exc


_ALIGN_TOLERANCE = int(0.05 * SAMPLE_RATE)   # timestamp jitter below this is not a gap


def _frames(path: str, start_s: float, damaged: list[tuple[float, float]]) -> Iterator[np.ndarray]:
    """16 kHz mono float32 samples from `start_s` on, placed at their presentation time: a
    gap in the timestamps (a recorded live stream drops segments) becomes silence and an
    overlap is dropped, as a player and `ffmpeg -ss` count time. So sample n is always at
    start_s + n / 16000 s of the player's timeline, in a straight pass and after a resume.
    What is not there to hear is added to `damaged` as (start, end) seconds: a packet that
    cannot be decoded (skipped, its time silence), a gap of a second or more in the
    timestamps, and the audio the stream declares past what could be read (a file cut short)."""
    import av
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as exc:
        raise AudioError(f"cannot open {path}: {exc}") from exc
    with container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioError(f"{path} has no audio stream")
        # time 0 is where the file starts, as players and ffmpeg count (an MPEG-TS recording's
        # first timestamp is often 1.4 s): the transcript's times are the clips' times
        origin = max(0.0, (container.start_time or 0) / 1_000_000)
        if start_s > 0:
            container.seek(int((start_s + origin) * 1_000_000), any_frame=False, backward=True)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        produced = 0   # samples yielded so far, from start_s
        for frame in _decoded(path, container, stream, start_s, origin, damaged):
            outs = [o.to_ndarray().reshape(-1) for o in resampler.resample(frame)]
            data = (np.concatenate(outs) if outs else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
            if frame.pts is not None and frame.time_base is not None:
                at = int(round((float(frame.pts * frame.time_base) - origin - start_s) * SAMPLE_RATE))
                if at > produced + _ALIGN_TOLERANCE:      # a gap: silence until the frame
                    if at - produced >= _MISSING_S * SAMPLE_RATE:
                        _damage(damaged, start_s + produced / SAMPLE_RATE, start_s + at / SAMPLE_RATE)
                    yield np.zeros(at - produced, np.float32)
                    produced = at
                elif at < produced - _ALIGN_TOLERANCE:    # before start_s, or an overlap
                    data = data[min(len(data), produced - at):]
            if len(data):
                produced += len(data)
                yield data
        for out in resampler.resample(None):
            data = out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
            produced += len(data)
            yield data
        end = start_s + produced / SAMPLE_RATE
        if stream.duration and stream.time_base:      # declared, e.g. in an MP4's header
            declared = float(((stream.start_time or 0) + stream.duration) * stream.time_base) - origin
            if declared - end > _MISSING_S:
                _damage(damaged, end, declared)
    if damaged:
        log.warning("%s: %.1f s of audio could not be decoded (%s); the rest is transcribed",
                    path, sum(b - a for a, b in damaged), ", ".join(f"{a:.1f}-{b:.1f}s" for a, b in damaged[:5]))


def _decoded(path: str, container: Any, stream: Any, start_s: float, origin: float,
             damaged: list[tuple[float, float]]) -> Iterator[Any]:
    """The stream's audio frames; a packet that cannot be decoded is skipped and its time added
    to `damaged`, a container broken from some point on ends the frames there. A file of which
    nothing can be decoded is an AudioError (from a resume point, the rest of it is damaged)."""
    import av
    packets = container.demux(stream)
    decoded, failure = False, None
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as exc:      # the container itself is broken from here
            failure = exc
            break
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            failure = exc
            if packet.pts is not None and packet.time_base is not None:
                at = float(packet.pts * packet.time_base) - origin
                _damage(damaged, max(start_s, at), at + float((packet.duration or 0) * packet.time_base))
            continue
        for frame in frames:
            if isinstance(frame, av.AudioFrame):     # (an audio stream decodes to audio frames)
                decoded = True
                yield frame
    if not decoded and failure is not None and start_s == 0:
        raise AudioError(f"cannot decode the audio of {path}: {failure}") from failure


_MISSING_S = 1.0    # a gap in the timestamps, or a stream's end short of its declared end, this long is missing


def _damage(damaged: list[tuple[float, float]], a: float, b: float) -> None:
    """Add a..b to the damaged spans, joining it to the last one when they are under 1 s apart."""
    b = max(a, b)
    if damaged and a - damaged[-1][1] < _MISSING_S:
        damaged[-1] = (damaged[-1][0], max(damaged[-1][1], b))
    else:
        damaged.append((a, b))


def windows(path: str, window_s: float, start_s: float = 0.0,
            damaged: list[tuple[float, float]] | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) of consecutive windows of about `window_s` seconds. The
    stretches that could not be decoded are added to `damaged` as they are met (a window's
    are all there when it is yielded; a file cut short adds its missing end last)."""
    size = int(window_s * SAMPLE_RATE)
    buf: list[np.ndarray] = []
    held, offset = 0, start_s
    for data in _frames(path, start_s, [] if damaged is None else damaged):
        buf.append(data)
        held += len(data)
        if held >= size:
            audio = np.concatenate(buf)
            cut = _quiet_cut(audio, size, min(_QUIET_SEARCH_S, window_s / 2))
            yield offset, audio[:cut]
            offset += cut / SAMPLE_RATE
            buf, held = [audio[cut:]], len(audio) - cut
    if held:
        yield offset, np.concatenate(buf)


def _quiet_cut(audio: np.ndarray, size: int, search_s: float) -> int:
    """The sample index of the quietest 0.1 s frame in the `search_s` before `size`."""
    lo = max(_FRAME, size - int(search_s * SAMPLE_RATE))
    n = (size - lo) // _FRAME
    if n <= 0:
        return size
    frames = audio[lo:lo + n * _FRAME].reshape(n, _FRAME)
    energy = (frames ** 2).mean(axis=1)
    return lo + int(np.argmin(energy)) * _FRAME + _FRAME // 2
