import json

import pytest
from sqlalchemy import select

from agent.context import ToolContext
from agent.state import ConversationState
from agent.tau2_tools import TOOLS_BY_NAME
from shop.models import Order
from shop.payments import ManualProvider
from shop.settings import Settings

M = "tau2-retail"
ADDRESS = {
    "address1": "1 Oak St",
    "address2": "",
    "city": "Austin",
    "state": "TX",
    "country": "USA",
    "zip": "73301",
}


class NoRetrieval:
    def search_products(self, *_args, **_kwargs):
        return []

    def search_policies(self, *_args, **_kwargs):
        return []


@pytest.fixture
def ctx(fresh, tmp_path):
    return ToolContext(
        Settings(home=tmp_path), fresh, NoRetrieval(), ManualProvider(), M, "s" * 20, ConversationState()
    )


def run(ctx, name, **arguments):
    outcome = TOOLS_BY_NAME[name].run(ctx, arguments)
    return outcome.result if outcome.error is None else {"error": outcome.error}


def status(ctx, order_id):
    with ctx.db.read_session() as s:
        return s.scalar(select(Order.status).where(Order.order_id == order_id))


def test_every_tau2_tool_name_is_offered():
    assert set(TOOLS_BY_NAME) == {
        "find_user_id_by_email", "find_user_id_by_name_zip", "get_user_details", "get_order_details",
        "get_product_details", "get_item_details", "list_all_product_types", "calculate", "cancel_pending_order",
        "modify_pending_order_address", "modify_pending_order_items", "modify_pending_order_payment",
        "modify_user_address", "return_delivered_order_items", "exchange_delivered_order_items",
        "transfer_to_human_agents",
    }  # fmt: skip


def test_customer_data_needs_authentication_and_stays_with_that_customer(ctx):
    assert "not authenticated" in run(ctx, "get_order_details", order_id="#W5490111")["error"]
    assert run(ctx, "find_user_id_by_name_zip", first_name="Lucas", last_name="Santos", zip="60621") == {
        "error": "no customer matches these details"
    }
    assert run(ctx, "find_user_id_by_email", email=" Yusuf.Rossi7301@Example.com") == {
        "user_id": "yusuf_rossi_9620"
    }
    # The same customer again, by name and zip (any case): still this conversation's customer.
    user = run(ctx, "find_user_id_by_name_zip", first_name="yusuf", last_name="ROSSI", zip="19122")
    assert user == {"user_id": "yusuf_rossi_9620"}
    assert run(ctx, "get_order_details", order_id="#W2378156")["status"] == "delivered"
    # Another customer's order reads exactly like an unknown one.
    other = run(ctx, "get_order_details", order_id="#W5490111")["error"]
    assert other == run(ctx, "get_order_details", order_id="#W0000000")["error"]
    assert (
        "only access the authenticated" in run(ctx, "get_user_details", user_id="lucas_santos_6600")["error"]
    )
    details = run(ctx, "get_user_details", user_id="yusuf_rossi_9620")
    assert "#W2378156" in details["orders"]
    # One customer per conversation.
    second = run(ctx, "find_user_id_by_name_zip", first_name="Mei", last_name="Kovacs", zip="28236")
    assert "one customer per conversation" in second["error"]


def test_failed_lookups_are_capped(ctx):
    for _ in range(5):
        assert "error" in run(ctx, "find_user_id_by_email", email="nobody@example.com")
    assert "too many failed lookups" in run(ctx, "find_user_id_by_email", email="nobody@example.com")["error"]


def test_a_write_runs_only_after_the_recorded_yes_to_the_identical_call(ctx):
    run(ctx, "find_user_id_by_name_zip", first_name="Mei", last_name="Kovacs", zip="28236")
    args = {"order_id": "#W6390527", "item_ids": ["8538875209"], "payment_method_id": "paypal_7644869"}
    first = run(ctx, "return_delivered_order_items", **args)
    assert first["status"] == "needs_confirmation"
    assert "Refund 45.13 USD to paypal_7644869" in first["change"]
    assert status(ctx, "#W6390527") == "delivered"
    # Asking again in the same turn is no yes.
    assert run(ctx, "return_delivered_order_items", **args)["status"] == "needs_confirmation"
    assert ctx.state.pending is not None and ctx.state.pending.summary == first["change"]
    ctx.state.pending.confirmed = True  # what the service records on the shopper's explicit yes
    other = dict(args, payment_method_id="gift_card_0000000")
    assert "error" in run(ctx, "return_delivered_order_items", **other)
    assert status(ctx, "#W6390527") == "delivered"
    # A confirmed call with different arguments is a new change, not the confirmed one.
    changed = run(ctx, "exchange_delivered_order_items", order_id="#W6390527", item_ids=["8384507844"],
                  new_item_ids=["7624783998"], payment_method_id="paypal_7644869")  # fmt: skip
    assert changed["status"] == "needs_confirmation" and "16.23 USD" in changed["change"]
    run(ctx, "return_delivered_order_items", **args)
    ctx.state.pending.confirmed = True
    done = run(ctx, "return_delivered_order_items", **args)
    assert done["status"] == "done" and done["result"]["return_items"] == ["8538875209"]
    assert status(ctx, "#W6390527") == "return requested" and ctx.state.pending is None


def test_rules_are_checked_before_asking(ctx):
    run(ctx, "find_user_id_by_name_zip", first_name="Yusuf", last_name="Rossi", zip="19122")
    refused = run(ctx, "cancel_pending_order", order_id="#W2378156", reason="no longer needed")
    assert "only 'pending' orders" in refused["error"] and ctx.state.pending is None
    invalid = run(ctx, "cancel_pending_order", order_id="#W2378156", reason="too slow")
    assert "reason" in invalid["error"]


def test_default_address_of_the_authenticated_customer_only(ctx):
    run(ctx, "find_user_id_by_name_zip", first_name="Yusuf", last_name="Rossi", zip="19122")
    assert (
        "only change the authenticated"
        in run(ctx, "modify_user_address", user_id="lucas_santos_6600", **ADDRESS)["error"]
    )
    asked = run(ctx, "modify_user_address", user_id="yusuf_rossi_9620", **ADDRESS)
    assert (
        asked["change"]
        == "Change the default address of yusuf_rossi_9620 to: 1 Oak St, Austin, TX 73301, USA."
    )
    ctx.state.pending.confirmed = True
    assert (
        run(ctx, "modify_user_address", user_id="yusuf_rossi_9620", **ADDRESS)["result"]["address"] == ADDRESS
    )


def test_catalog_tools_need_no_login(ctx):
    types = run(ctx, "list_all_product_types")["product_types"]
    assert len(types) == 50 and types["T-Shirt"] == "9523456873"
    product = run(ctx, "get_product_details", product_id="9523456873")
    assert product["variants"]["9612497925"] == {
        "item_id": "9612497925",
        "options": {"color": "blue", "size": "M", "material": "cotton", "style": "crew neck"},
        "available": True,
        "price": "50.88",
    }
    assert "not item ids" not in json.dumps(product)
    assert "item ids are not product ids" in run(ctx, "get_product_details", product_id="9612497925")["error"]
    assert run(ctx, "get_item_details", item_id="9612497925")["product_id"] == "9523456873"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("(89.99 + 12.50) * 2", "204.98"), ("10 / 3", "3.33"), ("-2.5 + 1", "-1.50"), ("0.1 + 0.2", "0.30")],
)
def test_calculate_is_exact(ctx, expression, expected):
    assert run(ctx, "calculate", expression=expression) == {"result": expected}


@pytest.mark.parametrize("expression", ["2**10", "__import__('os')", "1/0", "(", "9" * 400])
def test_calculate_refuses_anything_else(ctx, expression):
    assert "error" in run(ctx, "calculate", expression=expression)


def test_transfer_tells_the_agent_the_exact_message(ctx):
    result = run(ctx, "transfer_to_human_agents", summary="wants a refund to another card")
    assert result["next"].endswith("YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON.")
