"""A second server for tests/test_audit.py: appends audit entries from its own process, as another app
server sharing the database would (python -m tests.audit_writer NAME COUNT GO_FILE)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from intake import audit, create_app, db


def main(name: str, count: int, go: Path) -> None:
    app = create_app()
    with app.app_context():
        session = db.session()
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:  # start together with the other writer
            time.sleep(0.01)
        for i in range(count):
            audit.tail(session)  # a request reads before it writes
            audit.record(session, name, "case.view", i)
            session.commit()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
