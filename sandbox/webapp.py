"""The Mini App in the sandbox: the bot's handler on this port under /webapp/, initData signed here.

Real Telegram signs the initData it hands to a Mini App; the sandbox plays Telegram, so it signs
with the bot's token for the user the web chat is playing (`GET /sandbox/api/users/{id}/webapp`
returns the launch fragment and the menu button set for that chat). No bot code is imported.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.server import FakeTelegram

THEMES: dict[str, dict[str, str]] = {
    "light": {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579", "link_color": "#3390ec",
              "button_color": "#3390ec", "button_text_color": "#ffffff", "secondary_bg_color": "#f4f4f5"},
    "dark": {"bg_color": "#212121", "text_color": "#ffffff", "hint_color": "#aaaaaa", "link_color": "#8774e1",
             "button_color": "#8774e1", "button_text_color": "#ffffff", "secondary_bg_color": "#181818"},
}


def init_data(token: str, user: dict[str, Any], auth_date: int | None = None) -> str:
    """initData as Telegram builds it: fields, then `hash` over the sorted key=value lines."""
    fields = {"auth_date": str(int(time.time()) if auth_date is None else auth_date),
              "query_id": f"SBX{user['id']}", "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False)}
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def launch_fragment(token: str, user: dict[str, Any], theme: str = "light") -> str:
    """`#tgWebAppData=...&tgWebAppVersion=...&tgWebAppThemeParams=...` as Telegram appends it."""
    params = THEMES.get(theme, THEMES["light"])
    return "#" + urlencode({"tgWebAppData": init_data(token, user), "tgWebAppVersion": "8.0",
                            "tgWebAppPlatform": "web", "tgWebAppThemeParams": json.dumps(params)},
                           quote_via=quote)


def setup_webapp(app: web.Application, tg: FakeTelegram) -> None:
    async def forward(request: web.Request) -> web.StreamResponse:
        if tg.webapp_handler is None:
            return web.Response(status=404, text="no Mini App is served by the bot")
        return await tg.webapp_handler(request)

    async def launch(request: web.Request) -> web.StreamResponse:
        user = tg.user(int(request.match_info["user_id"]))
        theme = request.query.get("theme", "light")
        menu = tg.api.menu_buttons.get(user.id) or tg.api.menu_buttons.get(None) or {"type": "default"}
        return web.json_response({"fragment": launch_fragment(tg.token, user.to_user(), theme), "menu_button": menu})

    app.router.add_route("*", "/webapp{tail:.*}", forward)
    app.router.add_get("/sandbox/api/users/{user_id}/webapp", launch)
