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
# A password (an officer's, a host administrator's) is also guessed online, where the sign-in limits stop
# it, and offline only with the database AND the tenant's server secret (its wrap needs both): 10^8
# guesses refuse what every list holds ("0000000000", "1234567890", "password1234") without a rule on
# how it must look (NIST SP 800-63B: check against common passwords, no composition rules).
PASSWORD_MIN_GUESSES_LOG10 = 8.0


def weakness(passphrase: str) -> str | None:
    """Why `passphrase` is too weak for the recovery key, in one line; None when it is strong enough."""
    if len(passphrase) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    estimate = zxcvbn(passphrase[:100])  # zxcvbn is slow on very long input; 100 characters decide
    if float(estimate["guesses_log10"]) < MIN_GUESSES_LOG10:
        hint = estimate.get("feedback", {}).get("warning") or "too easy to guess"
        return f"is too easy to guess offline ({hint}); use four or more unrelated words"
    return None


def guessable(password: str) -> bool:
    """Whether `password` is among the first 10^8 guesses of an attacker (a common password, a run of
    digits, a keyboard row, a word with a year)."""
    return float(zxcvbn(password[:100])["guesses_log10"]) < PASSWORD_MIN_GUESSES_LOG10
