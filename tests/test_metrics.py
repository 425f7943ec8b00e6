"""recall@k with ties, precision@k and mAP@k on hand-computed cases."""

import numpy as np
import pytest

from bench.errors import BenchError
from bench.metrics.labels import average_precision_at_k, precision_at_k, relevance
from bench.metrics.recall import (
    KNN,
    RELATIVE,
    TIES,
    query_recall,
    query_recalls,
    recall_per_query,
    recalls_per_query,
)

# Points on a line: distances from the query at 0 are exactly 1, 2, 2, 3, 4.
TRAIN = np.array([[1.0], [2.0], [-2.0], [3.0], [4.0]], dtype=np.float32)
QUERY = np.array([0.0], dtype=np.float32)
TRUE_IDS = np.array([0, 1])  # the true 2 nearest; id 2 ties with id 1 at distance 2


def recall(answer: list[int]) -> float:
    return query_recall(np.array(answer), TRUE_IDS, 2.0, QUERY, TRAIN, "euclidean")


def test_exact_answer_scores_one() -> None:
    assert recall([0, 1]) == 1.0


def test_tied_neighbour_counts_as_hit() -> None:
    assert recall([0, 2]) == 1.0  # id 2 is as near as the 2nd true neighbour


def test_farther_neighbour_is_a_miss() -> None:
    assert recall([0, 3]) == 0.5
    assert recall([4, 3]) == 0.0


def test_padding_is_a_miss_and_order_does_not_matter() -> None:
    assert recall([1, -1]) == 0.5
    assert recall([1, 0]) == 1.0


def test_duplicate_ids_are_an_error_not_extra_recall() -> None:
    with pytest.raises(BenchError, match="duplicate ids \\[0\\]"):
        recall([0, 0])


def test_out_of_range_id_is_an_error() -> None:
    with pytest.raises(BenchError, match="below the train size 5"):
        recall([0, 9])


def test_tie_thresholds_by_hand() -> None:
    assert KNN.threshold(357.0) == 357.001  # ann-benchmarks' knn_threshold: d_k + 1e-3
    assert RELATIVE.threshold(357.0) == pytest.approx(357.357)
    assert KNN.threshold(2e-4) == pytest.approx(1.2e-3)
    assert RELATIVE.threshold(2e-4) == pytest.approx(2.002e-4)
    # inner product distances are negative: the tolerance still points away from the query
    assert RELATIVE.threshold(-5.0) == pytest.approx(-4.995)
    assert KNN.threshold(-5.0) == pytest.approx(-4.999)


# A large distance scale (a 10th-neighbour distance of about 357, as on 128-d clustered data):
# from the query at 0, ids 0..4 lie at 1, 357 (the true 2nd), 357.0005, 357.2 and 357.5.
LARGE = np.array([[1.0], [357.0], [357.0005], [357.2], [357.5]], dtype=np.float32)


def both(answer: list[int], train: np.ndarray, kth: float) -> list[float]:
    return query_recalls(np.array(answer), TRUE_IDS, kth, QUERY, train, "euclidean")


def test_large_scale_recall_is_absolute_recall_rel_is_relative() -> None:
    assert [tie.name for tie in TIES] == ["recall", "recall_rel"]
    # 357.0005 is a float tie (within 1e-3): a hit for both
    assert both([0, 2], LARGE, 357.0) == [1.0, 1.0]
    # 357.2 is 0.2 farther: not a tie for ann-benchmarks' k-nn recall, but within 0.1 %
    assert both([0, 3], LARGE, 357.0) == [0.5, 1.0]
    assert both([3, 2], LARGE, 357.0) == [0.5, 1.0]
    # 357.5 is beyond both tolerances
    assert both([0, 4], LARGE, 357.0) == [0.5, 0.5]
    assert query_recall(np.array([0, 3]), TRUE_IDS, 357.0, QUERY, LARGE, "euclidean") == 0.5


def test_tiny_scale_absolute_tolerance_is_the_wider_one() -> None:
    # distances 1e-4, 2e-4 (the true 2nd), 2.0001e-4, 1e-3 and 2e-3 (angular-like scales)
    train = np.array([[1e-4], [2e-4], [2.0001e-4], [1e-3], [2e-3]], dtype=np.float32)
    kth = float(train[1, 0])
    assert both([0, 2], train, kth) == [1.0, 1.0]  # within 0.1 % and within 1e-3
    assert both([0, 3], train, kth) == [1.0, 0.5]  # 8e-4 farther: under 1e-3, over 0.1 %
    assert both([0, 4], train, kth) == [0.5, 0.5]


def test_recalls_per_query_fills_every_column_from_one_pass() -> None:
    answers = np.array([[0, 3], [-1, 2], [0, 1]])
    args = (np.tile(TRUE_IDS, (3, 1)), np.tile([1.0, 357.0], (3, 1)), np.tile(QUERY, (3, 1)))
    found = recalls_per_query(answers, *args, LARGE, "euclidean", 2)
    assert found["recall"].tolist() == [0.5, 0.5, 1.0]  # padding -1 is a miss
    assert found["recall_rel"].tolist() == [1.0, 0.5, 1.0]
    relative = recall_per_query(answers, *args, LARGE, "euclidean", 2, RELATIVE)
    assert relative.tolist() == found["recall_rel"].tolist()


def test_recall_per_query_checks_ground_truth_depth() -> None:
    answers = np.array([[0, 1]])
    with pytest.raises(BenchError, match="at least k=3"):
        recall_per_query(
            answers,
            TRUE_IDS[None, :],
            np.array([[1.0, 2.0]]),
            QUERY[None, :],
            TRAIN,
            "euclidean",
            3,
        )


def test_precision_and_average_precision_by_hand() -> None:
    train_labels = np.array([0, 0, 1, 1, 0])
    query_labels = np.array([0, 1])
    answers = np.array([[0, 2, 4], [2, -1, 0]])
    relevant = relevance(answers, train_labels, query_labels)
    assert relevant.tolist() == [[True, False, True], [True, False, False]]
    assert precision_at_k(relevant, 3).tolist() == pytest.approx([2 / 3, 1 / 3])
    # query 0: relevant at ranks 1 and 3 -> (1/1 + 2/3) / 2; query 1: rank 1 -> 1
    assert average_precision_at_k(relevant, 3).tolist() == pytest.approx([(1 + 2 / 3) / 2, 1.0])
