"""Password hashing with scrypt (memory-hard, in the standard library).

A stored hash reads `scrypt$n$r$p$salt$hash` (salt and hash base64): the parameters travel
with the hash, so they can be raised later without locking anyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1  # 16 MiB of memory per attempt, about 0.1 s on a Raspberry Pi 4
MIN_LENGTH = 8
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, N, R, P)
    return "$".join(("scrypt", str(N), str(R), str(P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    """Does `password` match `stored` (compared in constant time)? False for any bad hash."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    return None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8")[:MAX_LENGTH * 4], salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n * 2, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
