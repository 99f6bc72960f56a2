"""dbt on Spark, with Python models: ``python -m transform.spark_python ARGS`` runs ``dbt ARGS``.

dbt-spark submits a Python model only to Databricks (its ``all_purpose_cluster`` and
``job_cluster`` methods). This process adds one submission method, ``spark_session``, that runs the
model's compiled code on the build's own Spark: the session dbt already holds in this process
(profile method ``session``), or, when dbt talks to a cluster's Thrift server (method
``thrift``), the same cluster's driver through Spark Connect, which serves the same metastore.
The code dbt-spark compiles is the model, then ``df = model(dbt, spark)`` and the table write; it
needs nothing but a ``spark`` in its namespace. Work a model hands to ``mapInArrow`` runs on the
executors, which import the project like the export's token counting does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from foundation.paths import DB_ENV_VAR

SUBMISSION_METHOD = "spark_session"


class SparkSessionJob:
    """A Python model's code run where dbt runs its SQL (dbt-spark's ``PythonJobHelper`` protocol)."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.name = parsed_model.get("unique_id", parsed_model.get("name", "python model"))
        self.method = credentials.method

    def submit(self, compiled_code: str) -> None:
        code = compile(compiled_code, f"<{self.name}>", "exec")
        exec(code, {"spark": self._session(), "__name__": "__dbt_python_model__"})  # noqa: S102 - dbt's compiled model

    def _session(self) -> Any:
        if self.method == "thrift":
            from foundation.cluster import connect

            return connect(Path(os.environ[DB_ENV_VAR]))
        from pyspark.sql import SparkSession

        # The session dbt-spark's ``session`` method opened in this process.
        return SparkSession.builder.getOrCreate()


def register() -> None:
    """Offer ``spark_session`` beside dbt-spark's own submission methods."""
    from dbt.adapters.spark.impl import SparkAdapter

    own = SparkAdapter.python_submission_helpers.fget  # type: ignore[attr-defined]
    if getattr(own, "offers_spark_session", False):
        return

    def helpers(adapter: SparkAdapter) -> dict[str, Any]:
        return {**own(adapter), SUBMISSION_METHOD: SparkSessionJob}

    helpers.offers_spark_session = True  # type: ignore[attr-defined]
    SparkAdapter.python_submission_helpers = property(helpers)  # type: ignore[method-assign,assignment]


def main(args: list[str]) -> int:
    from dbt.cli.main import dbtRunner

    register()
    result = dbtRunner().invoke(args)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
