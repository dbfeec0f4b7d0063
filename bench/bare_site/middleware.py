"""A pass-through, sync-only middleware for the bare site.

TicketBoss's innermost middleware is sync-only, which makes Django run the
whole chain in sync mode in one thread under ASGI instead of hopping threads
for every MiddlewareMixin hook. Giving the bare site the same shape keeps its
ceiling as high as the stack allows, so the ratio measures TicketBoss's code.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SyncChainMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
