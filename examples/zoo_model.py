"""A model from avrobust's zoo through the Python API, evaluated on batches from a PyTorch DataLoader
(any iterable of (video, audio, label) batches works the same way).

Run from the repository root: ``python examples/zoo_model.py``.
"""

import sys

import torch
from torch.utils.data import DataLoader, TensorDataset

import avrobust


def main(data: str = "synth", out: str = "runs/examples/zoo", epochs: int = 4, limit: int = 200):
    torch.manual_seed(0)
    test = avrobust.as_dataset(data, "test")
    net = avrobust.create_model("RsV", test.num_classes, test.sample_rate)  # resnet-sum-vgg
    avrobust.train(net, data, out, method="standard", epochs=epochs, overwrite=True)
    loader = DataLoader(TensorDataset(test.video[:limit], test.audio[:limit], test.labels[:limit]), batch_size=64)
    result = avrobust.evaluate(net, loader, attacks=["pgd", "tma"])
    print(f"clean {result['clean_accuracy']:.3f}, PGD {result['attacks']['pgd']['robust_accuracy']:.3f}, "
          f"TMA {result['attacks']['tma']['robust_accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main(*sys.argv[1:2])
