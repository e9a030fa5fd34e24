"""Mini App initData validation (bot/webapp/auth.py) against Telegram's documented algorithm."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, quote

from bot.webapp.auth import sign, validate

TOKEN = "123456:ABC-token"
NOW = 1_800_000_000
USER = {"id": 42, "first_name": "Ann", "language_code": "en"}


def test_a_valid_init_data_gives_the_user() -> None:
    user = validate(sign(USER, TOKEN, NOW - 10, query_id="AAA"), TOKEN, NOW, 86400)
    assert user is not None and user.user_id == 42 and user.language_code == "en"


def test_signature_follows_the_documented_algorithm_independently() -> None:
    # Built by hand from the documentation, not with our helpers.
    user = json.dumps(USER)
    fields = {"auth_date": str(NOW), "query_id": "Q1", "user": user}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    raw = "&".join(f"{k}={quote(v)}" for k, v in fields.items()) + f"&hash={digest}"
    assert validate(raw, TOKEN, NOW, 60) is not None


def test_forged_hash_expired_other_token_missing_are_refused() -> None:
    good = sign(USER, TOKEN, NOW)
    fields = dict(parse_qsl(good))
    forged = good.replace(fields["hash"], "0" * 64)
    assert validate(forged, TOKEN, NOW, 86400) is None
    assert validate(sign(USER, TOKEN, NOW - 86401), TOKEN, NOW, 86400) is None
    assert validate(sign(USER, "999:other", NOW), TOKEN, NOW, 86400) is None
    assert validate(None, TOKEN, NOW, 86400) is None
    assert validate("", TOKEN, NOW, 86400) is None
    assert validate("garbage", TOKEN, NOW, 86400) is None
    # Changing the user after signing breaks the hash.
    tampered = good.replace("%22id%22%3A42", "%22id%22%3A43")
    assert tampered != good and validate(tampered, TOKEN, NOW, 86400) is None
    # A far-future auth_date (signed) is refused too.
    assert validate(sign(USER, TOKEN, NOW + 3600), TOKEN, NOW, 86400) is None
    # A repeated key is refused even though the signature of the last value would match.
    assert validate(good + "&auth_date=1", TOKEN, NOW, 86400) is None
