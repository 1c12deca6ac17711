"""Audit the pinned runtime requirements with pip-audit; fail on a known vulnerability.

When the vulnerability service cannot be reached (no network beyond the package index), pip-audit can
only skip each package: that is reported plainly as "NOT audited" and does not fail the run, because
it says nothing either way about the pins. A vulnerability that is found always fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        proc = subprocess.run(  # noqa: S603 - fixed arguments
            [
                str(pip_audit),
                "--requirement",
                str(ROOT / "requirements.txt"),
                "--require-hashes",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--format",
                "json",
                "--output",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if not report.exists() or not report.read_text().strip():
            print("pip-audit: vulnerability service unreachable; requirements NOT audited.")
            print("  " + (proc.stderr.strip().splitlines() or ["(no output)"])[-1])
            return 0
        data = json.loads(report.read_text())
    deps = data.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    audited = len(deps) - len(skipped)
    for dep in vulnerable:
        ids = ", ".join(v["id"] for v in dep["vulns"])
        print(f"pip-audit: {dep['name']} {dep['version']} is vulnerable: {ids}")
    if vulnerable:
        return 1
    if audited == 0:
        print(
            f"pip-audit: the vulnerability service answered for none of the {len(deps)} pinned packages "
            "(no route to it from here); requirements NOT audited."
        )
        return 0
    print(f"pip-audit: {audited} packages audited, no known vulnerability; {len(skipped)} not auditable.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
