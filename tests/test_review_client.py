"""The client after review: an answer whose body is not JSON (a proxy's error page, garbage)
is an error the client classifies — retried, or refused — never a decode error."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from dispatcher.client import ApiError, DispatcherClient, LinkDown

from .helpers import KIOSK


async def answering(status: int, body: bytes, hits: list[int]) -> web.AppRunner:
    """A server that answers every request with `status` and `body` (counted in `hits`)."""
    async def handler(request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(status=status, body=body, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def url_of(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


@pytest.mark.parametrize("body", [b"<html><body>Bad Gateway, sort of</body></html>",
                                  b"\xff\xfe\x00garbage", b"{\"ticket\": "])
def test_a_success_whose_body_is_not_json_is_retried_then_gives_link_down(body: bytes) -> None:
    hits: list[int] = []

    async def scenario() -> None:
        runner = await answering(200, body, hits)
        try:
            async with DispatcherClient(url_of(runner), KIOSK, retry_for=1.0) as client:
                with pytest.raises(LinkDown, match="not JSON"):
                    await client.issue_ticket("sb-card")
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert 2 <= len(hits) <= 10  # asked again under the same request id, with a backoff


def test_an_error_page_instead_of_a_json_error_is_a_refusal_not_retried() -> None:
    hits: list[int] = []

    async def scenario() -> ApiError:
        runner = await answering(404, b"<html><h1>404 Not Found</h1>nginx</html>", hits)
        try:
            async with DispatcherClient(url_of(runner), KIOSK, retry_for=5.0) as client:
                with pytest.raises(ApiError) as err:
                    await client.issue_ticket("sb-card")
                return err.value
        finally:
            await runner.cleanup()

    error = asyncio.run(scenario())
    assert (error.status, error.code) == (404, "bad_response")
    assert "<html>" not in error.message  # shown to residents: no markup
    assert len(hits) == 1
