"""Password and API-token hashing."""

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes).
_default_hasher = PasswordHasher()


def _hasher() -> PasswordHasher:
    params = current_app.config.get("PASSWORD_HASH_PARAMS")
    return PasswordHasher(**params) if params else _default_hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time a real check would, so a wrong username is not faster than a wrong password."""
    verify_password(_dummy_hash(), password)


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("workorders.dummy_hash", {})
    if "hash" not in cache:
        cache["hash"] = hash_password(secrets.token_hex(16))
    return cache["hash"]


def new_api_token() -> tuple[str, str]:
    """A fresh token and the hash to store; the token is shown once and never kept."""
    token = "wo_" + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough and lets us look them up by hash.
    return hashlib.sha256(token.encode()).hexdigest()
