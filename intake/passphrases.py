"""How strong the recovery passphrase must be: it is all that stands between a copy of the recovery key and
every channel key, guessed offline at the attacker's leisure (issue 9, finding 11).

Rule: at least MIN_LENGTH characters AND an estimated 10^MIN_GUESSES_LOG10 guesses by zxcvbn (Dropbox's
estimator, which knows common passwords, English words, names, dates, keyboard walks, repeats and
sequences). Against Argon2id at 64 MiB, 10^14 guesses keep a well-funded attacker (about 10^6 guesses a
second) busy for years. zxcvbn has no Thai dictionary, so it rates every Thai text like random characters:
the length floor is what keeps a short Thai phrase out. Four or more unrelated words pass easily.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 16
MIN_GUESSES_LOG10 = 14.0


def weakness(passphrase: str) -> str | None:
    """Why `passphrase` is too weak for the recovery key, in one line; None when it is strong enough."""
    if len(passphrase) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    estimate = zxcvbn(passphrase[:100])  # zxcvbn is slow on very long input; 100 characters decide
    if float(estimate["guesses_log10"]) < MIN_GUESSES_LOG10:
        hint = estimate.get("feedback", {}).get("warning") or "too easy to guess"
        return f"is too easy to guess offline ({hint}); use four or more unrelated words"
    return None
