"""The report as an Evidence project: the pages of reports/pages.yml with Evidence's live charts."""

from reports.evidence.project import EvidenceProjectError, write_evidence_project

__all__ = ["EvidenceProjectError", "write_evidence_project"]
