"""A dbt process that gets ready before it is needed: ``python -m transform.dbt_worker ARGS``.

It imports dbt and parses the project (about 3 s, none of it touching the warehouse), then
waits for one line on stdin: ``go`` runs ``dbt ARGS`` with the parsed manifest, anything else
(or end of input, as when the parent dies) exits without running. ``traces run`` starts it
before the ingest, so dbt's start-up overlaps the ingest instead of following it.
"""

from __future__ import annotations

import sys

GO = "go"


def main(args: list[str]) -> int:
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    parsed = dbtRunner().invoke(["--quiet", "parse", *_project_flags(args)])
    # A failed parse is not reported here: without a manifest the build below parses again
    # and reports the error where the user expects it.
    manifest = parsed.result if parsed.success and isinstance(parsed.result, Manifest) else None
    if sys.stdin.readline().strip() != GO:
        return 0
    sys.stdout.flush()
    result = dbtRunner(manifest=manifest).invoke(args)
    return 0 if result.success else 1


def _project_flags(args: list[str]) -> list[str]:
    flags: list[str] = []
    for name in ("--project-dir", "--profiles-dir"):
        if name in args:
            flags += [name, args[args.index(name) + 1]]
    return flags


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
