"""Draw docs/digits.png: four test clips of ``digits`` (first, middle and last frame, and the log-mel).

Run from the repository root: ``python docs/digits_picture.py`` (builds the dataset once if needed).
The report's Data section draws the same picture for every dataset it evaluates.
"""

from avrobust.data import load_dataset
from avrobust.report.data import clips_panel


def main(path: str = "docs/digits.png", spec: str = "digits") -> None:
    clips_panel(path, load_dataset(spec, "test"), range(4))


if __name__ == "__main__":
    main()
