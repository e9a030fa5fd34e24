"""Reads for a member's /mydata export that belong to no feature service (yet)."""

from __future__ import annotations

from storage import member_data as st
from storage.db import Database
from storage.member_data import Acknowledgement

__all__ = ["Acknowledgement", "acknowledgements", "languages"]


async def acknowledgements(db: Database, member_id: int) -> list[Acknowledgement]:
    """The notices the member acknowledged, oldest first."""
    return await st.acknowledgements(db, member_id)


async def languages(db: Database, user_id: int) -> tuple[str | None, str | None]:
    """(the /language choice, the Telegram language last seen) of the account."""
    return await st.languages(db, user_id)
