"""Keyed pseudonyms for customer keys: HMAC-SHA256 of the value under a secret key, ``psn_`` + 24 hex digits.

The same value under the same key always gives the same pseudonym, so ticket linking and repeat contacts work
on pseudonyms; without the key a pseudonym cannot be traced back (a plain hash of a phone number could be,
by hashing all 10^10 numbers). Values are put in a canonical form first: Russian phone numbers become
``7XXXXXXXXXX`` (``8 (916) 123-45-67`` = ``+7 916 1234567``), e-mails are lower-cased, others are stripped.

The key, in this order: the ``key`` argument; the ``VOC_PSEUDONYM_KEY`` environment variable; the file named
by ``key_file`` or ``VOC_PSEUDONYM_KEY_FILE``; else ``<user config dir>/voc/pseudonym.key``
(``$XDG_CONFIG_HOME/voc`` or ``~/.config/voc``; ``%APPDATA%\\voc`` on Windows), which is created with a random
256-bit key and permissions 0600 on first use. Keep that file (or set the variable) to get the same
pseudonyms in later runs; a key must be at least 16 characters.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

KEY_ENV = "VOC_PSEUDONYM_KEY"
KEY_FILE_ENV = "VOC_PSEUDONYM_KEY_FILE"
KEY_FILE_NAME = "pseudonym.key"
MIN_KEY_CHARS = 16
PREFIX = "psn_"
_HEX_DIGITS = 24
_PSEUDONYM = re.compile(rf"^{PREFIX}[0-9a-f]{{{_HEX_DIGITS}}}$")
_PHONE_CHARS = re.compile(r"^[\d\s()+\-.]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing, too short or its file cannot be read or created."""


def is_pseudonym(value: object) -> bool:
    """Whether ``value`` is a pseudonym made by :class:`Pseudonymizer`."""
    return isinstance(value, str) and bool(_PSEUDONYM.match(value))


def canonical(value: str) -> str:
    """The form a value is hashed in: phones as 7XXXXXXXXXX, e-mails lower-case, anything else stripped."""
    text = value.strip()
    if "@" in text and _EMAIL.match(text):
        return text.lower()
    if _PHONE_CHARS.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) == 11 and digits[0] in "78":
            return "7" + digits[1:]
        if len(digits) == 10 and digits[0] == "9":
            return "7" + digits
    return text


def config_dir() -> Path:
    """The user's voc config folder (``VOC_CONFIG_DIR`` overrides it)."""
    if os.environ.get("VOC_CONFIG_DIR"):
        return Path(os.environ["VOC_CONFIG_DIR"])
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "voc"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voc"


def _check(key: str, where: str) -> bytes:
    key = key.strip()
    if len(key) < MIN_KEY_CHARS:
        raise PseudonymKeyError(f"pseudonym key from {where} is too short: {len(key)} characters, "
                                f"at least {MIN_KEY_CHARS} are needed (a random 64-hex-digit key is best)")
    return key.encode("utf-8")


def _read_key_file(path: Path) -> bytes:
    try:
        return _check(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise PseudonymKeyError(f"cannot read the pseudonym key file {path}: {exc.strerror or exc}") from None


def _create_key_file(path: Path) -> bytes:
    """Write a random key with permissions 0600; if another process won the race, read theirs."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise PseudonymKeyError(f"cannot create the pseudonym key file {path}: {exc.strerror or exc}; "
                                f"set {KEY_ENV} or {KEY_FILE_ENV}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _read_key_file(path)


def load_key(key: str | bytes | None = None, key_file: str | Path | None = None) -> tuple[bytes, str]:
    """The pseudonym key and where it came from (``argument``, ``env``, ``file``, ``generated``)."""
    if key is not None:
        return _check(key.decode("utf-8") if isinstance(key, bytes) else key, "the key argument"), "argument"
    if os.environ.get(KEY_ENV):
        return _check(os.environ[KEY_ENV], KEY_ENV), "env"
    named = key_file or os.environ.get(KEY_FILE_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise PseudonymKeyError(f"pseudonym key file not found: {path}")
        return _read_key_file(path), "file"
    path = config_dir() / KEY_FILE_NAME
    if path.is_file():
        return _read_key_file(path), "file"
    return _create_key_file(path), "generated"


@dataclass(frozen=True)
class Pseudonymizer:
    """``pseudonymizer(value)`` → ``psn_<24 hex>``; a pseudonym given again is returned unchanged."""

    key: bytes = field(repr=False)

    @classmethod
    def load(cls, key: str | bytes | None = None, key_file: str | Path | None = None) -> Pseudonymizer:
        return cls(load_key(key, key_file)[0])

    def __call__(self, value: str) -> str:
        if is_pseudonym(value):
            return value
        digest = hmac.new(self.key, canonical(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:_HEX_DIGITS]

    @property
    def key_id(self) -> str:
        """A short fingerprint of the key (not the key): tells whether two runs used the same key."""
        return hmac.new(self.key, b"voc pseudonym key id", hashlib.sha256).hexdigest()[:8]
