"""Load test of the HTTP API on loopback with wrk (Debian package `wrk`).

Serves a fresh ccm-2018 ledger with `treaty serve` (one uvicorn process) and measures, for
10 s each with 4 connections: GET /health (the baseline: HTTP and auth-free routing only),
GET /v1/states/BEN (a status query), and POST /v1/states/BEN/facts (a command that writes an
event, synchronous=FULL). Prints requests/s, latency percentiles and ratios to the baseline.

Usage: python bench/bench_http.py [--seconds 10] [--connections 4]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.accounts import Accounts  # noqa: E402
from services.bootstrap import bootstrap  # noqa: E402
from services.loader import load_dataset  # noqa: E402
from services.settings import Settings  # noqa: E402

POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"fact": "report_submitted", "occurred_on": "2019-01-01", "source": "load test", ' ..
               '"note": "request ' .. counter .. '", "fields": {"report": "voluntary"}}'
  return wrk.format(nil, nil, nil, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, token: str | None, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if m:
            factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            result[f"p{pct}_ms"] = float(m.group(1)) * factor
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["errors"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.sqlite"
        system = bootstrap(Settings(db_path=db))
        load_dataset(system.ledger, system.commands, "ccm-2018", now=datetime.now(UTC))
        token = Accounts(system.ledger).add(username="load", role="isu", area=None, by="bench", now=datetime.now(UTC))
        system.close()
        port = free_port()
        env = {**os.environ, "TREATY_DB_PATH": str(db)}
        server = subprocess.Popen([str(Path(sys.executable).parent / "treaty"), "serve", "--port", str(port)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "Treaty Ledger API on ..." is printed just before it listens
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):  # the banner precedes the bind by a moment: try to connect
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            script = Path(tmp) / "post.lua"
            script.write_text(POST_LUA)
            results = {
                "health (baseline)": wrk(f"{base}/health", None, args.seconds, args.connections),
                "status query GET /v1/states/BEN": wrk(f"{base}/v1/states/BEN?as_of=2018-06-30", token,
                                                      args.seconds, args.connections),
                "command POST /v1/states/BEN/facts": wrk(f"{base}/v1/states/BEN/facts", token, args.seconds,
                                                         args.connections, script),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    baseline = results["health (baseline)"]["rps"]
    print(f"wrk, {args.connections} connections, {args.seconds} s each, one uvicorn process on loopback:")
    for name, r in results.items():
        print(f"  {name:<36} {r['rps']:>8.0f} req/s ({r['rps'] / baseline:.2f} of baseline)  "
              f"p50 {r.get('p50_ms', 0):.1f} ms  p90 {r.get('p90_ms', 0):.1f} ms  p99 {r.get('p99_ms', 0):.1f} ms  "
              f"non-2xx {r['errors']:.0f}")


if __name__ == "__main__":
    main()
