"""The τ² rules, checked by hand on the state that tasks' reference actions leave behind.

Every expected figure below was worked out from db.json by hand (prices in cents), not by
running the code under test.
"""

import json

import pytest

from evals.tau2.replay import WRITE_ACTIONS, replay
from evals.tau2.state import snapshot
from shop import post_purchase
from shop.customers import Address
from shop.errors import InvalidRequest, NotFound

M = "tau2-retail"


def after(store, task):
    with store.fresh() as db:
        replay(db, M, [(n, a) for n, a in task.actions if n in WRITE_ACTIONS])
        return snapshot(db, M)


def test_task_0_exchange_records_items_sorted_and_the_price_difference(tau2_store, tasks):
    order = after(tau2_store, tasks["0"])["orders"]["#W2378156"]
    assert order["status"] == "exchange requested"
    assert order["exchange_items"] == ["1151293680", "4983901480"]
    assert order["exchange_new_items"] == ["7706410293", "7747408585"]
    assert order["exchange_payment_method_id"] == "credit_card_9513926"
    # (269.16 - 272.33) + (249.01 - 262.47) = -16.63: owed back to the customer.
    assert order["exchange_price_difference"] == -1663
    # Nothing is charged or shipped until the old items come back.
    assert [i["item_id"] for i in order["items"]][2:4] == ["1151293680", "4983901480"]
    assert len(order["payment_history"]) == 1


def test_task_5_return_requested_to_the_original_paypal(tau2_store, tasks):
    order = after(tau2_store, tasks["5"])["orders"]["#W6390527"]
    assert order["status"] == "return requested"
    assert order["return_items"] == ["8538875209"]
    assert order["return_payment_method_id"] == "paypal_7644869"
    assert len(order["payment_history"]) == 1


def test_task_9_exchange_for_a_dearer_lamp(tau2_store, tasks):
    order = after(tau2_store, tasks["9"])["orders"]["#W6390527"]
    assert order["status"] == "exchange requested"
    assert order["exchange_new_items"] == ["7624783998"]
    assert order["exchange_price_difference"] == 15417 - 13794


def test_task_16_cancellations_refund_paypal_later_and_leave_the_gift_card(tau2_store, tasks):
    state = after(tau2_store, tasks["16"])
    first, second = state["orders"]["#W5199551"], state["orders"]["#W8665881"]
    for order, amount in ((first, 313110), (second, 477775)):
        assert order["status"] == "cancelled" and order["cancel_reason"] == "no longer needed"
        assert order["payment_history"][-1] == {
            "transaction_type": "refund",
            "amount": amount,
            "payment_method_id": "paypal_5364164",
        }
    user = state["users"][state["orders"]["#W5199551"]["user_id"]]
    assert user["payment_methods"]["gift_card_1675628"]["balance"] == 9900
    assert state["orders"]["#W9389413"]["status"] == "return requested"


def test_task_20_modified_items_take_new_ids_prices_and_the_gift_card_pays(tau2_store, tasks):
    state = after(tau2_store, tasks["20"])
    order = state["orders"]["#W9911714"]
    assert order["status"] == "pending (item modified)"
    assert [(i["item_id"], i["price"]) for i in order["items"]] == [
        ("4579334072", 5485),
        ("1151293680", 27233),
        ("4107812777", 15533),
        ("2882812427", 26111),
    ]
    # 0.81 + 37.20 + 8.28 + 25.67 = 71.96 charged to the gift card at once: 86.00 -> 14.04.
    assert order["payment_history"][-1] == {
        "transaction_type": "payment",
        "amount": 7196,
        "payment_method_id": "gift_card_4332117",
    }
    user = state["users"][order["user_id"]]
    assert user["payment_methods"]["gift_card_4332117"]["balance"] == 1404
    new_options = state["products"]["1656367028"]["variants"]["1151293680"]["options"]
    assert order["items"][1]["options"] == new_options


def test_task_40_payment_moves_to_another_card(tau2_store, tasks):
    order = after(tau2_store, tasks["40"])["orders"]["#W4923227"]
    assert order["status"] == "pending"
    assert order["payment_history"] == [
        {"transaction_type": "payment", "amount": 32118, "payment_method_id": "credit_card_8554680"},
        {"transaction_type": "payment", "amount": 32118, "payment_method_id": "credit_card_8897086"},
        {"transaction_type": "refund", "amount": 32118, "payment_method_id": "credit_card_8554680"},
    ]


def test_task_43_default_address_changes_but_orders_keep_theirs(tau2_store, tasks, tau2_dir):
    before = json.loads((tau2_dir / "db.json").read_text())
    state = after(tau2_store, tasks["43"])
    user = state["users"]["lucas_santos_6600"]
    assert user["address"] == {
        "address1": "943 Maple Drive",
        "address2": "Suite 356",
        "city": "Chicago",
        "state": "IL",
        "country": "USA",
        "zip": "60621",
    }
    assert user["address"] != before["users"]["lucas_santos_6600"]["address"]
    assert all(state["orders"][o]["address"] == before["orders"][o]["address"] for o in user["orders"])


def test_task_44_cheaper_variant_refunds_the_gift_card_at_once(tau2_store, tasks):
    state = after(tau2_store, tasks["44"])
    order = state["orders"]["#W9300146"]
    # 135.24 - 153.23 = -17.99 back to the card: 17.00 -> 34.99.
    assert order["payment_history"][-1] == {
        "transaction_type": "refund",
        "amount": 1799,
        "payment_method_id": "gift_card_7245904",
    }
    assert state["users"][order["user_id"]]["payment_methods"]["gift_card_7245904"]["balance"] == 3499
    assert order["items"][0]["item_id"] == "5320792178" and order["items"][0]["price"] == 13524


def test_task_54_gift_card_cancellations_are_refunded_immediately(tau2_store, tasks):
    state = after(tau2_store, tasks["54"])
    user = state["users"][state["orders"]["#W4836353"]["user_id"]]
    # 73.00 + 1429.81 + 1030.40
    assert user["payment_methods"]["gift_card_3491931"]["balance"] == 253321
    returned = state["orders"]["#W4597054"]
    assert returned["status"] == "return requested"
    assert returned["return_items"] == sorted(["5669664287", "4900990404", "9862136885", "6777246137"])
    assert returned["return_payment_method_id"] == "gift_card_3491931"


def test_task_59_cancel_one_order_and_move_another(tau2_store, tasks):
    state = after(tau2_store, tasks["59"])
    assert state["orders"]["#W8268610"]["status"] == "cancelled"
    assert state["orders"]["#W8268610"]["payment_history"][-1]["amount"] == 16428
    moved = state["orders"]["#W2702727"]
    assert moved["status"] == "pending"
    assert moved["address"] == {
        "address1": "1234 Elm St",
        "address2": "",
        "city": "Springfield",
        "state": "IL",
        "country": "USA",
        "zip": "62701",
    }


def test_task_61_an_unavailable_item_can_be_swapped_for_an_available_one(tau2_store, tasks):
    state = after(tau2_store, tasks["61"])
    order = state["orders"]["#W5061109"]
    assert [i["item_id"] for i in order["items"]] == ["6254646215", "8555936349", "8323284863", "3254583681"]
    assert order["payment_history"][-1] == {
        "transaction_type": "refund",
        "amount": 25667 - 22649,
        "payment_method_id": "paypal_3742148",
    }
    assert state["users"]["chen_johnson_4204"]["payment_methods"]["gift_card_3406421"]["balance"] == 7900


def test_task_64_exchange_of_a_pending_order_is_refused_and_the_modification_applies(tau2_store, tasks):
    order = after(tau2_store, tasks["64"])["orders"]["#W7464385"]
    assert order["status"] == "pending (item modified)"
    assert "exchange_items" not in order
    assert order["items"][0]["item_id"] == "6700049080" and order["items"][0]["price"] == 46675
    assert order["payment_history"][-1]["amount"] == 50228 - 46675


def test_task_105_exchange_the_gift_card_cannot_cover_changes_nothing(tau2_store, tasks):
    state = after(tau2_store, tasks["105"])
    order = state["orders"]["#W4316152"]
    assert order["status"] == "delivered" and "exchange_items" not in order
    assert state["users"][order["user_id"]]["payment_methods"]["gift_card_7245904"]["balance"] == 1700


# -- refusals, on the imported store ---------------------------------------------------------


def test_cancel_needs_a_pending_order_and_an_allowed_reason(fresh):
    with fresh.session() as s, pytest.raises(InvalidRequest, match="only 'pending' orders"):
        post_purchase.cancel_pending_order(s, M, "#W2611340", "no longer needed")  # processed
    with fresh.session() as s, pytest.raises(InvalidRequest, match="no longer needed"):
        post_purchase.cancel_pending_order(s, M, "#W5199551", "too expensive")


def test_items_can_be_modified_once_then_only_the_address_or_payment(fresh):
    args = (["3694871183"], ["8555936349"], "paypal_3742148")
    with fresh.session() as s:
        post_purchase.modify_pending_order_items(s, M, "#W5061109", *args)
    with fresh.session() as s, pytest.raises(InvalidRequest, match="once"):
        post_purchase.modify_pending_order_items(
            s, M, "#W5061109", ["8555936349"], ["3694871183"], "paypal_3742148"
        )
    with fresh.session() as s, pytest.raises(InvalidRequest, match="only 'pending' orders can be cancelled"):
        post_purchase.cancel_pending_order(s, M, "#W5061109", "ordered by mistake")
    address = Address("1 Oak St", "", "Austin", "TX", "USA", "73301")
    with fresh.session() as s:
        order = post_purchase.modify_pending_order_address(s, M, "#W5061109", address)
        assert order.shipping_address["address1"] == "1 Oak St"


def test_swaps_must_stay_within_the_product_and_be_available(fresh):
    order = "#W6390527"  # delivered: 8384507844 (desk lamp), 1615379700, 8538875209
    with fresh.session() as s, pytest.raises(InvalidRequest, match="not a variant of the same product"):
        post_purchase.exchange_delivered_order_items(
            s, M, order, ["8384507844"], ["1151293680"], "paypal_7644869"
        )
    with fresh.session() as s, pytest.raises(InvalidRequest, match="not available"):
        # 3694871183 belongs to another product; pick an unavailable lamp variant instead
        unavailable = next(
            sku
            for sku, v in snapshot(fresh, M)["products"]["6817146515"]["variants"].items()
            if not v["available"] and sku != "8384507844"
        )
        post_purchase.exchange_delivered_order_items(
            s, M, order, ["8384507844"], [unavailable], "paypal_7644869"
        )
    with fresh.session() as s, pytest.raises(InvalidRequest, match="same as the old one"):
        post_purchase.exchange_delivered_order_items(
            s, M, order, ["8384507844"], ["8384507844"], "paypal_7644869"
        )
    with fresh.session() as s, pytest.raises(InvalidRequest, match="holds 1 of item 8384507844, not 2"):
        post_purchase.return_delivered_order_items(
            s, M, order, ["8384507844", "8384507844"], "paypal_7644869"
        )


def test_refunds_go_to_the_original_method_or_a_gift_card(fresh):
    # #W5490111 was paid with credit_card_3124723; the customer also has paypal_9497703.
    with fresh.session() as s, pytest.raises(InvalidRequest, match="original payment method"):
        post_purchase.return_delivered_order_items(s, M, "#W5490111", ["1421289881"], "paypal_9497703")
    with fresh.session() as s, pytest.raises(NotFound, match="not one of this customer's"):
        post_purchase.return_delivered_order_items(s, M, "#W5490111", ["1421289881"], "gift_card_7711863")


def test_another_customers_order_reads_as_unknown(fresh):
    with fresh.session() as s:
        with pytest.raises(NotFound) as other:
            post_purchase.get_order(s, M, "#W5490111", user_id="lucas_santos_6600")
        with pytest.raises(NotFound) as unknown:
            post_purchase.get_order(s, M, "#W0000000", user_id="lucas_santos_6600")
    assert str(other.value) == str(unknown.value)


def test_cancel_after_a_payment_change_refunds_only_what_is_still_paid(fresh):
    # #W4923227: 321.18 paid with credit_card_8554680; gift_card_8245350 holds 60.00 (too little),
    # so move it to the other card, then cancel: only credit_card_8897086 is owed a refund.
    with fresh.session() as s, pytest.raises(InvalidRequest, match="not enough for 321.18 USD"):
        post_purchase.modify_pending_order_payment(s, M, "#W4923227", "gift_card_8245350")
    with fresh.session() as s:
        post_purchase.modify_pending_order_payment(s, M, "#W4923227", "credit_card_8897086")
    with fresh.session() as s:
        order = post_purchase.cancel_pending_order(s, M, "#W4923227", "ordered by mistake")
        refunds = [p for p in post_purchase.payment_history(order) if p["transaction_type"] == "refund"]
    assert refunds == [
        {"transaction_type": "refund", "amount_minor": 32118, "payment_method_id": "credit_card_8554680"},
        {"transaction_type": "refund", "amount_minor": 32118, "payment_method_id": "credit_card_8897086"},
    ]
