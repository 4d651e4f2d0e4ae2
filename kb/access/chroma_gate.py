"""Token gate: a small reverse proxy that lets only requests with the network's token through to `chroma run`.

`chroma run` 1.x answers everyone, whatever CHROMA_SERVER_AUTHN_* says (SEE:
https://github.com/chroma-core/chroma/issues/4965). So the shared server listens on 127.0.0.1 only, and this
gate listens on the network and forwards a request only when it carries the token that chromadb's
`TokenAuthClientProvider` sends (`Authorization: Bearer <token>`, or `X-Chroma-Token: <token>`).

    python -m kb.access.chroma_gate --upstream http://127.0.0.1:8001 --host 0.0.0.0 --port 8000

The token comes from KB_CHROMA_TOKEN (Settings), never from the command line, where `ps` would show it.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Mapping

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kb.errors import KBError

logger = logging.getLogger(__name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection; host and content-length are set anew.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
RESPONSE_DROP = (HOP_BY_HOP - {"content-length"}) | {"date", "server"}  # uvicorn adds its own date and server
TOKEN_HEADERS = {"authorization", "x-chroma-token"}  # never forwarded: the server behind needs no token
# NOTE: Chroma's error shape, so the chromadb client raises ChromaAuthError with our message.
REFUSED = {"error": "AuthError", "message": "Mangler gyldig token. Sjekk KB_CHROMA_TOKEN og prøv igjen."}
TIMEOUT = httpx.Timeout(300.0, connect=5.0)  # a large `add` can take long; a dead upstream should not


def token_ok(headers: Mapping[str, str], token: str) -> bool:
    """Whether the request headers carry `token` as a bearer token or in X-Chroma-Token (case-insensitive keys)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    scheme, _, bearer = lowered.get("authorization", "").partition(" ")
    candidates = [bearer.strip() if scheme.lower() == "bearer" else "", lowered.get("x-chroma-token", "").strip()]
    expected = token.encode()
    # NOTE: compare every candidate (no short circuit), each in constant time.
    results = [hmac.compare_digest(candidate.encode(), expected) for candidate in candidates]
    return bool(token) and any(results)


def make_app(upstream: str, token: str) -> Starlette:
    """The gate as an ASGI app forwarding to `upstream` (e.g. http://127.0.0.1:8001)."""
    if not token or not token.strip():
        raise KBError("Token-porten starter ikke uten token. Sett KB_CHROMA_TOKEN (i miljøet eller i .env).")
    base = upstream.rstrip("/")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            app.state.client = client
            yield

    async def forward(request: Request) -> Response:
        if not token_ok(request.headers, token):
            logger.warning(
                "Avviste %s %s fra %s", request.method, request.url.path, getattr(request.client, "host", "?")
            )
            return JSONResponse(REFUSED, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        client: httpx.AsyncClient = request.app.state.client
        headers = [(key, value) for key, value in request.headers.items() if key not in HOP_BY_HOP | TOKEN_HEADERS]
        # NOTE: the raw path and query, so percent-escapes reach Chroma exactly as the client sent them.
        target = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        if request.url.query:
            target += "?" + request.url.query
        outgoing = client.build_request(request.method, target, headers=headers, content=await request.body())
        try:
            answer = await client.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            logger.error("Chroma-serveren på %s svarer ikke: %s", base, exc)
            message = "Token-porten får ikke kontakt med Chroma-serveren bak seg. Sjekk at `chroma run` kjører."
            return JSONResponse({"error": "ChromaError", "message": message}, status_code=502)
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() not in RESPONSE_DROP},
            background=BackgroundTask(answer.aclose),
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=METHODS)], lifespan=lifespan)


def serve(upstream: str, host: str, port: int, token: str) -> None:
    """Run the gate with uvicorn until stopped."""
    import uvicorn

    app = make_app(upstream, token)
    logger.info("Token-porten lytter på %s:%s og slipper gjennom til %s", host, port, upstream)
    uvicorn.run(app, host=host, port=port, log_level="info")


def main(argv: list[str] | None = None) -> None:
    """`python -m kb.access.chroma_gate`: the token is read from KB_CHROMA_TOKEN, never from the command line."""
    from kb.config import Settings

    parser = argparse.ArgumentParser(prog="python -m kb.access.chroma_gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", default="http://127.0.0.1:8001", help="URL of `chroma run` (loopback)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: the whole network)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # uvicorn's access log already shows every request
    try:
        serve(args.upstream, args.host, args.port, Settings().chroma_token or "")
    except KBError as exc:
        parser.exit(2, f"Feil: {exc}\n")


if __name__ == "__main__":
    main()
