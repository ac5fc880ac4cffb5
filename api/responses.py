"""The service's JSON response: UTF-8 as is (Cyrillic stays readable, no ``\\uXXXX`` escapes), compact."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class UTF8JSONResponse(JSONResponse):
    """``application/json`` rendered with ``ensure_ascii=False``; the app's default response class."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")
