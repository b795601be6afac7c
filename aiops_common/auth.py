"""Credentials in config: basic auth, bearer tokens and secret files (re-read on use: secrets rotate)."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from .config import StrictModel


def read_secret(value: str | None, path: Path | None) -> str | None:
    """The secret: the file's content without surrounding white space when a file is given, else `value`."""
    return path.read_text().strip() if path is not None else value


class BasicAuth(StrictModel):
    """Basic auth: a username and a password given inline or in a file (at most one of them)."""

    username: str
    password: str | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _one_password(self) -> BasicAuth:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set password or password_file, not both")
        return self

    def current_password(self) -> str:
        return read_secret(self.password, self.password_file) or ""

    def as_tuple(self) -> tuple[str, str]:
        """(username, password) as `requests` takes it."""
        return self.username, self.current_password()


def bearer_headers(token: str | None, token_file: Path | None) -> dict[str, str]:
    """{"Authorization": "Bearer ..."} for the configured token, or {} without one."""
    secret = read_secret(token, token_file)
    return {"Authorization": f"Bearer {secret}"} if secret else {}
