"""Fine-tune EfficientNet-Lite on a labelled image set, on the CPU, in minutes.

The early blocks stay frozen, so their output is computed once per training image and
cached; only the last `trainable_blocks` blocks, the head convolution and a new linear
classifier are trained on those cached activations (no augmentation: the activations are
fixed). The tuned weights are cached by a fingerprint of (base model, images, settings) and
the model becomes the zoo entry `<model>` with `weights: finetuned:<fingerprint>`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.extractors.models import efficientnet_lite, finetuned_weights_path
from bench.extractors.preprocess import load_and_preprocess
from bench.extractors.zoo import ExtractorSpec, get_spec
from bench.images.folders import ImageSet
from bench.storage import atomic_path, cache_path, fingerprint, write_bytes_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneSettings:
    model: str = "efficientnet-lite0"
    trainable_blocks: int = 3
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


def _network(module: torch.nn.Module) -> Any:
    """The EfficientNet inside Pooled(LiteFeatures(model))."""
    return module.features.model


def frozen_forward(net: Any, x: torch.Tensor, trainable_blocks: int) -> torch.Tensor:
    x = net._swish(net._bn0(net._conv_stem(x)))
    for block in net._blocks[: len(net._blocks) - trainable_blocks]:
        x = block(x)
    return x


def tail_forward(net: Any, x: torch.Tensor, trainable_blocks: int) -> torch.Tensor:
    for block in net._blocks[len(net._blocks) - trainable_blocks :]:
        x = block(x)
    return net._swish(net._bn1(net._conv_head(x))).mean(dim=(2, 3))


def cached_activations(
    net: Any, files: list[Path], spec: ExtractorSpec, trainable_blocks: int, batch: int = 32
) -> tuple[torch.Tensor, np.ndarray]:
    """Frozen-part outputs of every decodable training image, and which images those are."""
    outputs, kept = [], []
    with torch.inference_mode():
        for start in range(0, len(files), batch):
            tensors = [
                (i, load_and_preprocess(f, spec))
                for i, f in enumerate(files[start : start + batch], start)
            ]
            good = [(i, t) for i, t in tensors if t is not None]
            if good:
                stacked = torch.from_numpy(np.stack([t for _, t in good]))
                outputs.append(frozen_forward(net, stacked, trainable_blocks))
                kept.extend(i for i, _ in good)
    return torch.cat(outputs), np.asarray(kept)


def finetune(image_set: ImageSet, settings: FinetuneSettings) -> tuple[ExtractorSpec, dict]:
    """Train (or load from the cache) and return the tuned zoo spec and the training record."""
    key = fingerprint(
        "finetune",
        asdict(settings),
        str(image_set.root),
        [p for p, t in zip(image_set.paths, image_set.is_train, strict=True) if t],
    )
    weights_path = finetuned_weights_path(key)
    record_path = cache_path("models", f"finetuned-{key}", ".json")
    tuned = get_spec(settings.model, weights=f"finetuned:{key}")
    if weights_path.exists() and record_path.exists():
        return tuned, json.loads(record_path.read_text())
    torch.manual_seed(settings.seed)
    base = get_spec(settings.model)
    module = efficientnet_lite(base)
    net = _network(module)
    train = image_set.is_train
    files = [image_set.root / p for p in np.asarray(image_set.paths)[train]]
    start = time.perf_counter()
    activations, kept = cached_activations(net, files, base, settings.trainable_blocks)
    cache_s = time.perf_counter() - start
    labels = torch.from_numpy(image_set.labels[train][kept])
    for parameter in net.parameters():
        parameter.requires_grad = False
    tail = [*net._blocks[len(net._blocks) - settings.trainable_blocks :], net._conv_head, net._bn1]
    for layer in tail:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    classifier = torch.nn.Linear(net._conv_head.out_channels, len(image_set.classes))
    params = [p for layer in tail for p in layer.parameters()] + list(classifier.parameters())
    optimiser = torch.optim.AdamW(
        params, lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    losses = []
    net.train()
    train_start = time.perf_counter()
    for _ in range(settings.epochs):
        order = torch.randperm(len(labels))
        total = 0.0
        for i in range(0, len(order), settings.batch_size):
            batch = order[i : i + settings.batch_size]
            logits = classifier(
                torch.nn.functional.dropout(
                    tail_forward(net, activations[batch], settings.trainable_blocks), 0.2
                )
            )
            loss = torch.nn.functional.cross_entropy(logits, labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss) * len(batch)
        losses.append(total / len(labels))
        log.info("fine-tune epoch %d: loss %.4f", len(losses), losses[-1])
    net.eval()
    record = {
        "settings": asdict(settings),
        "fingerprint": key,
        "train_images": len(labels),
        "activation_cache_s": cache_s,
        "train_s": time.perf_counter() - train_start,
        "epoch_losses": losses,
        "torch": torch.__version__,
    }
    with atomic_path(weights_path) as tmp:
        torch.save(module.state_dict(), tmp)
    write_bytes_atomic(record_path, json.dumps(record, indent=1).encode())
    return tuned, record
