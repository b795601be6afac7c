"""Bearer or basic auth, as Alertmanager's http_config sends it; constant-time comparison."""

from __future__ import annotations

import base64
import hmac

from .config import AuthConfig


class Authenticator:
    def __init__(self, cfg: AuthConfig | None):
        self.cfg = cfg

    @property
    def enabled(self) -> bool:
        return self.cfg is not None and any(
            getattr(self.cfg, k) is not None for k in ("bearer_token", "bearer_token_file", "basic_auth"))

    def _expected_bearer(self) -> str | None:
        if self.cfg.bearer_token_file is not None:
            return self.cfg.bearer_token_file.read_text().strip()  # re-read: secrets rotate
        return self.cfg.bearer_token

    def _expected_password(self) -> str:
        basic = self.cfg.basic_auth
        if basic.password_file is not None:
            return basic.password_file.read_text().rstrip("\n")
        return basic.password or ""

    def check(self, header: str | None) -> bool:
        """True if the Authorization header carries the configured credentials (or none are configured)."""
        if not self.enabled:
            return True
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if self.cfg.basic_auth is not None:
            if scheme.lower() != "basic":
                return False
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            user_ok = hmac.compare_digest(user.encode(), self.cfg.basic_auth.username.encode())
            pass_ok = hmac.compare_digest(password.encode(), self._expected_password().encode())
            return user_ok and pass_ok
        expected = self._expected_bearer() or ""
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected.encode())

    @property
    def challenge(self) -> str:
        return 'Basic realm="aiops-receiver"' if self.cfg and self.cfg.basic_auth else 'Bearer realm="aiops-receiver"'
