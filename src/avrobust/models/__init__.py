"""Models: audio front end, encoders, fusions, the classifier and the zoo."""

from avrobust.models.classifier import AVClassifier, AVOutput, ModelConfig, eval_mode, set_dropout
from avrobust.models.zoo import ZOO, create_model, list_models, model_config

__all__ = ["AVClassifier", "AVOutput", "ModelConfig", "ZOO", "create_model", "eval_mode", "list_models",
           "model_config", "set_dropout"]
