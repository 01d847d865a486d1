"""Write the OpenAPI document to api/openapi.json: `python -m api.openapi`.

A test fails when the file is stale, so the document in the repository is always the served one.
"""

from __future__ import annotations

import json
from pathlib import Path

from api.app import openapi_document

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def render() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    OPENAPI_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")


if __name__ == "__main__":
    main()
