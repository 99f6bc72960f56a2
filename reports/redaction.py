"""Secrets and personal data replaced by ``--redact``: one RE2 pattern per kind.

Patterns run over the JSON text of each exported record, so they cover tool
outputs, call arguments and anything the assistant echoed. Each match becomes
``[REDACTED:<kind>]``. Order matters: more specific kinds first.
"""

from __future__ import annotations

REDACTION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("bearer_token", r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai_key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("stripe_key", r"\b[sr]k_live_[0-9A-Za-z]{24,}"),
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
)


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"
