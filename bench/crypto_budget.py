"""Cryptography budget: what each KDF, seal and encryption costs, and its share of a whole submission.

    .venv/bin/python bench/crypto_budget.py [--quick] [--database-url URL]

Token side (every submission and every tracking lookup): HMAC-SHA256 lookup hash + HKDF citizen key.
Officer side (every sign-in): Argon2id with the production "interactive" profile (and the tests' "fast").
Case side: sealing a case's keys to its channel (X25519 + HKDF + AES-GCM), opening them, encrypting and
decrypting a 1 KB entry, and `cases.submit` end to end in-process (SQLite or PostgreSQL, with commit).
The baseline for the submission is the same commit of one case-sized row without any cryptography.
"""

from __future__ import annotations

import json
import sys
import time

import benchlib
from sqlalchemy import insert

from intake import bodies, cases, crypto, db, key_contexts, tokens
from intake.models import Case, Channel, Entry


def micro(fn: object, repeat: int, inner: int) -> float:
    """Median seconds per call over `repeat` batches of `inner` calls."""
    assert callable(fn)

    def batch() -> None:
        for _ in range(inner):
            fn()

    return benchlib.median(benchlib.timed(batch, repeat)) / inner


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    repeat, inner = (3, 200) if args.quick else (9, 2000)
    argon_runs = 2 if args.quick else 7
    submits = 20 if args.quick else 300
    r = benchlib.Results("crypto_budget", args)

    secret = crypto.random_key()
    token = tokens.make()
    salt = crypto.random_salt()
    pair = crypto.generate_keypair()
    two_keys = crypto.random_key() + crypto.random_key()
    aad = key_contexts.case_keys(123456)
    entry = json.dumps({"details": "รายละเอียดเรื่องร้องเรียน " * 20}, ensure_ascii=False).encode()
    key = crypto.random_key()
    sealed = crypto.seal(pair.public, two_keys, aad)
    blob = crypto.encrypt(key, entry, aad)

    r.figure("token_make_s", micro(tokens.make, repeat, inner), "token make (secrets)")
    hmac_s = micro(lambda: tokens.lookup_hash(secret, token), repeat, inner)
    hkdf_s = micro(lambda: crypto.derive_citizen_key(tokens.key_material(token), salt), repeat, inner)
    r.figure("token_lookup_hash_s", hmac_s, "token lookup hash (normalise + HMAC-SHA256)")
    r.figure("citizen_key_s", hkdf_s, "citizen key (HKDF-SHA256)")
    r.figure("token_kdf_total_s", hmac_s + hkdf_s, "token key derivation, both")
    seal_s = micro(lambda: crypto.seal(pair.public, two_keys, aad), repeat, inner // 4)
    unseal_s = micro(lambda: crypto.unseal(pair.private, sealed, aad), repeat, inner // 4)
    r.figure("seal_s", seal_s, "seal case keys to channel (X25519 + HKDF + AES-GCM)")
    r.figure("unseal_s", unseal_s, "open case keys")
    enc_s = micro(lambda: crypto.encrypt(key, entry, aad), repeat, inner)
    dec_s = micro(lambda: crypto.decrypt(key, blob, aad), repeat, inner)
    r.figure("encrypt_entry_s", enc_s, f"encrypt entry ({len(entry)} B, AES-256-GCM)")
    r.figure("decrypt_entry_s", dec_s, "decrypt entry")

    for profile in ("interactive", "fast"):
        params = crypto.kdf_params(profile)
        pw_salt = crypto.random_salt()
        def derive(params: dict[str, int] = params, pw_salt: bytes = pw_salt) -> object:
            return crypto.derive_password_keys("a password", pw_salt, params)

        times = benchlib.timed(derive, argon_runs)
        r.figure(
            f"argon2id_{profile}_s", benchlib.median(times), f"officer password Argon2id {profile} {params}"
        )

    inst = benchlib.instance_for("crypto", args.database_url, args.data_dir)
    inst.create()
    try:
        app = inst.setup()
        with app.app_context():
            session = db.session()

            def submit() -> None:
                cases.submit(
                    session,
                    channel=Channel.FEEDBACK,
                    body=bodies.FeedbackBody("ไฟฟ้าส่องสว่างในซอยดับ " * 20, rating=3),
                    contact="081-234-5678",
                    files=[],
                    store=app.extensions["intake.store"],
                )
                session.expunge_all()

            submit_s = benchlib.median(benchlib.timed(submit, submits, warmup=5))
            sample = session.query(Case).first()
            assert sample is not None
            copied = [c.name for c in Case.__table__.columns if c.name not in ("id", "number")]
            row = {name: getattr(sample, name) for name in copied}
            entry_row = {"kind": "submission", "at": sample.received_at, "body": blob}
            entry_row["tenant_id"] = sample.tenant_id

            def plain() -> None:
                new_id = session.execute(insert(Case).values(row).returning(Case.id)).scalar_one()
                session.execute(insert(Entry).values(case_id=new_id, **entry_row))
                session.commit()

            counter = [0]

            def plain_unique() -> None:
                counter[0] += 1
                row["token_hash"] = counter[0].to_bytes(32, "big")
                plain()

            plain_s = benchlib.median(benchlib.timed(plain_unique, submits, warmup=5))
    finally:
        inst.destroy()
    crypto_in_submit = hmac_s + hkdf_s + seal_s + 3 * enc_s  # submission, contact, citizen key
    r.figure("submit_s", submit_s, "cases.submit end to end (with commit)")
    r.figure("plain_insert_commit_s", plain_s, "baseline: insert case + entry rows and commit, no crypto")
    r.figure("submit_vs_plain", round(submit_s / plain_s, 3), "ratio submit / baseline")
    r.figure("crypto_in_submit_s", crypto_in_submit, "cryptography inside one submit (sum of the above)")
    r.figure("crypto_share_of_submit", f"{100 * crypto_in_submit / submit_s:.1f} %", "share of submit")
    r.figure(
        "argon2id_vs_token_kdf",
        round(r.figures["argon2id_interactive_s"] / (hmac_s + hkdf_s)),
        "Argon2id interactive / token KDF",
    )
    r.finish()


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"   ({time.perf_counter() - start:.1f} s)")
    sys.exit(0)
