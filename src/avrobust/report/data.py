"""The report's Data section: which data each result comes from, and a few test clips of each dataset
as pictures (frames and log-mel), so a reader sees what the models were attacked on."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import torch

from avrobust.data import AVDataset, load_dataset
from avrobust.errors import AvrobustError
from avrobust.models.frontend import LogMel
from avrobust.results import Result, Section
from avrobust.tables import Table

#: clips drawn per dataset, and at most this many datasets drawn
CLIPS, MAX_DATASETS = 4, 4


def load_split(datasets: dict[tuple[str, str], AVDataset], spec: str, split: str) -> AVDataset:
    """``load_dataset(spec, split)``, loaded once per report (``datasets`` keeps what was loaded)."""
    if (spec, split) not in datasets:
        datasets[spec, split] = load_dataset(spec, split)
    return datasets[spec, split]


def clips_panel(path: str | Path, dataset: AVDataset, indices: Sequence[int]) -> Path:
    """A few clips of a dataset at a glance, one row each: the first, middle and last frame and the
    log-mel of the audio (:class:`~avrobust.models.frontend.LogMel` at the dataset's sample rate), with
    the label and, where the dataset records them, which modality is missing."""
    from avrobust.plotting import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(len(indices), 4, figsize=(9, 2.1 * len(indices)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
    front = LogMel(sample_rate=dataset.sample_rate)
    frames = dataset.video.shape[1]
    for row, i in zip(axes, indices):
        for ax, f in zip(row, dict.fromkeys((0, frames // 2, frames - 1))):
            ax.imshow(dataset.batch(torch.tensor([i]))[0].video[0, f].permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_title(f"frame {f + 1}", fontsize=8)
        for ax in row[:3]:
            ax.set_axis_off()
        with torch.no_grad():
            mel = front(dataset.audio[i][None].float(), frames)[0, 0].T.numpy()
        missing = [m for m in ("video", "audio") if f"{m}_missing" in dataset.extras and bool(dataset.extras[f"{m}_missing"][i])]
        row[3].imshow(mel, origin="lower", aspect="auto", cmap="magma")
        row[3].set_title(f"'{dataset.class_names[dataset.labels[i]]}' log-mel" +
                         (f" ({' and '.join(missing)} missing)" if missing else ""), fontsize=8)
        row[3].tick_params(labelsize=6)
    return save_figure(fig, path)


def data_section(found: Sequence[tuple[Path, Result]], figures: Path,
                 datasets: dict[tuple[str, str], AVDataset]) -> Section:
    """Which data each result comes from, with a picture of the first clips of every evaluated split."""
    seen: dict[tuple[str, str], list[str]] = {}
    for p, r in found:
        spec, split = r.data_source() or ("", "test")
        seen.setdefault((spec or "(given in memory)", split), []).append(r.source_label(p))
    rows = [[f"`{spec}`", split, ", ".join(sorted(set(files)))] for (spec, split), files in seen.items()]
    sec = Section("Data", ["Dataset specs rebuild the data exactly (`avrobust datasets` lists them)."],
                  [Table(["data", "split", "results"], rows)], group="Data")
    drawn = [key for key in seen if key[1] in ("train", "val", "test") and not key[0].startswith("(")]
    for k, (spec, split) in enumerate(drawn[:MAX_DATASETS]):
        try:
            dataset = load_split(datasets, spec, split)
        except AvrobustError as e:  # moved or not buildable here: say so, keep the report
            sec.notes.append(f"`{spec}` ({split}) cannot be loaded here, so it is not drawn: {e}")
            continue
        name = re.sub(r"[^A-Za-z0-9]+", "-", f"{spec} {split}").strip("-")[:60]  # the picture's alt text
        sec.figures.append(clips_panel(figures / f"data-{k}-{name}.png", dataset, range(min(CLIPS, len(dataset)))))
    if sec.figures:
        sec.paragraphs.append(f"The pictures show the first {CLIPS} clips of each evaluated split, in the table's order: "
                              "first, middle and last frame, and the log-mel of the audio.")
    return sec
