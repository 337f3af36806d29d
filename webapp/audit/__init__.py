"""审计: history search, the full read-only case, chain verification and CSV export (auditors only;
scope and role are checked in the engine)."""
from webapp.audit.views import bp

__all__ = ["bp"]
