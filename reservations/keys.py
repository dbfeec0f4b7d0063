"""Partner API keys: their format, how they are made, hashed and checked.

A key is `tb_<prefix>_<secret>`: the prefix (8 letters or digits) names the key
in lists, logs and `revoke_key`; the secret (43 URL-safe characters, 256
random bits) proves it. Only a SHA-256 hash of the whole key is stored. With a
secret that random, a fast hash is the standard choice (GitHub and Stripe
tokens, djangorestframework-api-key's default hasher): a slow password hash
would add milliseconds to every request and protect nothing more, since no
one can guess 256 bits. The check compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

from django.utils.crypto import constant_time_compare, get_random_string

PREFIX_LENGTH = 8
SECRET_BYTES = 32  # token_urlsafe(32): 43 characters
MIN_SECRET_LENGTH = 32
MAX_KEY_LENGTH = 200  # bounds the work a presented key can cost
HASH_ALGORITHM = "sha256"

_PREFIX_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(
    rf"^tb_([A-Za-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{{MIN_SECRET_LENGTH},}})$"
)
_PREFIX_RE = re.compile(rf"^[A-Za-z0-9]{{{PREFIX_LENGTH}}}$")
_HASH_RE = re.compile(rf"^{HASH_ALGORITHM}\$[0-9a-f]{{64}}$")
# A digest no key has: checking against it costs the same as a real check.
_NO_KEY_HASH = f"{HASH_ALGORITHM}${'0' * 64}"


def new_prefix() -> str:
    return get_random_string(PREFIX_LENGTH, _PREFIX_ALPHABET)


def new_key(prefix: str) -> str:
    """A fresh key for `prefix` (shown to its partner once, never stored)."""
    return f"tb_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def prefix_of(presented: str) -> str | None:
    """The prefix of a well-formed key, or None when `presented` is not one."""
    if len(presented) > MAX_KEY_LENGTH:
        return None
    match = _KEY_RE.match(presented)
    return match.group(1) if match else None


def is_prefix(value: str) -> bool:
    return bool(_PREFIX_RE.match(value))


def hash_key(key: str) -> str:
    """The stored form of a key: `sha256$<hex digest>` (the algorithm named, for later change)."""
    return f"{HASH_ALGORITHM}${hashlib.sha256(key.encode()).hexdigest()}"


def is_hash(value: object) -> bool:
    return isinstance(value, str) and bool(_HASH_RE.match(value))


def matches(presented: str, stored_hash: str | None) -> bool:
    """Whether `presented` is the key behind `stored_hash`, in time independent of where
    they differ. With no stored hash (unknown prefix) the same work is done."""
    expected = stored_hash or _NO_KEY_HASH
    return constant_time_compare(hash_key(presented), expected) and stored_hash is not None
