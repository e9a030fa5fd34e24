"""The coordinator's workspace as a Telegram Mini App: initData authentication, JSON API, page.

`auth` validates the initData Telegram signs; `server` serves the page, assets and API from the
bot's own process (webhook server, `LIAISON_WEBAPP_LISTEN`, or the sandbox's port); `views` holds
the thin adapters onto the feature services.
"""
