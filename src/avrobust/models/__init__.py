"""Models: audio front end, encoders, fusions, the classifier and the zoo."""

from avrobust.models.classifier import AVClassifier, AVOutput, ModelConfig, eval_mode, set_dropout
import avrobust.models.attention_fusion  # noqa: F401 - registers the attention fusions
from avrobust.registry import import_submodules

import_submodules("avrobust.models.backbones")  # the pretrained backbones register their encoders

from avrobust.models.model_zoo import ZOO, create_model, list_models, model_config  # noqa: E402

__all__ = ["AVClassifier", "AVOutput", "ModelConfig", "ZOO", "create_model", "eval_mode", "list_models",
           "model_config", "set_dropout"]
