"""Spoken words from espeak-ng, the text-to-speech engine that the ``espeakng-loader`` wheel ships
(the library, its data and about 100 voice variants; GPL-3), driven through ctypes.

espeak-ng keeps synthesis state from one utterance to the next, so the same utterance can come out
a few samples different after different predecessors; in a fresh process the same sequence of
utterances is byte-for-byte the same. :func:`speak` therefore synthesises a whole list in a fresh
process, which makes the datasets built on it reproducible from their seed.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from avrobust.errors import ConfigError

RATE = 22050  # Hz, espeak-ng's output rate
#: English accents of espeak-ng; each combines with every voice variant
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
INSTALL = ("the text-to-speech engine is missing: pip install espeakng-loader (GPL-3; or pip install 'avrobust[tts]', "
           "which 'make install' does)")


@dataclass(frozen=True)
class Utterance:
    """A word to say: ``voice`` as ``accent+variant``, espeak-ng pitch (0-100) and rate (words per minute)."""

    text: str
    voice: str
    pitch: int
    rate: int
    seed: int = 0


def _loader():  # noqa: ANN202 - the optional module
    try:
        import espeakng_loader
    except ImportError:
        raise ConfigError(INSTALL) from None
    return espeakng_loader


def voices() -> list[str]:
    """Every ``accent+variant`` voice, sorted (variants as the installed wheel ships them)."""
    variants = sorted(p.name for p in (Path(_loader().get_data_path()) / "voices" / "!v").iterdir() if p.is_file())
    return [f"{a}+{v}" for a in ACCENTS for v in variants]


def speak(utterances: Sequence[Utterance]) -> list[np.ndarray]:
    """Synthesise every utterance, in order, in a fresh Python process (``python -m avrobust.data.speech``,
    which never re-runs the caller's script); int16 waveforms at :data:`RATE` Hz."""
    _loader()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.npz"
        job = json.dumps([asdict(u) for u in utterances])
        run = subprocess.run([sys.executable, "-m", "avrobust.data.speech", str(out)], input=job, text=True,
                             capture_output=True)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no message"])[-1]
            raise ConfigError(f"espeak-ng failed in its process ({last}); reinstall espeakng-loader")
        with np.load(out) as saved:
            return [saved[f"u{i}"] for i in range(len(utterances))]


def _speak_here(utterances: list[Utterance]) -> list[np.ndarray]:
    loader = _loader()
    lib = ctypes.CDLL(loader.get_library_path())
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def collect(wav, n, _events):  # noqa: ANN001
        if wav and n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = callback_type(collect)
    if lib.espeak_Initialize(2, 0, str(loader.get_data_path()).encode(), 0x8000) != RATE:  # 2: synchronous
        raise ConfigError("espeak-ng did not start at 22050 Hz; reinstall espeakng-loader")
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    out = []
    for u in utterances:
        if lib.espeak_SetVoiceByName(u.voice.encode()) != 0:
            raise ConfigError(f"espeak-ng has no voice {u.voice!r}")
        lib.espeak_SetParameter(1, int(u.rate), 0)  # espeakRATE
        lib.espeak_SetParameter(3, int(u.pitch), 0)  # espeakPITCH
        lib.espeak_ng_SetRandSeed(u.seed)
        chunks.clear()
        text = u.text.encode() + b"\0"
        lib.espeak_Synth(text, len(text), 0, 1, 0, 0, None, None)
        lib.espeak_Synchronize()
        out.append(np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16))
    lib.espeak_Terminate()
    return out


if __name__ == "__main__":  # the fresh process of speak(): utterances as JSON on stdin, an .npz out
    _words = _speak_here([Utterance(**u) for u in json.loads(sys.stdin.read())])
    np.savez(sys.argv[1], **{f"u{i}": w for i, w in enumerate(_words)})
