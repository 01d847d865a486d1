"""The library's JSON transcoder, encoding the very same bytes with less per-call work.

`JSONTranscoder.encode` goes through `json.JSONEncoder.encode`, whose `iterencode` builds a
fresh C encoder (and a float-formatting closure) on every call, and routes every date and
datetime through a generic lookup. Here the C encoder is built once with the same settings
(compact separators, `ensure_ascii=False`, the transcoder's own `default`), so the output is
byte for byte what the library writes (a hypothesis test holds them equal): stored events,
their chain links, and every reader stay as they are. Decoding is the library's.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding


class LedgerJSONTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self._encode_chunks: Callable[[Any, int], tuple[str, ...]] | None = None
        if c_make_encoder is not None:
            # markers=None: no circular-reference bookkeeping (event state is a tree; a cycle
            # would still fail, with RecursionError). A shared markers dict would also not be
            # safe across the API's threads.
            self._encode_chunks = c_make_encoder(
                None, self._encode_obj, encode_basestring, None, ":", ",", False, False, True
            )
        self._tagged: dict[type, Callable[[Any], dict[str, Any]]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        name, encode = transcoding.name, transcoding.encode
        self._tagged[transcoding.type] = lambda obj: {"_type_": name, "_data_": encode(obj)}

    def encode(self, obj: Any) -> bytes:
        if self._encode_chunks is None or isinstance(obj, str):
            return super().encode(obj)
        return "".join(self._encode_chunks(obj, 0)).encode("utf8")

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        tagged = self._tagged.get(type(o))
        if tagged is None:
            return super()._encode_obj(o)  # raises the library's TranscodingNotRegisteredError
        return tagged(o)
