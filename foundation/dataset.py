"""The dataset the warehouse is made for, named once: the ingest reads it from the hub by
default, and the report lists each of its configs even when none of their rows are loaded."""

from __future__ import annotations

HUB_DATASET = "lambda/hermes-agent-reasoning-traces"
HUB_CONFIGS: tuple[str, ...] = ("kimi", "glm-5.1")
