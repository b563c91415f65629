"""The door API: scan, undo, walk-ins, offline sync and today's list.

Used by the scanner page (session) and by third-party scanners (token). Thin:
requests are validated by attendance.serializers, decisions are
attendance.services', who may act at which door is venues.selectors'. Every
error has one shape, {code, message, field}, in the user's language.
"""

import datetime as dt
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance import serializers as s
from attendance.door_auth import (
    CachedTokenAuthentication,
    RememberedTokenAuthentication,
    door_venues_of_token,
    forget_token,
    grant_read,
    is_remembered,
)
from attendance.models import CheckIn, WalkIn
from attendance.selectors import occurrences_of_day, tickets_for_day, venue_day_counts
from attendance.services import ScanNotConfirmed, checkin_undo, ticket_redeem, walkin_record, walkin_undo
from attendance.texts import SCAN_COLOURS, SCAN_MESSAGES
from common.errors import DomainError
from venues.models import Venue
from venues.selectors import DOOR, venues_by_slug_for_user


class DoorError(DomainError):
    """A refused request: code, translated message, the field at fault, an HTTP status."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(code, message, field=field)
        self.status = status

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


def _first_error(errors, path=()):
    """The first (path, ErrorDetail) in DRF's nested serializer errors."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            found = _first_error(value, path + (str(key),))
            if found:
                return found
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, (dict, list)):
                found = _first_error(value, path + (str(index),))
                if found:
                    return found
            elif value:
                return path, value
    elif errors:
        return path, errors
    return None


def _error_from_validation(errors) -> DoorError:
    path, detail = _first_error(errors) or ((), _("Bad request"))
    field = ".".join(p for p in path if p != "non_field_errors") or None
    return DoorError(getattr(detail, "code", None) or "invalid", str(detail), field=field)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise _error_from_validation(serializer.errors)
    return serializer.validated_data


def _not_door_staff() -> DoorError:
    return DoorError("not_door_staff", _("You do not work at the door of this venue."), status=403)


class Doors:
    """Where the user works the door: brought by a scanner's token
    (attendance.door_auth), else read once per request in one query.
    Only managers and door staff have doors, and their roles name the venue."""

    def __init__(self, request):
        venues = door_venues_of_token(request.auth)
        self._venues = venues_by_slug_for_user(request.user, DOOR) if venues is False else venues

    def exists(self) -> bool:
        return self._venues is None or bool(self._venues)

    def get(self, slug: str) -> Venue | None:
        if self._venues is None:
            return Venue.objects.filter(slug=slug).first()
        return self._venues.get(slug)

    def has(self, venue_id: int) -> bool:
        return self._venues is None or any(v.pk == venue_id for v in self._venues.values())


def _door_venue(doors: Doors, slug: str) -> Venue:
    """The venue `slug`, if among `doors` (where the user works the door)."""
    venue = doors.get(slug)
    if venue is None:
        if Venue.objects.filter(slug=slug).exists():
            raise _not_door_staff()
        raise DoorError("unknown_venue", _("Unknown venue."), field="venue")
    return venue


@contextmanager
def _refusals():
    """A service's refusal (ScanError, WalkInError: a DomainError) answered as bad input."""
    try:
        yield
    except DoorError:
        raise
    except DomainError as error:
        raise DoorError(error.code, error.message, field=error.field) from error


def _counts(venue: Venue, day: dt.date | None = None) -> dict:
    return venue_day_counts(venue=venue, day=day or timezone.localdate())


# -- the actions, shared by the single endpoints and the sync batch ------------------


def _scan(*, venue: Venue, data: dict, user, device: str = "", with_counts: bool = False, confirm=None) -> dict:
    """The scan's answer; with `with_counts`, its "counts" too (read with the scan).
    `confirm`: see ticket_redeem."""
    with _refusals():
        outcome = ticket_redeem(
            code=data["code"],
            venue=venue,
            scan_id=data["scan_id"],
            occurrence_id=data.get("occurrence_id"),
            headcount=data.get("headcount"),
            device=data.get("device") or device,
            user=user,
            scanned_at=data.get("scanned_at"),
            offline=data.get("offline", False),
            with_counts=with_counts,
            confirm=confirm,
        )
    if outcome.checkin.venue_id != venue.pk:
        # A scan id is the client's promise of uniqueness; never answer another venue's scan.
        raise DoorError(
            "scan_id_taken", _("This scan id was already used at another venue."), field="scan_id", status=409
        )
    answer = {
        "result": outcome.result,
        "colour": SCAN_COLOURS[outcome.result],
        "message": str(SCAN_MESSAGES[outcome.result]),
        "scan_id": outcome.checkin.scan_id,
        "details": outcome.details,
    }
    if with_counts:
        answer["counts"] = outcome.counts if outcome.counts is not None else _counts(venue)
    return answer


def _undo_scan(*, scan_id: str, user, venue: Venue | None = None, doors=None) -> tuple[Venue, dict]:
    """Undo at `venue` (sync), or at the scan's venue if among `doors`."""
    checkin = CheckIn.objects.filter(scan_id=scan_id).select_related("venue").first()
    if checkin is None or (venue is not None and checkin.venue_id != venue.pk):
        raise DoorError("unknown_scan", _("There is no scan with this id."), field="scan_id", status=404)
    if venue is None and not doors.has(checkin.venue_id):
        raise _not_door_staff()
    checkin = checkin_undo(scan_id=scan_id, user=user)
    return checkin.venue, {"scan_id": scan_id, "undone": checkin.undone_at is not None, "result": checkin.result}


def _walkin_dict(walkin: WalkIn, created: bool) -> dict:
    return {
        "client_id": walkin.client_id,
        "created": created,
        "count": walkin.count,
        "audience": walkin.audience,
        "occurrence_id": walkin.occurrence_id,
        "day": walkin.day,
        "undone": walkin.undone_at is not None,
    }


def _walkin(*, venue: Venue, data: dict, user, device: str = "") -> dict:
    with _refusals():
        walkin, created = walkin_record(
            venue=venue,
            client_id=data["client_id"],
            count=data["count"],
            occurrence_id=data.get("occurrence_id"),
            audience=data.get("audience") or "",
            device=data.get("device") or device,
            user=user,
            recorded_at=data.get("recorded_at"),
            offline=data.get("offline", False),
        )
    if walkin.venue_id != venue.pk:
        raise DoorError(
            "client_id_taken", _("This id was already used at another venue."), field="client_id", status=409
        )
    return _walkin_dict(walkin, created)


def _undo_walkin(*, client_id: str, venue: Venue | None = None, doors=None) -> tuple[Venue, dict]:
    walkin = WalkIn.objects.filter(client_id=client_id).select_related("venue").first()
    if walkin is None or (venue is not None and walkin.venue_id != venue.pk):
        raise DoorError("unknown_walkin", _("There is no walk-in count with this id."), field="client_id", status=404)
    if venue is None and not doors.has(walkin.venue_id):
        raise _not_door_staff()
    walkin = walkin_undo(client_id=client_id)
    return walkin.venue, _walkin_dict(walkin, created=False)


# -- views ----------------------------------------------------------------------------


class WorksAtADoor(BasePermission):
    """Managers and door staff of at least one venue; the venue itself is checked per request."""

    message = _("Only managers and door staff of a venue may use the door.")
    code = "not_door_staff"

    def has_permission(self, request, view):
        return view.doors.exists()


ERRORS = {
    400: OpenApiResponse(s.DoorErrorSerializer, description="Bad input: {code, message, field}."),
    401: OpenApiResponse(s.DoorErrorSerializer, description="No or bad credentials."),
    403: OpenApiResponse(s.DoorErrorSerializer, description="Not a manager or door staff of the venue."),
}


class DoorAPIView(APIView):
    # Token first, so an anonymous client is told to authenticate (401, WWW-Authenticate).
    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, WorksAtADoor]
    parser_classes = [JSONParser]

    @cached_property
    def doors(self) -> Doors:
        """Venues where the user works the door (their roles are read once per request)."""
        return Doors(self.request)

    def handle_exception(self, exc):
        if isinstance(exc, DoorError):
            return Response(exc.as_dict(), status=exc.status)
        response = super().handle_exception(exc)
        if isinstance(exc, ValidationError):
            response.data = _error_from_validation(exc.detail).as_dict()
        elif isinstance(response.data, dict) and "detail" in response.data:
            detail = response.data["detail"]
            response.data = {"code": getattr(detail, "code", None) or "error", "message": str(detail), "field": None}
        return response


class DoorScanView(DoorAPIView):
    # A scanner's token is answered from this process's memory, confirmed by the scan itself.
    authentication_classes = [RememberedTokenAuthentication, SessionAuthentication]

    @extend_schema(
        tags=["door"],
        operation_id="door_scan",
        summary="Redeem a scanned ticket",
        description=(
            "Judges the scan (ok, already_checked_in, wrong_occurrence, wrong_venue, too_early, too_late, "
            "cancelled, waiting_list, unknown) and records it, refused scans too. A repeated scan_id answers "
            "the first result again and changes nothing."
        ),
        request=s.DoorScanSerializer,
        responses={200: s.DoorScanResultSerializer, **ERRORS, 409: OpenApiResponse(s.DoorErrorSerializer)},
    )
    def post(self, request):
        data = _valid(s.DoorScanSerializer, request.data)
        if is_remembered(request.auth):
            answer = self._scan_remembered(request, data)
            if answer is not None:
                return Response(answer)
            self._authenticate_again(request)
        venue = _door_venue(self.doors, data["venue"])
        return Response(_scan(venue=venue, data=data, user=request.user, with_counts=True))

    def _scan_remembered(self, request, data) -> dict | None:
        """The scan, its remembered token confirmed in the scan's own locking read;
        None, with nothing recorded, when the token no longer holds as remembered."""
        try:
            venue = _door_venue(self.doors, data["venue"])
        except DoorError:  # perhaps a door given, or a venue renamed, since it was remembered
            return None
        try:
            return _scan(
                venue=venue, data=data, user=request.user, with_counts=True, confirm=grant_read(request.auth, venue)
            )
        except ScanNotConfirmed:
            return None

    def _authenticate_again(self, request) -> None:
        """The remembered token no longer holds as it was: read it from the database
        (401 when it no longer authenticates, 403 when its user has no door left)."""
        key = request.auth.key
        forget_token(key)
        request.user, request.auth = CachedTokenAuthentication().authenticate_credentials(key)
        self.__dict__.pop("doors", None)
        self.check_permissions(request)


class DoorUndoView(DoorAPIView):
    @extend_schema(
        tags=["door"],
        operation_id="door_undo",
        summary="Undo an admitted scan",
        description="Gives the admitted people back to the ticket. Idempotent.",
        request=s.DoorUndoScanSerializer,
        responses={200: s.DoorUndoScanResultSerializer, **ERRORS, 404: OpenApiResponse(s.DoorErrorSerializer)},
    )
    def post(self, request):
        data = _valid(s.DoorUndoScanSerializer, request.data)
        venue, answer = _undo_scan(scan_id=data["scan_id"], user=request.user, doors=self.doors)
        return Response({**answer, "counts": _counts(venue)})


class DoorWalkInView(DoorAPIView):
    @extend_schema(
        tags=["door"],
        operation_id="door_walkin",
        summary="Count walk-in visitors (+1 / +N)",
        description="For a date at the venue, or for the venue's day. A repeated client_id is a no-op (200).",
        request=s.DoorWalkInSerializer,
        responses={
            201: s.DoorWalkInResultSerializer,
            200: s.DoorWalkInResultSerializer,
            **ERRORS,
            409: OpenApiResponse(s.DoorErrorSerializer),
        },
    )
    def post(self, request):
        data = _valid(s.DoorWalkInSerializer, request.data)
        venue = _door_venue(self.doors, data["venue"])
        answer = _walkin(venue=venue, data=data, user=request.user)
        code = status.HTTP_201_CREATED if answer["created"] else status.HTTP_200_OK
        return Response({**answer, "counts": _counts(venue)}, status=code)


class DoorWalkInUndoView(DoorAPIView):
    @extend_schema(
        tags=["door"],
        operation_id="door_walkin_undo",
        summary="Undo a walk-in count",
        description="Idempotent.",
        request=s.DoorUndoWalkInSerializer,
        responses={200: s.DoorWalkInResultSerializer, **ERRORS, 404: OpenApiResponse(s.DoorErrorSerializer)},
    )
    def post(self, request):
        data = _valid(s.DoorUndoWalkInSerializer, request.data)
        venue, answer = _undo_walkin(client_id=data["client_id"], doors=self.doors)
        return Response({**answer, "counts": _counts(venue)})


_SYNC_RESULT_FIELDS = {
    "scan": ("result", "colour", "message", "details"),
    "undo_scan": ("result", "undone"),
    "walkin": ("created", "undone"),
    "undo_walkin": ("undone",),
}


class DoorSyncView(DoorAPIView):
    @extend_schema(
        tags=["door"],
        operation_id="door_sync",
        summary="Upload a queue of offline actions",
        description=(
            "Items are processed in order, each on its own and idempotently (scan_id / client_id), so a batch "
            "sent again changes nothing. A refused item gets status=error with {code, message, field}; it will "
            "never be accepted and can be dropped. Offline scans are judged at their scanned_at; when two "
            "devices admitted the same ticket, the earlier scan is kept and the other recorded as a duplicate."
        ),
        request=s.DoorSyncSerializer,
        responses={200: s.DoorSyncResultSerializer, **ERRORS},
    )
    def post(self, request):
        data = _valid(s.DoorSyncSerializer, request.data)
        venue = _door_venue(self.doors, data["venue"])
        results = [
            self._item(index, item, venue=venue, user=request.user, device=data["device"])
            for index, item in enumerate(data["items"])
        ]
        return Response({"results": results, "counts": _counts(venue)})

    @staticmethod
    def _item(index: int, item: dict, *, venue: Venue, user, device: str) -> dict:
        kind = item.get("type")
        key = str(item.get("scan_id") or item.get("client_id") or "")
        row = {"index": index, "type": str(kind or ""), "id": key}
        try:
            serializer_class = s.SYNC_ITEM_SERIALIZERS.get(kind) if isinstance(kind, str) else None
            if serializer_class is None:
                raise DoorError("bad_type", _("Unknown kind of item."), field="type")
            fields = _valid(serializer_class, item)
            if kind == "scan":
                answer = _scan(venue=venue, data=fields, user=user, device=device)
            elif kind == "walkin":
                answer = _walkin(venue=venue, data=fields, user=user, device=device)
            elif kind == "undo_scan":
                answer = _undo_scan(scan_id=fields["scan_id"], user=user, venue=venue)[1]
            else:
                answer = _undo_walkin(client_id=fields["client_id"], venue=venue)[1]
        except DoorError as error:
            return {**row, "status": "error", "error": error.as_dict()}
        kept = _SYNC_RESULT_FIELDS[kind]
        return {**row, "status": "done", **{name: answer[name] for name in kept}}


class DoorTodayView(DoorAPIView):
    @extend_schema(
        tags=["door"],
        operation_id="door_today",
        summary="Today's dates and tickets at a venue, for deciding offline",
        description=(
            "Tickets are listed by digest (SHA-256 hex of the QR content), never by secret: a scanner hashes "
            "what it reads and looks the digest up. Checks, in the server's order: status cancelled/declined, "
            "waiting/pending, the chosen date, a cancelled date, the window (checkin_opens_minutes before the "
            "start to checkin_closes_minutes after the end), then people already admitted."
        ),
        parameters=[s.DoorTodayQuerySerializer],
        responses={200: s.DoorTodaySerializer, **ERRORS},
    )
    def get(self, request):
        params = _valid(s.DoorTodayQuerySerializer, request.query_params)
        venue = _door_venue(self.doors, params["venue"])
        day = params.get("day") or timezone.localdate()
        occurrences = [
            {"id": o.pk, "title": o.programme.title, "start": o.start, "end": o.end, "cancelled": o.cancelled}
            for o in occurrences_of_day(venue=venue, day=day)
        ]
        return Response(
            {
                "venue": {"slug": venue.slug, "name": venue.name},
                "day": day,
                "server_time": timezone.now(),
                "checkin_opens_minutes": settings.CHECKIN_OPENS_MINUTES,
                "checkin_closes_minutes": settings.CHECKIN_CLOSES_MINUTES,
                "occurrences": occurrences,
                "tickets": tickets_for_day(venue=venue, day=day),
                "counts": _counts(venue, day),
            }
        )
