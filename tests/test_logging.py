import logging

import pytest

from bot.logsetup import install_redaction


def test_token_in_urls_and_messages_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456789:" + "AAbbCCddEEffGGh" * 2 + "hIIjj"  # token-shaped, built at run time (not a real one)
    install_redaction([token, "webhook-secret-xyz"])
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/getMe", token)
        logging.getLogger("x").info("secret is %s", "webhook-secret-xyz")
        try:
            raise RuntimeError(f"failed https://api.telegram.org/bot{token}/sendMessage")
        except RuntimeError:
            logging.getLogger("y").exception("oops")
    text = caplog.text
    assert token not in text
    assert "webhook-secret-xyz" not in text
    assert "[REDACTED]" in text


def test_httpx_request_logging_is_silenced() -> None:
    install_redaction()
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
