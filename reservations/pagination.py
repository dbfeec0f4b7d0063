"""Cursor pagination over a store's reservation positions (DRF's CursorPagination).

DRF's own cursor pagination pages a queryset; our stores are not querysets, so this
keeps DRF's opaque cursor (its encode/decode, `?cursor=`, the `next`/`previous`
links, the page shape) and drives it by the immutable, increasing `position` each
store gives a reservation (organizing.PageQuery). A position never moves, so a
page boundary is a fixed point while writes arrive: no row twice, none skipped.
A cursor that does not decode is a 400, never a 404 or a 500.
"""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from reservations import organizing
from reservations.domain import Reservation
from reservations.organizing import PageRow

# after, before, limit -> at most `limit` rows, oldest first (see organizing.PageQuery)
Fetch = Callable[[int | None, int | None, int], list[PageRow]]
INVALID_CURSOR = "The cursor is not one this server gave out; start again without it."


class PositionCursorPagination(CursorPagination):
    page_size = organizing.PAGE_LIMIT_DEFAULT
    max_page_size = organizing.PAGE_LIMIT_MAX
    page_size_query_param = "limit"
    cursor_query_description = "The `next` or `previous` link's cursor, as given."
    page_size_query_description = "Rows per page, 1 to 500 (default 50)."

    def get_page_size(self, request: Request) -> int:
        """The `limit` asked for; out of range is a 400, not silently clamped."""
        return organizing.validate_page_limit(request.query_params.get(self.page_size_query_param))

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None:
                int(cursor.position)  # ours always carry a whole-number position
        except (exceptions.NotFound, TypeError, ValueError):
            raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None
        return cursor

    def paginate_rows(self, fetch: Fetch, request: Request) -> list[Reservation]:
        """One page from `fetch`, remembering what the links need. One row more than
        the page is asked for, to know whether another page follows."""
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        position = None if self.cursor is None else int(self.cursor.position)
        self.reverse = bool(self.cursor and self.cursor.reverse)
        if self.reverse:
            rows = fetch(None, position, self.page_size + 1)
            self.has_previous = len(rows) > self.page_size
            rows = rows[-self.page_size :] if self.has_previous else rows
            self.has_next = True
        else:
            rows = fetch(position, None, self.page_size + 1)
            self.has_next = len(rows) > self.page_size
            rows = rows[: self.page_size]
            self.has_previous = position is not None
        self.rows = rows
        self.anchor = position
        return [row.reservation for row in rows]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if self.rows:
            return self._link(reverse=False, position=self.rows[-1].position)
        # An empty page reached backwards: go on from just before where it was asked.
        return self._link(reverse=False, position=self.anchor - 1)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if self.rows:
            return self._link(reverse=True, position=self.rows[0].position)
        # An empty page reached forwards: go back to the rows up to where it was asked.
        return self._link(reverse=True, position=self.anchor + 1)

    def _link(self, *, reverse: bool, position: int) -> str:
        return self.encode_cursor(Cursor(offset=0, reverse=reverse, position=str(position)))
