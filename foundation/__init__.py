"""The bottom layer: settings, paths, errors, opening the warehouse (DuckDB, Spark, a Spark cluster) and the label file beside it. Imports none of the other layers."""
