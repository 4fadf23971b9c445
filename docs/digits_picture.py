"""Draw docs/digits.png: four test clips of ``digits`` (frames 1, 4, 8 and the log-mel of the audio).

Run from the repository root: ``python docs/digits_picture.py`` (builds the dataset once if needed).
"""

import torch

from avrobust.data import load_dataset
from avrobust.models.frontend import LogMel
from avrobust.plotting import pyplot, save_figure


def main(path: str = "docs/digits.png", spec: str = "digits") -> None:
    data = load_dataset(spec, "test")
    plt = pyplot()
    rows = [0, 1, 2, 3]
    fig, axes = plt.subplots(len(rows), 4, figsize=(9, 2.1 * len(rows)), gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
    front = LogMel(sample_rate=data.sample_rate)
    for r, i in enumerate(rows):
        for k, f in enumerate((0, data.frames // 2, data.frames - 1)):
            axes[r, k].imshow(data.video[i, f].permute(1, 2, 0).numpy(), interpolation="nearest")
            axes[r, k].set_axis_off()
            axes[r, k].set_title(f"frame {f + 1}", fontsize=8)
        with torch.no_grad():
            mel = front(data.audio[i][None], data.frames)[0, 0].T.numpy()
        axes[r, 3].imshow(mel, origin="lower", aspect="auto", cmap="magma")
        missing = [m for m in ("video", "audio") if bool(data.extras[f"{m}_missing"][i])]
        axes[r, 3].set_title(f"'{data.class_names[data.labels[i]]}' log-mel" +
                             (f" ({' and '.join(missing)} missing)" if missing else ""), fontsize=8)
        axes[r, 3].tick_params(labelsize=6)
    save_figure(fig, path)


if __name__ == "__main__":
    main()
