"""``synth``: the embedded synthetic audio-visual dataset (:mod:`avrobust.data.synthetic`), generated
from the seed in a second, so never cached."""

from __future__ import annotations

from avrobust.data import synthetic
from avrobust.data.datasets import AVDataset
from avrobust.data.recipe import Recipe, register_dataset


@register_dataset("synth")
class Synth(Recipe):
    """The embedded synthetic set: shapes moving and tones sounding in the same segments."""

    Options = synthetic.SynthConfig

    def build(self, options: synthetic.SynthConfig, split: str) -> AVDataset:
        t = synthetic.to_tensors(synthetic.generate(options, split))
        extras = {k: t[k] for k in ("event", "visual_hidden", "audio_hidden")}
        return AVDataset(t["video"], t["audio"], t["labels"], synthetic.class_names(options.classes),
                         options.fps, options.sample_rate, split=split, extras=extras)
