"""liaison-bot: a Telegram bot that runs a liaison association (新联会)."""

import os

# python-telegram-bot 22 warns unless durations (e.g. RetryAfter.retry_after) are timedeltas;
# opt in to the future behaviour everywhere, before telegram is imported.
os.environ.setdefault("PTB_TIMEDELTA", "1")
