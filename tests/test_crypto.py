"""Crypto primitives: sealing, symmetric boxes, streaming files, TOTP."""

from __future__ import annotations

import io

import pytest

from intake import crypto


def test_seal_roundtrip_and_wrong_key() -> None:
    pair, other = crypto.generate_keypair(), crypto.generate_keypair()
    sealed = crypto.seal(pair.public, b"secret", b"ctx")
    assert crypto.unseal(pair.private, sealed, b"ctx") == b"secret"
    with pytest.raises(crypto.CryptoError):
        crypto.unseal(other.private, sealed, b"ctx")
    with pytest.raises(crypto.CryptoError):
        crypto.unseal(pair.private, sealed, b"other context")


def test_encrypt_detects_tampering() -> None:
    key = crypto.random_key()
    blob = bytearray(crypto.encrypt(key, b"hello", b"aad"))
    blob[-1] ^= 1
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(key, bytes(blob), b"aad")


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK_SIZE - 1, crypto.CHUNK_SIZE, 3 * crypto.CHUNK_SIZE + 5])
def test_stream_roundtrip(size: int) -> None:
    key, data = crypto.random_key(), bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    sink = io.BytesIO()
    assert crypto.encrypt_stream(key, io.BytesIO(data), sink, b"a") == size
    out = b"".join(crypto.decrypt_stream(key, io.BufferedReader(io.BytesIO(sink.getvalue())), b"a"))
    assert out == data


def test_stream_truncation_detected() -> None:
    key = crypto.random_key()
    sink = io.BytesIO()
    crypto.encrypt_stream(key, io.BytesIO(b"x" * (3 * crypto.CHUNK_SIZE)), sink, b"a")
    cut = sink.getvalue()[: -(crypto.CHUNK_SIZE + 20)]
    with pytest.raises(crypto.CryptoError):
        b"".join(crypto.decrypt_stream(key, io.BufferedReader(io.BytesIO(cut)), b"a"))


def test_totp_refuses_replay() -> None:
    secret = crypto.new_totp_secret()
    code = crypto.totp_now(secret, at=1_000_000)
    step = crypto.totp_match(secret, code, None, at=1_000_000)
    with pytest.raises(crypto.CryptoError):
        crypto.totp_match(secret, code, step, at=1_000_010)
    with pytest.raises(crypto.CryptoError):
        crypto.totp_match(secret, "000000" if code != "000000" else "111111", None, at=1_000_000)


def test_password_keys_depend_on_salt() -> None:
    params = crypto.kdf_params("fast")
    a = crypto.derive_password_keys("pw", b"a" * 16, params)
    b = crypto.derive_password_keys("pw", b"b" * 16, params)
    assert a != b and len(a[0]) == 32


def test_ephemeral_file_random_access_and_ciphertext_on_disk() -> None:
    f = crypto.ephemeral_file()
    data = b"plaintext marker " * 10_000
    f.write(data)
    f.seek(17 * 100 + 3)
    assert f.read(20) == data[1703:1723]
    f.seek(0)
    assert f.read() == data
    raw = f.raw._file  # type: ignore[attr-defined]
    raw.seek(0)
    assert b"plaintext marker" not in raw.read()
    f.close()


_CONCURRENT_KDF = """
import sys, threading, time
from intake import crypto
params = crypto.kdf_params("interactive")
done = []
def derive(i):
    crypto.derive_password_keys(f"password {i}", bytes([i]) * 16, params)
    done.append(i)
threads = [threading.Thread(target=derive, args=(i,), daemon=True) for i in range(4)]
for t in threads:
    t.start()
deadline = time.monotonic() + 60
for t in threads:
    t.join(max(0.0, deadline - time.monotonic()))
sys.exit(0 if len(done) == 4 else 3)
"""


def test_finding_01_concurrent_kdf_does_not_deadlock() -> None:
    """Issue 9, finding 1: Argon2id with the production profile, four threads at once, in one process.

    Run in a child process with a deadline, so that a regression fails here instead of hanging the suite.
    """
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CONCURRENT_KDF], cwd=root, capture_output=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("concurrent Argon2id derivations did not finish within 120 s (deadlock)")
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
