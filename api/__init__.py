"""The HTTP layer of shopagent: shopper and merchant routes, sessions, limits, logs, widget.

``server.create_app`` assembles these modules; nothing here is imported by the agent, the
ingest pipeline or the domain (data flows one way: server -> agent -> tools -> shop).
"""
