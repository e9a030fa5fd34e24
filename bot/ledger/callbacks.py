"""The ledger's buttons (data strings unchanged, so buttons already in chats keep working).

    lg:s:<period code>   statistics of a period      lg:c:<period code>   its charts
    lg:y:<period code>   period summary PDF          lg:cp:<s|y>          type a custom period
    lg:a:<page>:<action prefix or ->:<actor id or ->  audit log page
    lg:h                 home menu: this month's figures      lg:r   home menu: my record
"""

from __future__ import annotations

from bot.callbacks import Button

PREFIX = "lg"
STATS = Button(PREFIX, "s", period=str)
CHARTS = Button(PREFIX, "c", period=str)
SUMMARY = Button(PREFIX, "y", period=str)
CUSTOM_PERIOD = Button(PREFIX, "cp", mode=("s", "y"))
AUDIT_PAGE = Button(PREFIX, "a", page=int, prefix=str, actor=str)
HOME_STATS = Button(PREFIX, "h")
HOME_RECORD = Button(PREFIX, "r")
NO_FILTER = "-"  # an audit page without an action prefix or actor
