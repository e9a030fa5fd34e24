"""The notices part of a member's /mydata (acknowledged notices).

Kept apart from handlers/notices while that module is restructured: the notices FEATURE takes
`my_data=notices_mydata.my_data` (bot/app.py wires it meanwhile).
"""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING, Any

from bot import member_data

if TYPE_CHECKING:
    from bot.services import Services

_TAG = re.compile(r"<[^>]*>")


async def my_data(services: Services, member_id: int) -> dict[str, Any]:
    """The notices the member acknowledged: text (plain), when sent, when acknowledged."""
    acks = await member_data.acknowledgements(services.db, member_id)
    if not acks:
        return {}
    return {
        "acknowledged": [
            {
                "notice": a.notice_id,
                "text": unescape(_TAG.sub("", a.text)),
                "sent_at": a.sent_at.isoformat() if a.sent_at else None,
                "acknowledged_at": a.acknowledged_at.isoformat(),
            }
            for a in acks
        ]
    }
