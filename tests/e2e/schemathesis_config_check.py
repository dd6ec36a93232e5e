"""Checks that tests/e2e/schemathesis.toml means what it says, as the run
resolves it: every check on for every operation, except the ones an
operation's exception turns off (a check named on the command line would
override those; see the comment in the toml). Prints one line per operation
whose checks differ from the defaults, and exits 1 on a mismatch.

Run with the Schemathesis virtualenv's python: <venv>/bin/python this.py
"""

import sys

import schemathesis
from schemathesis.config import SchemathesisConfig

EXPECTED_OFF = {"getDocumentContent": {"response_schema_conformance"}}

config = SchemathesisConfig.from_path("tests/e2e/schemathesis.toml")
schema = schemathesis.openapi.from_path("docs/openapi.json", config=config)
wrong = []
for result in schema.get_all_operations():
    operation = result.ok()
    op_id = operation.definition.raw.get("operationId")
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        checks = schema.config.checks_config_for(operation=operation, phase=phase)
        names = [n for n in checks.__dataclass_fields__ if not n.startswith("_")]
        off = {n for n in names if not getattr(checks, n).enabled}
        if off != EXPECTED_OFF.get(op_id, set()):
            wrong.append(f"{op_id} {phase}: off {sorted(off)}")
for line in wrong:
    print(line)
sys.exit(1 if wrong else 0)
