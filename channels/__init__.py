"""Messaging channels and merchant integrations.

Shoppers write from Telegram, WhatsApp or Messenger; each platform is one module behind the
seam in :mod:`channels.base` and talks to the same agent, sessions and cart rules as the web
widget. Merchants' systems hear about orders and handoffs through signed webhooks delivered
from an outbox (:mod:`channels.outbox`, :mod:`channels.webhooks`) and push order updates back
(:mod:`channels.ordersync`). Data flows one way: ``api`` -> ``channels`` -> ``agent``/``shop``.
"""
