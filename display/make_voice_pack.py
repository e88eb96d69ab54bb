"""Build the default voice pack offline with espeak-ng:  python -m display.make_voice_pack DIR

Chinese words use espeak-ng's `cmn-latn-pinyin` voice with pinyin input (plain `cmn` reads 号
wrongly); letters use the English voice; the chime is synthesised. Every clip is trimmed of
silence and written as 22,050 Hz mono 16-bit `NAME.wav`. To use recordings instead, replace
any file with a clip of the same name and format (see display/voice.py for the names).
"""

from __future__ import annotations

import array
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from .voice import DIGITS, LETTERS

RATE = 22050
PINYIN = {
    "qing": "qing3", "hao": "hao4", "dao": "dao4", "hao_chuangkou": "hao4 chuang1 kou3",
    "banli": "ban4 li3", "shi": "shi2",
    "ling": "ling2", "yi": "yi1", "er": "er4", "san": "san1", "si": "si4", "wu": "wu3",
    "liu": "liu4", "qi": "qi1", "ba": "ba1", "jiu": "jiu3",
}


def _read(path: Path) -> array.array[int]:
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"espeak-ng wrote {path} in an unexpected format")
        samples = array.array("h")
        samples.frombytes(w.readframes(w.getnframes()))
        return samples


def _write(path: Path, samples: array.array[int]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())


def trim(samples: array.array[int], threshold: int = 500, keep_ms: int = 30) -> array.array[int]:
    """Cut leading and trailing silence (keeping a few ms), which nearly halves a call."""
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    if not loud:
        return samples
    keep = RATE * keep_ms // 1000
    return samples[max(0, loud[0] - keep):min(len(samples), loud[-1] + keep)]


def chime() -> array.array[int]:
    """Ding-dong: two decaying tones."""
    out = array.array("h")
    for freq, ms in ((880.0, 350), (659.3, 550)):
        n = RATE * ms // 1000
        for i in range(n):
            env = math.exp(-4.0 * i / n)
            out.append(int(12000 * env * math.sin(2 * math.pi * freq * i / RATE)))
    return out


def speak(text: str, voice: str, out: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True,
                   capture_output=True)


def build(folder: Path) -> list[str]:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed: sudo apt-get install espeak-ng")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        for name, text in PINYIN.items():
            speak(text, "cmn-latn-pinyin", raw)
            _write(folder / f"{name}.wav", trim(_read(raw)))
            written.append(name)
        for letter in LETTERS:
            speak(letter, "en", raw)
            _write(folder / f"{letter}.wav", trim(_read(raw)))
            written.append(letter)
    _write(folder / "chime.wav", chime())
    written.append("chime")
    assert set(DIGITS) <= set(written)
    return written


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m display.make_voice_pack DIR")
    clips = build(Path(sys.argv[1]))
    print(f"wrote {len(clips)} clips to {sys.argv[1]}")


if __name__ == "__main__":
    main()
