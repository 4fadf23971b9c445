"""Help texts generated from the registries and the modules' own lists, so every choice a command's
``--help`` names is one that is registered (``tests/cli/test_help.py`` checks every command)."""

from __future__ import annotations

from avrobust.analysis import ANALYSES
from avrobust.attacks import ATTACKS
from avrobust.attacks.threat import NORMS
from avrobust.certification import CERTIFIERS
from avrobust.corruptions import CORRUPTIONS, corruption_names
from avrobust.data import DATASETS, SPLITS
from avrobust.defences import METHODS
from avrobust.device import PRECISIONS
from avrobust.defences.optim import OPTIMIZERS, SCHEDULES
from avrobust.evaluation.model_card import THREATS
from avrobust.evaluation.suites import SUITES, protocols, suite_named
from avrobust.models import ZOO
from avrobust.results import RESULT_KINDS
from avrobust.types import MODALITIES


def listing(names: object) -> str:
    """``a, b or c``."""
    items = list(names)  # type: ignore[call-overload]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


DATA = (f"Dataset spec NAME or NAME:key=value,...; NAME is one of {DATASETS.choices()} (their options: "
        "'avrobust datasets').")
MODEL = f"Zoo model name or alias: {ZOO.choices()} (see 'avrobust models')."
ATTACK_NAMES = ATTACKS.choices()
ATTACKS_HELP = (f"Attacks: names 'fgsm,pgd' or one spec per flag 'pgd:steps=50,restarts=3' (repeat the flag); "
                f"registered: {ATTACKS.choices()} (options: 'avrobust attacks').")
ATTACK = f"One attack name or spec, e.g. tma:lambda1=2; registered: {ATTACKS.choices()}."
METHOD = (f"Training method spec NAME or NAME:key=value,...; NAME is one of {METHODS.choices()}; adversarial: "
          f"{listing(n for n in METHODS if METHODS.get(n).adversarial)} (options: 'avrobust methods').")
SUITE = (f"A named attack suite run before --attack (each attack on every clip), with the gradient-masking checks: "
         f"{SUITES.choices()} ({'; '.join(f'{n}: ' + (SUITES.get(n).__doc__ or '').strip() for n in SUITES)}).")
ANALYSIS = f"The analysis: {ANALYSES.choices()} (see 'avrobust analyses')."
VALUES = ("The swept list, comma-separated: " + "; ".join(f"{ANALYSES.get(n).values} for {n}"  # type: ignore[attr-defined]
                                                          for n in ANALYSES if ANALYSES.get(n).values) + ".")  # type: ignore[attr-defined]
SPLIT = f"{listing(SPLITS)}."
OPTIMIZER = f"{listing(OPTIMIZERS)}."
SCHEDULE = f"Learning-rate schedule: {listing(SCHEDULES)}."
NORM = f"{listing(NORMS)} (default linf)."
MODALITY = f"Attacked modalities: {listing(MODALITIES)} or {','.join(MODALITIES)}."
REPORT_PATHS = (f"Result JSON files or directories holding them (run dirs, demo, analyses); kinds: "
                f"{listing(n for n in RESULT_KINDS if RESULT_KINDS.get(n).reported)}.")
PREPARE = (f"A video dataset spec: {listing(n for n in DATASETS if DATASETS.get(n).decoded)} with root=DIR and its "
           "annotations (see 'avrobust datasets'); decoding options frames, size, sample_rate, seconds.")
DEVICE = ("Where models run: cpu, cuda, cuda:N, mps or auto (default auto: $AVROBUST_DEVICE, else CUDA when "
          "available, then MPS, then the CPU).")
PRECISION = (f"Forward passes in {listing(PRECISIONS)} (default fp32; bf16/fp16 under autocast, perturbations "
             "and budgets stay float32).")
PROTOCOL = ("The benchmark's protocol: " + "; ".join(f"{n}: {suite_named(n).summary()}" for n in protocols())
            + ". Cards say which they used.")
THREAT_MODELS = (f"Threat models to run (repeat the flag; default all): {listing(THREATS)} (L-inf at the default "
                 "budgets, L2 at the budgets of 'avrobust.evaluation.model_card.l2_budgets'); none: no attacks "
                 "(with --corruptions, --failures or --certify).")
CORRUPTIONS_HELP = (f"Adds accuracy under natural corruptions at severities 1-5, on both streams and each alone: all "
                    f"({len(corruption_names())}: {listing(corruption_names())}), quick (one per family: "
                    f"{listing(corruption_names('quick'))}) or comma-separated names (parameters: 'avrobust corruptions').")
FAILURES = f"Adds accuracy under failing modalities: {listing(corruption_names(failures=True))}."
CERTIFY = (f"Adds certified accuracy: a certifier spec NAME:key=value,... (repeat the flag); NAME is one of "
           f"{CERTIFIERS.choices()} (e.g. smoothing:sigma_video=0.25,n=1000 or mmcert:k_video=2,k_audio=2).")
NOISE_DIR = ("A folder of real recordings for the sound beds of the scene and weather corruptions (NAME*.wav or "
             "NAME/*.wav; default: the synthesised beds).")
CORRUPTION_NAMES = CORRUPTIONS.choices()


def _stage_kinds() -> str:
    from avrobust.studies import STAGES

    return listing(STAGES)


STUDY_FILE = (f"A study file (TOML; the project's are in benchmarks/studies/); its stages are of the kinds "
              f"{_stage_kinds()}.")


def _executors() -> str:
    from avrobust.studies import EXECUTORS

    return listing(EXECUTORS)


EXECUTOR = (f"How the study's units run: inline (this process, one after another; the default unless the file's "
            f"\\[executor] table says otherwise) or as jobs on {_executors()}: every unit "
            f"of the study (one model trained, or one result file) a job; finished units are never recomputed.")
