"""Classification metrics on integer labels, in NumPy (eager, exact).

Used by the sentiment (accuracy, macro-F1) and sentence-pair (accuracy,
F1 of the positive class) recipes.
"""

import numpy as np


def _labels(y_true, y_pred):
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred differ in length: {y_true.size} vs "
            f"{y_pred.size}."
        )
    return y_true.astype("int64"), y_pred.astype("int64")


def accuracy(y_true, y_pred):
    """Fraction of predictions equal to the label (0.0 for no examples)."""
    y_true, y_pred = _labels(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def confusion_matrix(y_true, y_pred, num_classes):
    """`(num_classes, num_classes)` counts; row = true, column = predicted."""
    y_true, y_pred = _labels(y_true, y_pred)
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def precision_recall_f1(y_true, y_pred, num_classes):
    """Per-class precision, recall and F1, plus their macro averages.

    A class with no prediction (or no example) gets precision (or recall)
    0, and F1 0 when both are 0, as scikit-learn does with
    `zero_division=0`.

    Returns:
        A dict with `precision`, `recall`, `f1`, `support` (lists, one entry
        per class) and `macro_precision`, `macro_recall`, `macro_f1`.
    """
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    true_positive = np.diag(matrix).astype("float64")
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(
        true_positive, predicted, out=np.zeros(num_classes), where=predicted > 0
    )
    recall = np.divide(
        true_positive, support, out=np.zeros(num_classes), where=support > 0
    )
    total = precision + recall
    f1 = np.divide(
        2 * precision * recall,
        total,
        out=np.zeros(num_classes),
        where=total > 0,
    )
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
    }


def binary_f1(y_true, y_pred, positive=1):
    """F1 of the positive class (the MSRP convention)."""
    y_true, y_pred = _labels(y_true, y_pred)
    y_true = (y_true == positive).astype("int64")
    y_pred = (y_pred == positive).astype("int64")
    return precision_recall_f1(y_true, y_pred, 2)["f1"][1]
