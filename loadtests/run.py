"""`make loadtest`: a bounded locust run against `safecode run`, started and stopped here.

Traffic goes to 127.0.0.1 only, for a fixed time with a fixed number of users.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from loadtests.product import running_product

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def main() -> int:
    parser = argparse.ArgumentParser(description="bounded locust load test of safecode run")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--run-time", default="20s")
    args = parser.parse_args()
    with running_product() as base_url:
        return subprocess.call(
            [
                sys.executable, "-m", "locust",
                "-f", str(LOCUSTFILE),
                "--headless", "--only-summary",
                "--host", base_url,
                "--users", str(args.users),
                "--spawn-rate", str(args.spawn_rate),
                "--run-time", args.run_time,
                "--stop-timeout", "5",
            ]
        )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
