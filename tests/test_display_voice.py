"""The voice: phrases, a queue that never overlaps, recalls, missing clips, the espeak-ng pack."""

from __future__ import annotations

import array
import shutil
import threading
import time
import wave
from pathlib import Path

import pytest

from display.voice import ALL_CLIPS, Announcer, VoicePack, phrase, window_words

from .conftest import wait_until


def write_clip(path: Path, ms: int = 20, rate: int = 22050, value: int = 1000) -> None:
    samples = array.array("h", [value] * (rate * ms // 1000))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    for i, name in enumerate(ALL_CLIPS):
        write_clip(tmp_path / f"{name}.wav", value=i + 1)  # each clip recognisable by value
    return tmp_path


class RecordingOutput:
    """Plays by sleeping for the clip's length; records what and when, and any overlap."""

    def __init__(self) -> None:
        self.played: list[bytes] = []
        self.spans: list[tuple[float, float]] = []
        self.busy = threading.Lock()
        self.overlaps = 0

    def play(self, pcm: bytes, rate: int) -> None:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            return
        try:
            start = time.monotonic()
            time.sleep(len(pcm) / 2 / rate)
            self.spans.append((start, time.monotonic()))
            self.played.append(pcm)
        finally:
            self.busy.release()


def words_of(pcm: bytes, pack: VoicePack) -> list[str]:
    """Decode which clips a buffer is made of (each clip is a run of its own value)."""
    by_value = {array.array("h", clip)[0]: name for name, clip in pack.clips.items()}
    samples = array.array("h")
    samples.frombytes(pcm)
    out: list[str] = []
    i = 0
    while i < len(samples):
        name = by_value[samples[i]]
        out.append(name)
        i += len(pack.clips[name]) // 2
    return out


def test_a_call_is_said_as_the_center_says_it() -> None:
    assert phrase("A012", 3) == ["chime", "qing", "A", "ling", "yi", "er", "hao", "dao", "san",
                                 "hao_chuangkou", "banli"]
    assert window_words(10) == ["shi"]
    assert window_words(12) == ["shi", "er"]
    assert window_words(20) == ["er", "shi"]
    assert window_words(105) == ["yi", "ling", "wu"]


def test_calls_are_spoken_in_order_twice_each_never_overlapping(pack_dir: Path) -> None:
    pack = VoicePack(pack_dir)
    output = RecordingOutput()
    spoken: list[tuple[str, int]] = []
    announcer = Announcer(pack, output, repeat=2,
                          on_spoken=lambda n, w: spoken.append((n, w))).start()
    try:
        announcer.announce("A012", 3)
        announcer.announce("B007", 12)
        announcer.announce("A012", 3)  # a recall: said again
        wait_until(lambda: len(spoken) >= 3, timeout=10)
    finally:
        announcer.stop()
    assert spoken == [("A012", 3), ("B007", 12), ("A012", 3)]
    assert output.overlaps == 0
    assert len(output.played) == 6
    assert all(b[0] >= a[1] for a, b in zip(output.spans, output.spans[1:], strict=False))
    assert words_of(output.played[0], pack) == phrase("A012", 3)
    assert output.played[0] == output.played[1]
    assert words_of(output.played[2], pack) == phrase("B007", 12)


def test_missing_clips_are_skipped_not_fatal(pack_dir: Path) -> None:
    (pack_dir / "chime.wav").unlink()
    (pack_dir / "A.wav").unlink()
    (pack_dir / "ling.wav").write_bytes(b"not a wav")
    pack = VoicePack(pack_dir)
    assert {"chime", "A", "ling"} <= pack.missing
    assert words_of(pack.assemble(phrase("A012", 3)), pack) == [
        "qing", "yi", "er", "hao", "dao", "san", "hao_chuangkou", "banli"]


def test_an_empty_pack_speaks_nothing_and_does_not_block(tmp_path: Path) -> None:
    output = RecordingOutput()
    announcer = Announcer(VoicePack(tmp_path), output).start()
    announcer.announce("A001", 1)
    announcer.stop()
    assert output.played == []


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_the_default_pack_builds_offline_with_espeak_ng(tmp_path: Path) -> None:
    from display.make_voice_pack import build

    written = build(tmp_path)
    pack = VoicePack(tmp_path)
    assert set(written) == set(ALL_CLIPS) and not pack.missing
    seconds = len(pack.assemble(phrase("A012", 3))) / 2 / pack.rate
    assert 1.5 < seconds < 8.0, seconds  # trimmed clips: a call takes a few seconds
