"""The only importer of `cryptography`: sealing, symmetric encryption, KDFs, streaming files, TOTP.

Formats (all byte strings, versioned by their first byte so they can change later):
- sealed box:  b"\\x01" | ephemeral X25519 public (32) | nonce (12) | AES-256-GCM ciphertext
- secret box:  b"\\x01" | nonce (12) | AES-256-GCM ciphertext
- file stream: header b"INTK1" | nonce prefix (7), then chunks of 4-byte big-endian length + ciphertext;
  chunk i uses nonce prefix | i (4 bytes) | final flag (1 byte), so chunks cannot be reordered,
  dropped or truncated without detection.
Associated data binds every ciphertext to where it belongs (case id, entry kind, purpose).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidKey, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from . import key_contexts

KEY_BYTES = 32
VERSION = b"\x01"
CHUNK_SIZE = 64 * 1024
STREAM_MAGIC = b"INTK1"
TOTP_STEP = 30

# Argon2id cost profiles. "interactive" follows RFC 9106's second recommendation (64 MiB, t=3).
KDF_PROFILES: dict[str, dict[str, int]] = {
    "interactive": {"iterations": 3, "lanes": 4, "memory_cost": 64 * 1024},
    "fast": {"iterations": 1, "lanes": 1, "memory_cost": 8},
}


# Argon2id runs on OpenSSL's thread pool when lanes > 1; with the pinned cryptography, two derivations at
# once in one process wait for each other's threads for ever (issue 9, finding 1). Derivations are therefore
# serialised per process: each is CPU- and memory-bound (64 MiB), so running two at once on a small server
# would buy nothing anyway, and this also bounds the memory a burst of sign-ins can take. Waiting is bounded:
# past KDF_WAIT_SECONDS the caller gets KdfBusy (the web answers 503 "busy, try again") instead of a queue.
# Changing the lanes of new hashes alone would not do: every existing lanes=4 hash would still deadlock.
KDF_WAIT_SECONDS = 20.0
_KDF_LOCK = threading.Lock()


class CryptoError(Exception):
    """A ciphertext could not be opened: wrong key, wrong context, or tampered with."""


class KdfBusy(Exception):
    """Too many password derivations are waiting in this process: try again in a moment."""


@dataclass(frozen=True)
class KeyPair:
    private: bytes
    public: bytes


def random_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def random_salt() -> bytes:
    return secrets.token_bytes(16)


def generate_keypair() -> KeyPair:
    private = X25519PrivateKey.generate()
    return KeyPair(_raw_private(private), _raw_public(private.public_key()))


def public_key_of(private: bytes) -> bytes:
    return _raw_public(X25519PrivateKey.from_private_bytes(private).public_key())


def _raw_private(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def hkdf(material: bytes, salt: bytes, info: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(material)


# --- symmetric ---------------------------------------------------------------------------------


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 29 or blob[:1] != VERSION:
        raise CryptoError("malformed ciphertext")
    try:
        return AESGCM(key).decrypt(blob[1:13], blob[13:], aad)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("cannot decrypt") from exc


# --- sealed boxes (X25519 -> HKDF-SHA256 -> AES-256-GCM) ---------------------------------------


def seal(recipient_public: bytes, plaintext: bytes, aad: bytes) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    eph_public = _raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    key = hkdf(shared, salt=eph_public + recipient_public, info=key_contexts.SEAL)
    return VERSION + eph_public + encrypt(key, plaintext, aad)[1:]


def unseal(recipient_private: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 61 or sealed[:1] != VERSION:
        raise CryptoError("malformed sealed box")
    eph_public = sealed[1:33]
    try:
        private = X25519PrivateKey.from_private_bytes(recipient_private)
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_public))
    except ValueError as exc:
        raise CryptoError("cannot unseal") from exc
    key = hkdf(shared, salt=eph_public + _raw_public(private.public_key()), info=key_contexts.SEAL)
    return decrypt(key, VERSION + sealed[33:], aad)


# --- passwords and passphrases -----------------------------------------------------------------


def kdf_params(profile: str) -> dict[str, int]:
    return dict(KDF_PROFILES[profile])


# What a stored row may ask Argon2id for (issue 9, finding 8): a database editor raising the cost to
# seconds or gigabytes would turn each sign-in into a denial of service. The profiles sit well inside.
KDF_BOUNDS = {"iterations": (1, 10), "lanes": (1, 8), "memory_cost": (8, 256 * 1024)}


def kdf_params_bounded(params: object) -> bool:
    """Whether `params` names exactly the KDF_BOUNDS keys, each an int within its bounds."""
    if not isinstance(params, dict) or set(params) != set(KDF_BOUNDS):
        return False
    return all(
        type(params[k]) is int and low <= params[k] <= high for k, (low, high) in KDF_BOUNDS.items()
    )


def derive_password_keys(password: str, salt: bytes, params: dict[str, int]) -> tuple[bytes, bytes]:
    """Argon2id(password) split in two: (key-encryption key, verifier). One at a time per process."""
    kdf = Argon2id(
        salt=salt,
        length=64,
        iterations=params["iterations"],
        lanes=params["lanes"],
        memory_cost=params["memory_cost"],
    )
    if not _KDF_LOCK.acquire(timeout=KDF_WAIT_SECONDS):
        raise KdfBusy
    try:
        out = kdf.derive(password.encode("utf-8"))
    finally:
        _KDF_LOCK.release()
    kek, check = out[:32], out[32:]
    return kek, hashlib.sha256(key_contexts.PASSWORD_VERIFIER + check).digest()


def verifier_matches(expected: bytes, given: bytes) -> bool:
    return hmac.compare_digest(expected, given)


# --- tokens ------------------------------------------------------------------------------------


def keyed_hash(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def derive_citizen_key(token: bytes, salt: bytes) -> bytes:
    """The citizen's key: HKDF over the token's 100 random bits (no slow KDF needed at that entropy)."""
    return hkdf(token, salt=salt, info=key_contexts.CITIZEN_KEY)


def session_wrap_key(cookie_key: bytes, session_secret: bytes) -> bytes:
    """The key wrapping an officer's private key between requests: the cookie's key and the session's
    secret (held only in the session store) together; neither alone, nor a database copy, opens it."""
    return hkdf(cookie_key, salt=session_secret, info=key_contexts.OFFICER_SESSION_WRAP)


def password_wrap_key(kek: bytes, server_secret: bytes) -> bytes:
    """The key wrapping an officer's private key under their password (wrap version 2): Argon2id's key and
    the tenant's server secret (outside the database) together, so that an old password and an old row
    (a PostgreSQL dead tuple, a backup) open nothing without keys/."""
    return hkdf(kek, salt=server_secret, info=key_contexts.PASSWORD_WRAP)


def derive_subkey(key: bytes, purpose: bytes) -> bytes:
    return hkdf(key, salt=b"", info=key_contexts.SUBKEY + purpose)


# --- streaming file encryption -----------------------------------------------------------------


def _chunk_nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if final else b"\x00")


def encrypt_chunks(key: bytes, source: BinaryIO, aad: bytes) -> Iterator[bytes]:
    """The ciphertext of `source`, piece by piece (header, then one piece per chunk); memory: two chunks."""
    prefix = secrets.token_bytes(7)
    yield STREAM_MAGIC + prefix
    aes = AESGCM(key)
    index = 0
    chunk = source.read(CHUNK_SIZE)
    while True:
        following = source.read(CHUNK_SIZE) if chunk else b""
        final = not following
        ct = aes.encrypt(_chunk_nonce(prefix, index, final), chunk, aad)
        yield struct.pack(">I", len(ct)) + ct
        if final:
            return
        chunk, index = following, index + 1


def encrypt_stream(key: bytes, source: BinaryIO, sink: BinaryIO, aad: bytes) -> int:
    """Encrypt `source` into `sink` chunk by chunk; memory stays at two chunks. Returns plaintext size."""
    pieces = encrypt_chunks(key, source, aad)
    sink.write(next(pieces))
    total = 0
    for piece in pieces:
        sink.write(piece)
        total += len(piece) - 4 - 16  # length prefix and GCM tag
    return total


def decrypt_stream(key: bytes, source: BinaryIO, aad: bytes) -> Iterator[bytes]:
    """Yield plaintext chunks; raise CryptoError on tampering or truncation."""
    header = source.read(len(STREAM_MAGIC) + 7)
    if header[: len(STREAM_MAGIC)] != STREAM_MAGIC or len(header) != len(STREAM_MAGIC) + 7:
        raise CryptoError("not an intake stream")
    prefix = header[len(STREAM_MAGIC) :]
    aes = AESGCM(key)
    index = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise CryptoError("stream truncated")
        (size,) = struct.unpack(">I", size_bytes)
        if size > CHUNK_SIZE + 16:
            raise CryptoError("chunk too large")
        ct = source.read(size)
        final = source.peek(1)[:1] == b"" if hasattr(source, "peek") else _at_end(source)
        try:
            yield aes.decrypt(_chunk_nonce(prefix, index, final), ct, aad)
        except InvalidTag as exc:
            raise CryptoError("stream tampered with") from exc
        if final:
            return
        index += 1


def _at_end(source: BinaryIO) -> bool:
    pos = source.tell()
    end = source.seek(0, os.SEEK_END)
    source.seek(pos)
    return pos == end


# --- ephemeral temporary files -----------------------------------------------------------------


class EphemeralFile(io.RawIOBase):
    """A temporary file whose bytes on disk are AES-256-CTR under a key that lives only in memory.

    Uploads are spooled here before they are checked and encrypted for good, so that plaintext never
    reaches the disk even for a moment (as GlobaLeaks does). Random access works (CTR), which Pillow
    and Werkzeug need. No authentication: the key dies with the object, within one request.
    """

    def __init__(self) -> None:
        super().__init__()
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._key = secrets.token_bytes(32)
        self._nonce = int.from_bytes(secrets.token_bytes(16), "big")
        self._pos = 0

    def _xor(self, data: bytes, offset: int) -> bytes:
        block, skip = divmod(offset, 16)
        counter = ((self._nonce + block) % (1 << 128)).to_bytes(16, "big")
        ctx = Cipher(algorithms.AES(self._key), modes.CTR(counter)).encryptor()
        return ctx.update(b"\x00" * skip + data)[skip:]

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        data = bytes(data)
        self._file.seek(self._pos)
        self._file.write(self._xor(data, self._pos))
        self._pos += len(data)
        return len(data)

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        self._file.seek(self._pos)
        raw = self._file.read(len(buffer))
        plain = self._xor(raw, self._pos)
        buffer[: len(plain)] = plain
        self._pos += len(plain)
        return len(plain)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:
            offset += self._file.seek(0, os.SEEK_END)
        elif whence == os.SEEK_CUR:
            offset += self._pos
        self._pos = max(0, offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._key = b""
        super().close()


def ephemeral_file() -> BinaryIO:
    """A buffered EphemeralFile: what upload spooling and attachment checks write plaintext into."""
    return io.BufferedRandom(EphemeralFile(), buffer_size=CHUNK_SIZE)


# --- TOTP (RFC 6238, SHA-1, 6 digits, 30 s) -----------------------------------------------------


def new_totp_secret() -> bytes:
    return secrets.token_bytes(20)


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, 6, hashes.SHA1(), TOTP_STEP, enforce_key_length=False)  # noqa: S303


def totp_uri(secret: bytes, account: str, issuer: str) -> str:
    return _totp(secret).get_provisioning_uri(account, issuer)


def totp_now(secret: bytes, at: float | None = None) -> str:
    return _totp(secret).generate(at if at is not None else time.time()).decode()


def totp_match(secret: bytes, code: str, last_counter: int | None, at: float | None = None) -> int:
    """The time step the code belongs to (window ±1), newer than `last_counter`; else CryptoError."""
    now = at if at is not None else time.time()
    totp = _totp(secret)
    current = int(now // TOTP_STEP)
    for step in (current, current - 1, current + 1):
        if last_counter is not None and step <= last_counter:
            continue
        try:
            totp.verify(code.encode(), step * TOTP_STEP)
        except (InvalidToken, InvalidKey):
            continue
        return step
    raise CryptoError("wrong or reused code")
