"""Errors of the shop domain.

    ShopError                      a rule of the shop refused the request (shown to shoppers)
    ├── MoneyError                 bad amount or currency
    ├── NotFound                   unknown id for this merchant (product, cart, order, ...)
    ├── InvalidRequest             well-formed but against a rule (quantity 0, wrong currency)
    │   └── OutOfStock             not enough stock for the requested quantity
    ├── Conflict                   state changed under the caller (cart version, concurrent key)
    ├── IdempotencyMismatch        same Idempotency-Key, different request body
    └── NotConfirmed               a write needs an explicit shopper confirmation first
    ConfigError                    the operator must fix a setting (never shown to shoppers)

Who caused the error decides where it goes: ``ShopError`` travels back to the model or
shopper as a readable message; ``ConfigError`` stops the program with the fix to apply.
"""


class ShopError(Exception):
    """A domain rule refused the request; ``str(err)`` is safe to show."""

    code = "shop_error"


class MoneyError(ShopError, ValueError):
    code = "money_error"


class NotFound(ShopError, LookupError):
    code = "not_found"


class InvalidRequest(ShopError, ValueError):
    code = "invalid_request"


class OutOfStock(InvalidRequest):
    code = "out_of_stock"


class Conflict(ShopError):
    code = "conflict"


class IdempotencyMismatch(ShopError):
    code = "idempotency_mismatch"


class NotConfirmed(ShopError):
    code = "not_confirmed"


class ConfigError(Exception):
    """A setting is missing or wrong; the message says what to set."""
