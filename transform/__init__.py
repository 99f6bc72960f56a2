"""The dbt runner (``traces build``) and the Python the dbt models under ``models/`` import. A middle layer: imports only the foundation."""
