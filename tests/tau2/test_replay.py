"""Every reference action of the 114 τ² retail tasks goes through our operations.

A few reference trajectories contain calls that τ²-bench's own tools refuse too (a wrong
email tried first, a mistyped order id, an exchange the gift card cannot cover): those, and
only those, are refused here, with the same reason.
"""

from evals.tau2.replay import WRITE_ACTIONS, replay

# (task, action index) -> what τ²'s tools answer as well
REFUSED_BY_TAU2_TOO = {
    ("2", 1): "unknown product id",  # '6086499569' is neither a product nor an item
    ("3", 1): "unknown product id",
    ("4", 1): "unknown product id",
    ("35", 0): "no customer matches",  # wrong email first
    ("37", 0): "no customer matches",
    ("38", 0): "no customer matches",
    ("39", 0): "no customer matches",  # wrong zip first
    ("46", 1): "no order with that id",  # '#9502126': the W is missing
    ("46", 2): "no order with that id",
    ("47", 1): "no order with that id",
    ("47", 2): "no order with that id",
    ("54", 0): "no customer matches",
    ("55", 0): "no customer matches",
    ("64", 6): "only 'delivered' orders can be exchanged",  # the order is pending: modified next
    ("67", 0): "no customer matches",
    ("67", 1): "no customer matches",
    ("68", 0): "no customer matches",
    ("105", 0): "has 17.00 USD, not enough for 21.10 USD",  # τ²: "Insufficient gift card balance"
}


def test_all_reference_actions_apply_except_those_tau2_refuses(tau2_store, tasks):
    assert len(tasks) == 114
    refused = {}
    writes = 0
    for task in tasks.values():
        writes += sum(1 for name, _ in task.actions if name in WRITE_ACTIONS)
        with tau2_store.fresh() as db:
            for r in replay(db, tau2_store.merchant_id, task.actions):
                refused[(task.id, r.index)] = r.error
    assert writes == 176
    assert set(refused) == set(REFUSED_BY_TAU2_TOO)
    for key, error in refused.items():
        assert REFUSED_BY_TAU2_TOO[key] in error, (key, error)
