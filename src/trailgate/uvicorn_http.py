"""uvicorn's httptools protocol, keeping the request target of absolute-form requests.

A client that uses trailgate as an HTTP proxy sends `GET http://bucket.s3.example/key HTTP/1.1`;
RFC 9112 (section 3.2.2) says the server then routes by the URI's host and ignores Host. uvicorn's
httptools protocol keeps only the path of such a target, so this subclass puts the absolute
target (without its query) back into `raw_path`, as uvicorn's h11 protocol passes it; the app
(server.py) splits host and path from there. Everything else is uvicorn's, unchanged.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class AbsoluteFormHttpToolsProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        target = self.url
        super().on_headers_complete()
        head = target[:8].lower()
        if head.startswith((b"http://", b"https://")) and "raw_path" in self.scope:
            # The request's cycle holds this scope; its ASGI task has not run yet.
            self.scope["raw_path"] = target.split(b"?", 1)[0]
