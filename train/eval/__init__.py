"""Evaluators: held-out metrics, grids and tables of trained models (`python -m train.eval.NAME`)."""


def model_labels(models) -> list[str]:
    """A distinct label per model path for tables and results: its folder name, or as many parent
    folders as it takes to tell two same-named folders apart (runs/old/facades-spade vs
    weights/facades-spade -> old/facades-spade, weights/facades-spade)."""
    from pathlib import PurePath

    parts = [PurePath(str(m)).parts or (str(m),) for m in models]
    depth = [1] * len(parts)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clashes = {label for label in labels if labels.count(label) > 1}
        grow = [i for i, label in enumerate(labels) if label in clashes and depth[i] < len(parts[i])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    if len(set(labels)) < len(labels):  # the very same path twice
        labels = [f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)]
    return labels
