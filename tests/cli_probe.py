"""A ``shiftbrief`` process that says which modules it loaded: run as
``python -c PROBE '["ingest", "--json"]'``; its last line on standard error is ``MODULES`` and a
JSON list of the top-level modules it had loaded on exit (tests/test_startup.py,
tests/test_plain_pass.py)."""

from __future__ import annotations

PROBE = """
import json, sys
from shiftbrief.cli import main
sys.argv = ["shiftbrief", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
print("MODULES " + json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
sys.exit(code)
"""
