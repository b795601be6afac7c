"""Bearer or basic auth, as Alertmanager's http_config sends it; constant-time comparison."""

from __future__ import annotations

import base64
import hmac

from aiops_common.auth import read_secret

from .config import AuthConfig


class Authenticator:
    def __init__(self, cfg: AuthConfig | None):
        self.cfg = cfg

    @property
    def enabled(self) -> bool:
        return self.cfg is not None and any(
            getattr(self.cfg, k) is not None for k in ("bearer_token", "bearer_token_file", "basic_auth"))

    def check(self, header: str | None) -> bool:
        """True if the Authorization header carries the configured credentials (or none are configured)."""
        cfg = self.cfg
        if cfg is None or not self.enabled:
            return True
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if cfg.basic_auth is not None:
            if scheme.lower() != "basic":
                return False
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            user_ok = hmac.compare_digest(user.encode(), cfg.basic_auth.username.encode())
            pass_ok = hmac.compare_digest(password.encode(), cfg.basic_auth.current_password().encode())
            return user_ok and pass_ok
        expected = read_secret(cfg.bearer_token, cfg.bearer_token_file) or ""  # re-read each time: secrets rotate
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected.encode())

    @property
    def challenge(self) -> str:
        return 'Basic realm="aiops-receiver"' if self.cfg and self.cfg.basic_auth else 'Bearer realm="aiops-receiver"'
