"""Pretrained backbones in plain PyTorch, in the key layouts of the implementations whose weights they
load unchanged (:mod:`avrobust.weights` fetches and converts those weights): MobileNetV2 and
EfficientNet-Lite0 per frame (ImageNet), YAMNet (AudioSet) and CREPE over their own front ends,
differentiable from the 16 kHz waveform. Each module registers its encoder with the zoo's encoders."""
