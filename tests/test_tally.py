"""Counting: motions, polls, and ranked choice against worked examples with known answers."""

from __future__ import annotations

import random

from forum.services.tally import (
    count_motion,
    count_poll,
    instant_runoff,
    quorum_needed,
    single_transferable_vote,
)


def test_motion_thresholds_and_abstentions() -> None:
    votes = ["agree"] * 5 + ["disagree"] * 3 + ["abstain"] * 10
    # Abstentions do not count toward the majority: 5 against 3 carries a simple majority...
    assert count_motion(votes, "simple").outcome == "carried"
    # ... but 5 of 8 is short of two thirds.
    assert count_motion(votes, "two_thirds").outcome == "not_carried"
    assert count_motion(["agree"] * 2 + ["disagree"], "two_thirds").outcome == "carried"
    # One block stops a consensus, and counts against under a majority rule.
    blocked = ["agree"] * 9 + ["block"]
    assert count_motion(blocked, "consensus").outcome == "not_carried"
    assert count_motion(blocked, "simple").outcome == "carried"
    assert count_motion(["agree", "block"], "simple").outcome == "not_carried"
    assert count_motion([], "simple").outcome == "not_carried"
    assert count_motion(votes, "simple").counts == {
        "agree": 5,
        "abstain": 10,
        "disagree": 3,
        "block": 0,
    }


def test_quorum_is_the_stated_share_rounded_up() -> None:
    assert quorum_needed(10, 50) == 5
    assert quorum_needed(11, 50) == 6
    assert quorum_needed(3, 0) == 0
    assert quorum_needed(7, 100) == 7


def test_poll_plurality_majority_and_ties() -> None:
    counted = count_poll([[0], [1], [1], [2]], 3, "plurality")
    assert counted.outcome == "carried" and counted.winners == [1]
    assert counted.counts == {"0": 1, "1": 2, "2": 1}
    # 2 of 4 ballots is not more than half.
    assert count_poll([[0], [1], [1], [2]], 3, "simple").outcome == "not_carried"
    tie = count_poll([[0], [1]], 2, "plurality")
    assert tie.outcome == "not_carried" and "tie" in tie.note
    # Several options per ballot (a time poll): each counts once per ballot.
    several = count_poll([[0, 1], [1, 1], [1, 2]], 3, "plurality")
    assert several.counts == {"0": 1, "1": 3, "2": 1} and several.winners == [1]


def _ballots(spec: list[tuple[int, list[int]]]) -> list[list[int]]:
    return [list(ranking) for number, ranking in spec for _ in range(number)]


def test_instant_runoff_tennessee_capital() -> None:
    """The worked example of Wikipedia's "Instant-runoff voting" article: Memphis leads the
    first count, Chattanooga then Nashville are excluded, and Knoxville wins 58 to 42."""
    memphis, nashville, chattanooga, knoxville = range(4)
    ballots = _ballots(
        [
            (42, [memphis, nashville, chattanooga, knoxville]),
            (26, [nashville, chattanooga, knoxville, memphis]),
            (15, [chattanooga, knoxville, nashville, memphis]),
            (17, [knoxville, chattanooga, nashville, memphis]),
        ]
    )
    counted = instant_runoff(ballots, 4)
    assert counted.winners == [knoxville]
    assert [r["excluded"] for r in counted.rounds] == [[chattanooga], [nashville], []]
    assert counted.rounds[0]["votes"] == {"0": 42, "1": 26, "2": 15, "3": 17}
    assert counted.rounds[-1]["votes"] == {"0": 42, "3": 58}


def test_instant_runoff_majority_at_once_and_exhausted_ballots() -> None:
    counted = instant_runoff([[0], [0], [1]], 2)
    assert counted.winners == [0] and len(counted.rounds) == 1
    # Exhausted ballots leave the count: 2 of the 3 still counted is a majority.
    counted = instant_runoff([[0], [0, 1], [1], [2], [2]], 3)
    assert counted.rounds[0]["excluded"] == [1]
    assert counted.rounds[1]["exhausted"] == 1
    assert counted.winners == [0] or counted.winners == [2]


def test_instant_runoff_tie_broken_by_earlier_round_then_lot() -> None:
    # A and B tie at 2 in the last round; nothing earlier separates them: a lot, reproducibly.
    first = instant_runoff([[0], [0], [1], [1]], 2, seed=7)
    again = instant_runoff([[0], [0], [1], [1]], 2, seed=7)
    assert first.rounds[0]["by_lot"] and first.winners == again.winners


def test_stv_food_election() -> None:
    """The worked example of Wikipedia's "Single transferable vote" article (20 voters, 3 seats,
    Droop quota 6): Chocolate is elected with 12; its surplus of 6 moves on at half value (4 to
    Strawberries, 2 to Hamburgers); Pears are excluded and Oranges reach 6; Hamburgers are
    excluded; Strawberries fill the last seat."""
    oranges, pears, chocolate, strawberries, hamburgers = range(5)
    ballots = _ballots(
        [
            (4, [oranges]),
            (2, [pears, oranges]),
            (8, [chocolate, strawberries]),
            (4, [chocolate, hamburgers]),
            (1, [strawberries]),
            (1, [hamburgers]),
        ]
    )
    counted = single_transferable_vote(ballots, 5, 3)
    assert counted.quota == 6
    assert counted.winners == [chocolate, oranges, strawberries]
    assert counted.rounds[0]["elected"] == [chocolate]
    after_surplus = counted.rounds[1]["votes"]
    assert after_surplus[str(strawberries)] == 5 and after_surplus[str(hamburgers)] == 3
    assert counted.rounds[2]["excluded"] == [pears] and counted.rounds[2]["elected"] == [oranges]


def test_stv_transfer_values_truncate_to_five_decimals() -> None:
    # 3 seats, 7 ballots: quota 2. Option 0 holds 6: surplus 4, transfer value 4/6 = 0.66666
    # (truncated), so each of the 6 ballots moves on carrying 0.66666.
    ballots = _ballots([(6, [0, 1]), (1, [2])])
    counted = single_transferable_vote(ballots, 4, 3)
    assert counted.quota == 2
    assert counted.rounds[1]["votes"]["1"] == 3.99996
    assert counted.winners[:2] == [0, 1]


def test_ranked_choice_with_ten_thousand_ballots_stays_consistent() -> None:
    rng = random.Random(1)
    ballots = [rng.sample(range(8), rng.randint(1, 8)) for _ in range(10_000)]
    one = instant_runoff(ballots, 8)
    assert len(one.winners) == 1
    three = single_transferable_vote(ballots, 8, 3)
    assert len(three.winners) == 3 and len(set(three.winners)) == 3
    for stage in three.rounds:
        total = sum(stage["votes"].values()) + stage["exhausted"]
        assert 9_999 <= total <= 10_000  # only truncation is lost
