"""`bench finetune`: tune an extractor on the train split, judge it on the test split only.

Before and after are scored with the test images querying each other (leave-one-out within
the test split), so no image the classifier saw is ever a query or an answer. Writes
finetune.csv, finetune-categories.csv (the worst categories before, and how they moved) and
a side-by-side t-SNE of those categories.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.extractors.zoo import get_spec
from bench.images.caltech import image_root
from bench.images.features import extract_features, limit_per_class
from bench.images.finetune import FinetuneSettings, finetune
from bench.images.folders import load_image_set
from bench.images.plots import plot_tsne_pair
from bench.images.quality import neighbours, per_category, scores
from bench.results.rundir import append_table

log = logging.getLogger(__name__)
WORST = 10


def run_finetune(
    settings: FinetuneSettings, run_dir: Path, images: dict[str, Any]
) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    image_set = limit_per_class(
        load_image_set(image_root(images), split=images.get("split", "provided")),
        images.get("per_class"),
    )
    tuned_spec, record = finetune(image_set, settings)
    test_set = image_set.subset(~image_set.is_train)
    outcome: dict[str, Any] = {"record": record}
    tables = {}
    vectors = {}
    for stage, spec in (("before", get_spec(settings.model)), ("after", tuned_spec)):
        features = extract_features(test_set, spec)
        kept = features.image_set
        answers = neighbours(features.vectors, features.vectors, 10, leave_one_out=True)
        outcome[stage] = scores(answers, kept.labels, kept.labels)
        tables[stage] = per_category(answers, kept.labels, kept.labels, kept.classes)
        vectors[stage] = (features.vectors, kept.labels)
        append_table(
            run_dir / "finetune.csv",
            [
                {
                    "model": settings.model,
                    "stage": stage,
                    "weights": spec.weights,
                    "protocol": "test split, leave-one-out",
                    "queries": len(kept.paths),
                    **outcome[stage],
                    "train_s": record["train_s"],
                    "activation_cache_s": record["activation_cache_s"],
                    "settings": str(asdict(settings)),
                }
            ],
        )
    before = tables["before"].set_index("category")
    after = tables["after"].set_index("category")
    worst = before.head(WORST).index
    moved = [
        {
            "category": c,
            "p_at_1_before": before.loc[c, "p_at_1"],
            "p_at_1_after": after.loc[c, "p_at_1"],
            "p_at_5_before": before.loc[c, "p_at_5"],
            "p_at_5_after": after.loc[c, "p_at_5"],
            "queries": int(before.loc[c, "queries"]),
        }
        for c in worst
    ]
    append_table(run_dir / "finetune-categories.csv", moved)
    outcome["worst_categories"] = moved
    classes = list(test_set.classes)
    plot_tsne_pair(
        vectors,
        [classes.index(c) for c in worst],
        classes,
        run_dir / "plots" / "finetune-tsne-worst.png",
    )
    return outcome
