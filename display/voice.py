"""Voice calls assembled from a pack of short WAV clips, queued, never overlapping.

"请 A012 号 到 3 号窗口 办理" is: chime, qing, A, ling, yi, er, hao, dao, san, hao_chuangkou,
banli — each a file `NAME.wav` in the pack (mono, 16-bit, one sample rate for all). A pack is
built offline by `python -m display.make_voice_pack DIR` (espeak-ng, voice cmn-latn-pinyin);
replace any clip with a recording of the same name. Missing clips are skipped with a warning.
"""

from __future__ import annotations

import logging
import queue
import threading
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

DIGITS = ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu")
WORDS = ("chime", "qing", "hao", "dao", "hao_chuangkou", "banli", "shi")
LETTERS = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))
ALL_CLIPS = WORDS + DIGITS + LETTERS


def window_words(n: int) -> list[str]:
    """A window number as spoken: 3 → san, 10 → shi, 12 → shi er, 20 → er shi, 105 → yi ling wu."""
    if 10 <= n <= 99:
        tens, ones = divmod(n, 10)
        words = ([] if tens == 1 else [DIGITS[tens]]) + ["shi"]
        return words + ([DIGITS[ones]] if ones else [])
    return [DIGITS[int(d)] for d in str(n)]


def phrase(number: str, window: int) -> list[str]:
    """The clips of one call: 请 A012 号 到 3 号窗口 办理."""
    words = ["chime", "qing"]
    for ch in number.upper():
        if ch.isdigit():
            words.append(DIGITS[int(ch)])
        elif ch in LETTERS:
            words.append(ch)
    return [*words, "hao", "dao", *window_words(window), "hao_chuangkou", "banli"]


class Output(Protocol):
    def play(self, pcm: bytes, rate: int) -> None:
        """Play 16-bit mono PCM; return when it has been heard."""


class NullOutput:
    """No audio device: calls are only shown (the display keeps running)."""

    def play(self, pcm: bytes, rate: int) -> None:
        return None


class PygameOutput:
    """pygame.mixer, opened at the pack's rate with a short buffer."""

    def __init__(self, rate: int) -> None:
        import pygame

        pygame.mixer.init(frequency=rate, size=-16, channels=1, buffer=512)
        self._mixer = pygame.mixer
        self._pygame = pygame

    def play(self, pcm: bytes, rate: int) -> None:
        sound = self._mixer.Sound(buffer=pcm)
        channel = sound.play()
        seconds = len(pcm) / 2 / rate
        self._pygame.time.wait(int(seconds * 1000) + 20)
        if channel is not None:
            while channel.get_busy():
                self._pygame.time.wait(10)


class VoicePack:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.clips: dict[str, bytes] = {}
        self.rate = 22050
        self.missing: set[str] = set()
        rates = set()
        for name in ALL_CLIPS:
            path = folder / f"{name}.wav"
            if not path.is_file():
                self.missing.add(name)
                continue
            try:
                with wave.open(str(path), "rb") as w:
                    if w.getnchannels() != 1 or w.getsampwidth() != 2:
                        raise ValueError("need mono 16-bit")
                    rates.add(w.getframerate())
                    self.clips[name] = w.readframes(w.getnframes())
            except (wave.Error, ValueError, OSError) as exc:
                log.warning("voice clip %s unusable: %s", path, exc)
                self.missing.add(name)
        if len(rates) > 1:
            log.warning("voice clips have different sample rates %s: using %s", rates, max(rates))
        if rates:
            self.rate = max(rates)
        if self.missing and self.clips:
            log.warning("voice pack %s lacks %d clips: %s", folder, len(self.missing),
                        ", ".join(sorted(self.missing)[:10]))

    def assemble(self, words: list[str]) -> bytes:
        return b"".join(self.clips[w] for w in words if w in self.clips)


class Announcer:
    """One thread speaks the queued calls, one after another."""

    def __init__(self, pack: VoicePack, output: Output, repeat: int = 2,
                 on_spoken: Callable[[str, int], None] | None = None) -> None:
        self.pack = pack
        self.output = output
        self.repeat = max(1, repeat)
        self.on_spoken = on_spoken
        self._queue: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="qms-voice", daemon=True)

    def start(self) -> Announcer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def announce(self, number: str, window: int) -> None:
        """Queue a call (a recall is announced again the same way)."""
        self._queue.put((number, window))

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            number, window = item
            pcm = self.pack.assemble(phrase(number, window))
            for _ in range(self.repeat):
                if pcm:
                    try:
                        self.output.play(pcm, self.pack.rate)
                    except Exception:  # a sound device that vanished must not stop calls
                        log.exception("playing a call failed")
            if self.on_spoken is not None:
                self.on_spoken(number, window)
