"""AES-256-GCM encryption of exchange credentials at rest, under a master key from QUORUM_MASTER_KEY.

Blob layout: b"Q1" | key id (8 bytes, SHA-256 prefix of the key) | nonce (12 bytes) | ciphertext+tag.
The associated data binds a ciphertext to its row and column, so a blob copied into another user's row does
not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"Q1"
KEY_ID_LEN = 8
NONCE_LEN = 12


class MasterKeyMissing(Exception):
    def __init__(self) -> None:
        super().__init__(
            "Live exchange credentials need an encryption key: the operator must set QUORUM_MASTER_KEY "
            "(generate one with `quorum admin generate-key`). Paper accounts work without it."
        )


class InvalidMasterKey(ValueError):
    pass


class DecryptionFailed(Exception):
    """Wrong master key, or a tampered or misplaced ciphertext. Never carries the plaintext or the key."""


def generate_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def parse_master_key(encoded: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(encoded.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidMasterKey("QUORUM_MASTER_KEY is not valid base64") from None
    if len(raw) != 32:
        raise InvalidMasterKey(f"QUORUM_MASTER_KEY must encode 32 bytes (it encodes {len(raw)})")
    return raw


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise InvalidMasterKey("master key must be 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).digest()[:KEY_ID_LEN]

    @classmethod
    def from_encoded(cls, encoded: str) -> SecretBox:
        return cls(parse_master_key(encoded))

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id.hex()})"

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_LEN)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return MAGIC + self.key_id + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> str:
        if len(blob) < len(MAGIC) + KEY_ID_LEN + NONCE_LEN + 16 or not blob.startswith(MAGIC):
            raise DecryptionFailed("not a Quorum ciphertext")
        key_id = blob[len(MAGIC) : len(MAGIC) + KEY_ID_LEN]
        if key_id != self.key_id:
            raise DecryptionFailed("encrypted under a different master key")
        nonce_start = len(MAGIC) + KEY_ID_LEN
        nonce = blob[nonce_start : nonce_start + NONCE_LEN]
        try:
            plain = self._aead.decrypt(nonce, blob[nonce_start + NONCE_LEN :], context.encode("utf-8"))
        except InvalidTag:
            raise DecryptionFailed("ciphertext does not authenticate (tampered, or moved from another row)") from None
        return plain.decode("utf-8")
