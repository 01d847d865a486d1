"""Pages for supervisors and auditors under /ui: server-rendered, bilingual, printable."""

from __future__ import annotations

from api.ui.routes import router

__all__ = ["router"]
