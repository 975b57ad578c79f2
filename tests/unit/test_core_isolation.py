from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("faust", "aiokafka", "kafka", "prometheus_client")


def test_engine_imports_no_streaming_or_metrics_library() -> None:
    code = (
        "import sys, streams.core, streams.core.engine, streams.core.replay;"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
