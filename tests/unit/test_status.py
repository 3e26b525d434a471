import itertools

from core.status import FINAL, STAGE_LABELS, TRANSITIONS, Status, can_transition


def test_every_status_has_a_row_and_a_label():
    assert set(TRANSITIONS) == set(Status)
    assert set(STAGE_LABELS) == set(Status)


def test_final_statuses_go_nowhere():
    for status in FINAL:
        assert TRANSITIONS[status] == frozenset()


def test_every_non_final_status_can_reach_a_final_one():
    for start in Status:
        seen, todo = {start}, [start]
        while todo:
            for nxt in TRANSITIONS[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen & FINAL, start


def test_happy_path_is_allowed_and_shortcuts_are_not():
    path = [Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.FETCHING, Status.PROCESSING, Status.SUCCEEDED]
    assert all(can_transition(a, b) for a, b in itertools.pairwise(path))
    assert not can_transition(Status.QUEUED, Status.SUCCEEDED)
    assert not can_transition(Status.RUNNING, Status.CANCELED)
    assert not can_transition(Status.SUCCEEDED, Status.FAILED)
