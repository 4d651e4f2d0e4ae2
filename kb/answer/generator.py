"""Client for an optional OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, Azure OpenAI).

Only httpx is used (no openai package). Every failure is raised as GeneratorError with a Norwegian message;
`kb.answer` turns it into a notice and shows the extractive answer instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kb.config import Settings
from kb.errors import KBError

logger = logging.getLogger(__name__)


class GeneratorError(KBError):
    """The generator endpoint could not be reached or gave an unusable reply."""


@dataclass(frozen=True, slots=True)
class Generator:
    """An OpenAI-compatible `/chat/completions` endpoint.

    `url` is the base URL up to and including `/v1` (e.g. `http://127.0.0.1:11434/v1`). For Azure OpenAI,
    give the deployment URL and the key; the key is sent both as a Bearer token and as `api-key`.
    """

    url: str
    model: str = ""
    key: str | None = None
    timeout: float = 60.0
    max_tokens: int = 600
    temperature: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Generator | None:
        """The configured generator, or None when KB_GENERATOR_URL is not set."""
        if not settings.generator_url:
            return None
        return cls(
            url=settings.generator_url,
            model=settings.generator_model,
            key=settings.generator_key,
            timeout=settings.generator_timeout,
        )

    @property
    def endpoint(self) -> str:
        """The full chat-completions URL."""
        base = self.url.rstrip("/")
        if base.endswith("/chat/completions"):
            return base
        return base + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
            headers["api-key"] = self.key
        return headers

    def _body(self, messages: Sequence[dict[str, str]], stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": list(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": stream,
        }
        if self.model:
            body["model"] = self.model
        return body

    def complete(self, messages: Sequence[dict[str, str]]) -> str:
        """The whole reply at once.

        Raises:
            GeneratorError: timeout, connection error, HTTP error or a reply without text.
        """
        import httpx  # NOTE: here, not at the top: `kb ask` without a generator should not pay its import

        try:
            response = httpx.post(
                self.endpoint,
                json=self._body(messages, stream=False),
                headers=self._headers(),
                timeout=self.timeout,
            )
            response.raise_for_status()
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GeneratorError("Språkmodellen ga et svar som ikke kunne leses.") from exc
        if not isinstance(content, str):
            raise GeneratorError("Språkmodellen ga et tomt svar.")
        return content

    def _error(self, exc: Exception) -> GeneratorError:
        """A Norwegian message saying what went wrong with the endpoint and what to check."""
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return GeneratorError(_timeout_message(self.timeout))
        if isinstance(exc, httpx.HTTPStatusError):
            return GeneratorError(
                f"Språkmodellen svarte med feil {exc.response.status_code}; "
                "sjekk KB_GENERATOR_URL, KB_GENERATOR_MODEL og KB_GENERATOR_KEY."
            )
        return GeneratorError(_connect_message(self.url))

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]:
        """The reply in pieces as they arrive (server-sent events).

        Raises:
            GeneratorError: as for `complete`, also in the middle of the stream.
        """
        import httpx

        try:
            with httpx.stream(
                "POST",
                self.endpoint,
                json=self._body(messages, stream=True),
                headers=self._headers(),
                timeout=self.timeout,
            ) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    piece = _sse_piece(line)
                    if piece is None:
                        break
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc


def _sse_piece(line: str) -> str | None:
    """Text in one SSE line: '' for lines without text, None at the end marker."""
    line = line.strip()
    if not line.startswith("data:"):
        return ""
    payload = line[5:].strip()
    if payload == "[DONE]":
        return None
    try:
        data = json.loads(payload)
        choice = data["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        logger.debug("ignoring unreadable SSE line: %s", payload[:80])
        return ""
    delta = choice.get("delta") or choice.get("message") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _timeout_message(seconds: float) -> str:
    return (
        f"Språkmodellen svarte ikke innen {seconds:g} sekunder. Svaret under er satt sammen direkte fra "
        "dokumentene. Øk KB_GENERATOR_TIMEOUT hvis modellen er treg."
    )


def _connect_message(url: str) -> str:
    return (
        f"Fikk ikke kontakt med språkmodellen på {url}. Svaret under er satt sammen direkte fra dokumentene. "
        "Sjekk at tjenesten kjører og at KB_GENERATOR_URL er riktig."
    )
