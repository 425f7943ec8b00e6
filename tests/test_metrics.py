"""recall@k with ties, precision@k and mAP@k on hand-computed cases."""

import numpy as np
import pytest

from bench.errors import BenchError
from bench.metrics.labels import average_precision_at_k, precision_at_k, relevance
from bench.metrics.recall import query_recall, recall_per_query

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


def test_tie_epsilon_is_relative() -> None:
    train = np.array([[1.0], [100.0], [100.05], [100.2]], dtype=np.float32)
    true_ids = np.array([0, 1])
    # 100.05 is within 1e-3 relative of the 2nd true distance (100), 100.2 is not
    near = query_recall(np.array([0, 2]), true_ids, 100.0, QUERY, train, "euclidean")
    far = query_recall(np.array([0, 3]), true_ids, 100.0, QUERY, train, "euclidean")
    assert (near, far) == (1.0, 0.5)


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
