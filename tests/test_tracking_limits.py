"""Tracking forgives and still stops guessing (citizen/guessing.py, issue 11 item 7): what was typed stays,
429 says how long, a right code opens whatever its neighbours typed, the ceiling is atomic."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from flask import Flask

from intake import cases

from .citizen_helpers import submit, token_of, track
from .conftest import csrf_token
from .i18n_helpers import thai

WRONG = "AAAAA-AAAAA-AAAAA-AAAAA"


def _app(make_app: Any, **limits: str) -> Flask:
    defaults = {"RATELIMIT_TRACK_FAILURES": "3 per minute", "RATELIMIT_TRACK_CEILING": "1000 per hour",
                "RATELIMIT_TRACK_PREFIX": "1000 per day", "RATELIMIT_SUBMIT": "1000 per minute"}
    app: Flask = make_app(**{**defaults, **limits})
    return app


def _wrong(n: int) -> str:
    """A well-formed code that opens nothing, a different first group for each n."""
    alphabet = "23456789"
    return f"{alphabet[n % 8]}{alphabet[n // 8 % 8]}ZZZ-AAAAA-AAAAA-AAAAA"


def test_a_wrong_code_is_said_plainly_and_kept_in_the_field(make_app: Any) -> None:
    app = _app(make_app)
    client = app.test_client()
    response = track(client, "7kq2m x9pab")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and 'value="7kq2m x9pab"' in page
    assert thai("No case was found for this code. Check it and try again.") in page


def test_a_code_typed_with_the_keyboard_left_in_thai_is_told_to_switch(make_app: Any) -> None:
    """The 360 px walk: with the keyboard in Thai, "7KQ2M" comes out as Thai letters; say why."""
    app = _app(make_app)
    client = app.test_client()
    typed = "ึาๆ/ท-ปตยฟิ"  # 7kq2m x9pab on the Kedmanee layout
    page = track(client, typed).get_data(as_text=True)
    hint = thai("The code you typed has Thai letters: your keyboard may be set to Thai. Switch it to English "
                "(the code has only the letters A to Z and the digits 0 to 9) and type the code again.")
    assert hint in page and hint != "The code you typed has Thai letters"[:10]
    assert hint not in track(client, "7kq2m x9pab").get_data(as_text=True)
    assert hint not in track(client, "๗KQ๒M").get_data(as_text=True)  # Thai digits are read as digits


def test_a_right_code_opens_after_a_neighbours_wrong_ones_and_forgives_them(make_app: Any) -> None:
    app = _app(make_app)
    neighbour, citizen = app.test_client(), app.test_client()  # one village Wi-Fi: one address
    token = token_of(submit(citizen, "feedback"))
    for n in range(3):
        assert track(neighbour, _wrong(n)).status_code == 404
    blocked = track(neighbour, _wrong(3))
    assert blocked.status_code == 429
    assert track(citizen, token).status_code == 200  # the right code opens all the same
    assert track(neighbour, _wrong(4)).status_code == 404  # and the success forgave the address


def test_the_429_says_how_long_and_keeps_the_code(make_app: Any) -> None:
    app = _app(make_app, RATELIMIT_TRACK_FAILURES="2 per minute;3 per hour")
    client = app.test_client()
    for n in range(2):
        track(client, _wrong(n))
    first = track(client, _wrong(2))
    assert first.status_code == 429 and 1 <= int(first.headers["Retry-After"]) <= 60
    page = first.get_data(as_text=True)
    assert f'value="{_wrong(2)}"' in page and 'data-retry-after="' in page
    assert "นาที" in page and "รหัสที่ถูกต้อง" in page  # the wait in words; a right code still works
    second = track(client, _wrong(3))  # the next tier: the wait grows to the hour's window
    assert second.status_code == 429 and 60 < int(second.headers["Retry-After"]) <= 3600


def test_the_ceiling_caps_the_codes_looked_at_even_in_parallel(make_app: Any, monkeypatch: Any) -> None:
    app = _app(make_app, RATELIMIT_TRACK_FAILURES="1000 per hour", RATELIMIT_TRACK_CEILING="5 per hour")
    client = app.test_client()
    token = token_of(submit(client, "question", {"details": "ถาม"}))
    looked = []
    real = cases.find_by_token

    def counting(session: Any, typed: str) -> cases.CitizenCase:
        looked.append(typed)
        return real(session, typed)

    monkeypatch.setattr(cases, "find_by_token", counting)
    assert track(client, token).status_code == 200  # a right code is refunded: it costs nothing
    csrf = csrf_token(client, "/track")
    answers: list[int] = []
    start = threading.Barrier(12)

    session_cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert session_cookie is not None

    def guess(n: int) -> None:
        c = app.test_client()
        c.set_cookie(app.config["SESSION_COOKIE_NAME"], session_cookie.value)
        start.wait()
        answers.append(c.post("/track", data={"csrf_token": csrf, "token": _wrong(n)}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(looked) == 1 + 5  # the right code, then never more than the ceiling of wrong ones
    assert sorted(answers) == [404] * 5 + [429] * 7
    refused = track(client, token)  # over the ceiling even a right code waits: the one case it does
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert thai("Too many attempts") in refused.get_data(as_text=True)


def test_a_code_prefix_guessed_from_many_addresses_is_not_looked_at_again(make_app: Any) -> None:
    app = _app(make_app, RATELIMIT_TRACK_PREFIX="3 per day", RATELIMIT_TRACK_FAILURES="1000 per hour")
    prefix = "7KQ2M"
    for n in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        assert track(client, f"{prefix}-B{n + 2}BBB-CCCCC-DDDDD").status_code == 404
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "198.51.100.99"
    held = track(fresh, f"{prefix}-EEEEE-FFFFF-GGGGG")
    assert held.status_code == 429 and "Retry-After" in held.headers
    assert track(fresh, "8KQ2M-EEEEE-FFFFF-GGGGG").status_code == 404  # another start: looked at


@pytest.mark.parametrize("path", ["/track/followup", "/track/satisfaction"])
def test_every_way_of_sending_a_code_goes_through_the_limits(make_app: Any, path: str) -> None:
    app = _app(make_app, RATELIMIT_TRACK_FAILURES="2 per minute")
    client = app.test_client()
    for _ in range(2):
        response = client.post(path, data={"csrf_token": csrf_token(client, "/track"), "token": WRONG,
                                           "message": "x", "rating": "3"})
        assert response.status_code == 404
    assert track(client, WRONG).status_code == 429
    assert re.search(r'value="AAAAA-AAAAA-AAAAA-AAAAA"', track(client, WRONG).get_data(as_text=True))


def test_other_limits_say_how_long_too(make_app: Any) -> None:
    app = _app(make_app, RATELIMIT_SUBMIT="1 per minute")
    client = app.test_client()
    submit(client, "question", {"details": "หนึ่ง"})
    refused = submit(client, "question", {"details": "สอง"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "นาที" in refused.get_data(as_text=True)
