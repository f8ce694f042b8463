"""Customer-service tools of a store imported from τ²-bench retail (names and arguments as τ²'s).

A merchant whose settings say ``platform: tau2`` gets this tool set instead of the shopping
one (see :func:`agent.service.toolset_for`). The rules sit in :mod:`shop.post_purchase`;
the server adds what a model must not be trusted with: who the customer is
(:mod:`agent.tau2_identity`: profile and order tools reach only the authenticated
customer's data) and the customer's explicit yes to every write (:mod:`agent.tau2_writes`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, DivisionByZero, InvalidOperation
from typing import Annotated, Any

from pydantic import Field

from agent.context import ToolContext
from agent.tau2_identity import authenticate, authenticated, own_user_id
from agent.tau2_writes import (
    Id,
    Text,
    cancel_pending_order,
    exchange_delivered_order_items,
    modify_pending_order_address,
    modify_pending_order_items,
    modify_pending_order_payment,
    modify_user_address,
    return_delivered_order_items,
    transfer_to_human_agents,
)
from agent.toolkit import Tool, ToolError, tool
from shop import customers, post_purchase, product_types
from shop.catalog import get_merchant


def find_user_id_by_email(ctx: ToolContext, email: Text) -> dict[str, Any]:
    """Find the customer's user id by email, which authenticates them. Use this first.

    Args:
        email: the customer's email, e.g. something@example.com
    """
    with ctx.transaction() as session:
        return authenticate(ctx, session, lambda: customers.find_by_email(session, ctx.merchant_id, email))


def find_user_id_by_name_zip(
    ctx: ToolContext, first_name: Text, last_name: Text, zip: Text
) -> dict[str, Any]:
    """Find the customer's user id by first name, last name and zip code (when they cannot give their email).

    Args:
        first_name: e.g. John
        last_name: e.g. Doe
        zip: the zip code of their address, e.g. 12345
    """
    with ctx.transaction() as session:
        return authenticate(
            ctx,
            session,
            lambda: customers.find_by_name_zip(session, ctx.merchant_id, first_name, last_name, zip),
        )


def get_user_details(ctx: ToolContext, user_id: Id) -> dict[str, Any]:
    """The authenticated customer's profile: name, address, email, payment methods (gift-card balances) and order ids.

    Args:
        user_id: the user id, e.g. sara_doe_496
    """
    with ctx.transaction() as session:
        mine = own_user_id(ctx, session, user_id)
        customer = customers.get_customer(session, ctx.merchant_id, mine)
        return customers.customer_details(session, customer, get_merchant(session, ctx.merchant_id).currency)


def get_order_details(ctx: ToolContext, order_id: Id) -> dict[str, Any]:
    """Status and details of one of the authenticated customer's orders: items, address, fulfilments, payments.

    Args:
        order_id: e.g. #W0000000 (with the leading #)
    """
    with ctx.transaction() as session:
        user_id = customers.user_id_of(authenticated(ctx, session))
        return post_purchase.order_details(session, ctx.merchant_id, order_id, user_id)


def get_product_details(ctx: ToolContext, product_id: Id) -> dict[str, Any]:
    """A product type and all its variant items: item ids, options, availability and prices.

    Args:
        product_id: the product id, e.g. 6086499569 (not an item id)
    """
    with ctx.transaction() as session:
        return product_types.product_details(session, ctx.merchant_id, product_id)


def get_item_details(ctx: ToolContext, item_id: Id) -> dict[str, Any]:
    """One variant item: its options, availability, price and product id.

    Args:
        item_id: the item id, e.g. 1008292230 (not a product id)
    """
    with ctx.transaction() as session:
        return product_types.item_details(session, ctx.merchant_id, item_id)


def list_all_product_types(ctx: ToolContext) -> dict[str, Any]:
    """Names and product ids of every product type in the store."""
    with ctx.transaction() as session:
        return {"product_types": product_types.list_product_types(session, ctx.merchant_id)}


_OPERATORS: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _evaluate(node: ast.AST, source: str) -> Decimal:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, source)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        # The number as written, not as a binary float.
        return Decimal(ast.get_source_segment(source, node) or str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand, source)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, source), _evaluate(node.right, source))
    raise ToolError("only numbers, + - * / and parentheses are allowed")


def calculate(
    ctx: ToolContext, expression: Annotated[str, Field(min_length=1, max_length=300)]
) -> dict[str, Any]:
    """Calculate an arithmetic expression exactly, e.g. '(89.99 + 12.50) * 2'; the result is rounded to cents.

    Args:
        expression: numbers, + - * / and parentheses
    """
    if any(ch not in "0123456789+-*/(). " for ch in expression):
        raise ToolError("only numbers, + - * / and parentheses are allowed")
    try:
        value = _evaluate(ast.parse(expression.strip(), mode="eval"), expression.strip())
    except SyntaxError:
        raise ToolError(f"{expression!r} is not a valid arithmetic expression") from None
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        raise ToolError("division by zero") from None
    except RecursionError:
        raise ToolError("the expression is nested too deeply") from None
    return {"result": str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))}


TOOLS: list[Tool] = [
    tool(f)
    for f in (
        find_user_id_by_email,
        find_user_id_by_name_zip,
        get_user_details,
        get_order_details,
        get_product_details,
        get_item_details,
        list_all_product_types,
        calculate,
        cancel_pending_order,
        modify_pending_order_address,
        modify_pending_order_items,
        modify_pending_order_payment,
        modify_user_address,
        return_delivered_order_items,
        exchange_delivered_order_items,
        transfer_to_human_agents,
    )
]
TOOLS_BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}
PROMPT = "tau2_system.md"
"""The system prompt template of this tool set, in ``prompts/``."""
