"""The door API: who may use it, what a scan answers, and counts that stay
exactly right under double scans, replayed sync batches and two offline devices."""

import datetime as dt
import json
import uuid

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from attendance.models import CheckIn, Ticket, WalkIn
from attendance.services import ticket_redeem, walkin_record
from events.models import Occurrence
from tests.access import login_as
from tests.attendance_helpers import make_occurrence, minutes_ago_today, register

ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]


def new_id() -> str:
    return uuid.uuid4().hex


def open_door(occurrence: Occurrence) -> Occurrence:
    """Move `occurrence` to have started 5 minutes ago (so it is today even just
    after midnight) for two hours: its door is open. Registration closes when a
    date starts, so tickets are made first and the date moved after."""
    start = timezone.now() - dt.timedelta(minutes=5)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    occurrence.refresh_from_db()
    return occurrence


@pytest.fixture
def occurrence(venue):
    return make_occurrence(venue=venue, capacity=60, days_ahead=1, group_bookings=True)


@pytest.fixture
def ticket(occurrence) -> Ticket:
    ticket = register(occurrence, party_size=2, full_name="Trần Thị Bình").registration.ticket
    open_door(occurrence)
    return ticket


@pytest.fixture
def api(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def post(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def counts(client, venue) -> dict:
    response = client.get("/api/door/today", {"venue": venue.slug})
    assert response.status_code == 200, response.content
    return response.json()["counts"]


# --- who may use it -------------------------------------------------------------------


def _calls(venue, ticket, owner):
    """One valid request per endpoint, with what it needs already on record."""
    scanned = ticket_redeem(code=ticket.secret, venue=venue, scan_id=new_id(), user=owner)
    walkin, _ = walkin_record(venue=venue, client_id=new_id(), count=2)
    return {
        "scan": ("post", "/api/door/scan", {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug}),
        "undo": ("post", "/api/door/undo", {"scan_id": scanned.checkin.scan_id}),
        "walkins": ("post", "/api/door/walkins", {"client_id": new_id(), "venue": venue.slug, "count": 1}),
        "walkins_undo": ("post", "/api/door/walkins/undo", {"client_id": walkin.client_id}),
        "sync": (
            "post", "/api/door/sync",
            {"venue": venue.slug, "device": "A", "items": [{"type": "walkin", "client_id": new_id(), "count": 1}]},
        ),
        "today": ("get", "/api/door/today", {"venue": venue.slug}),
    }


ENDPOINTS = ["scan", "undo", "walkins", "walkins_undo", "sync", "today"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_only_managers_and_door_staff_of_the_venue_may_use_the_door(api, request, venue, ticket, owner, endpoint, role):
    # given a user in some role and a valid request
    method, url, data = _calls(venue, ticket, owner)[endpoint]
    login_as(api, request, role)

    # when they send it
    response = api.get(url, data) if method == "get" else post(api, url, data)

    # then only the venue's manager and door staff get an answer
    body = response.json()
    if role in ("owner", "teammate"):
        assert response.status_code in (200, 201), body
    elif role == "anonymous":
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert body["code"] == "not_authenticated"
    else:
        assert response.status_code == 403
        assert body["code"] in ("not_door_staff", "permission_denied")
        assert body["message"]


def test_outsiders_may_not_undo_another_venues_scan(api, venue, ticket, teammate, outsider):
    # given a scan at the venue, and the manager of another venue
    scanned = ticket_redeem(code=ticket.secret, venue=venue, scan_id=new_id(), user=teammate)
    api.force_login(outsider)

    # when they try to undo it
    response = post(api, "/api/door/undo", {"scan_id": scanned.checkin.scan_id})

    # then they are refused and the visit stays
    assert response.status_code == 403 and response.json()["code"] == "not_door_staff"
    ticket.refresh_from_db()
    assert ticket.admitted == 2


def test_a_third_party_scanner_works_with_a_token(venue, ticket, teammate):
    # given a scanner app holding door staff's token (and no session)
    token, _ = Token.objects.get_or_create(user=teammate)
    scanner = APIClient()
    scanner.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    # when it downloads today's list and scans a ticket
    today = scanner.get("/api/door/today", {"venue": venue.slug})
    response = scanner.post(
        "/api/door/scan", {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug, "device": "gate-1"},
        format="json",
    )

    # then the ticket is admitted, recorded for that user and device
    assert today.status_code == 200 and [t["digest"] for t in today.json()["tickets"]] == [ticket.digest]
    assert response.status_code == 200, response.content
    assert response.json()["result"] == "ok"
    checkin = CheckIn.objects.get()
    assert checkin.user == teammate and checkin.device == "gate-1"


def test_a_bad_token_is_401(venue):
    scanner = APIClient()
    scanner.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = scanner.get("/api/door/today", {"venue": venue.slug})
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


# --- scanning -------------------------------------------------------------------------


def test_a_scan_answers_colour_translated_message_details_and_counts(api, venue, ticket, teammate):
    # given door staff at the venue
    api.force_login(teammate)
    sid = new_id()

    # when a valid ticket is scanned
    response = post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": sid, "venue": venue.slug})

    # then the door is told to let the party in
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "ok" and body["colour"] == "green"
    assert body["message"] == "Welcome: admitted"
    assert body["scan_id"] == sid
    assert body["details"]["name"] == "Trần Thị Bình"
    assert body["details"]["party_size"] == 2 and body["details"]["headcount"] == 2
    assert body["counts"] == {"checked_in": 2, "expected": 2, "walk_ins": 0}


def test_a_double_scan_is_amber_and_counts_once(api, venue, ticket, teammate):
    api.force_login(teammate)
    first = post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug, "device": "A"})
    second = post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug, "device": "B"})

    assert first.json()["result"] == "ok"
    body = second.json()
    assert body["result"] == "already_checked_in" and body["colour"] == "amber"
    assert body["message"] == "Already checked in"
    assert body["details"]["first_checked_in_by"] == "teammate" and body["details"]["first_device"] == "A"
    assert body["counts"]["checked_in"] == 2
    assert CheckIn.objects.count() == 2  # the refused scan is on the door log too


def test_the_same_scan_sent_again_is_a_no_op(api, venue, ticket, teammate):
    api.force_login(teammate)
    data = {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug}
    answers = [post(api, "/api/door/scan", data).json() for _ in range(3)]
    assert {a["result"] for a in answers} == {"ok"}
    assert CheckIn.objects.count() == 1 and counts(api, venue)["checked_in"] == 2


def test_a_group_checks_in_part_of_its_party(api, venue, occurrence, teammate):
    ticket = register(occurrence, kind="group", organisation="Trường THCS Lê Lợi", party_size=30).registration.ticket
    open_door(occurrence)
    api.force_login(teammate)

    response = post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug, "headcount": 27})

    body = response.json()
    assert body["result"] == "ok" and body["details"]["headcount"] == 27
    assert body["details"]["organisation"] == "Trường THCS Lê Lợi"
    assert body["counts"]["checked_in"] == 27


def test_a_ticket_for_another_date_tells_which(api, venue, ticket, teammate):
    other = make_occurrence(venue=venue, days_ahead=2, title="Triển lãm ảnh")
    api.force_login(teammate)
    response = post(
        api, "/api/door/scan", {"code": ticket.secret, "scan_id": new_id(), "venue": venue.slug, "occurrence_id": other.pk}
    )
    body = response.json()
    assert body["result"] == "wrong_occurrence" and body["colour"] == "amber"
    assert body["details"]["occurrence_id"] == ticket.registration.occurrence_id


def test_an_unknown_code_is_red_and_recorded(api, venue, teammate):
    api.force_login(teammate)
    response = post(api, "/api/door/scan", {"code": "not a ticket", "scan_id": new_id(), "venue": venue.slug})
    body = response.json()
    assert (body["result"], body["colour"], body["message"]) == ("unknown", "red", "Unknown code: not a ticket")
    assert CheckIn.objects.get().result == "unknown"


def test_the_answer_is_in_the_users_language(client, venue, ticket, teammate):
    client.force_login(teammate)
    response = post(client, "/api/door/scan", {"code": "x", "scan_id": new_id(), "venue": venue.slug}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "Unknown code: not a ticket"
    refused = post(client, "/api/door/scan", {"venue": venue.slug, "scan_id": new_id()}, HTTP_ACCEPT_LANGUAGE="vi")
    assert refused.json()["message"] == "Trường này là bắt buộc."  # DRF's own Vietnamese


def test_undo_gives_the_visit_back(api, venue, ticket, teammate):
    api.force_login(teammate)
    sid = new_id()
    post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": sid, "venue": venue.slug})

    answers = [post(api, "/api/door/undo", {"scan_id": sid}) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[-1].json()["undone"] is True
    assert answers[-1].json()["counts"]["checked_in"] == 0
    ticket.refresh_from_db()
    assert ticket.admitted == 0


def test_a_scan_id_from_another_venue_is_a_conflict(api, venue, other_venue, ticket, owner, outsider):
    # given a scan at the other venue
    scanned = ticket_redeem(code="whatever", venue=other_venue, scan_id=new_id(), user=outsider)
    api.force_login(owner)

    # when the same scan id is sent for this venue
    response = post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": scanned.checkin.scan_id, "venue": venue.slug})

    # then nothing of the other venue's scan is told
    assert response.status_code == 409
    assert response.json() == {"code": "scan_id_taken", "message": response.json()["message"], "field": "scan_id"}


# --- walk-ins ---------------------------------------------------------------------------


def test_walk_ins_count_once_and_undo(api, venue, occurrence, teammate):
    api.force_login(teammate)
    data = {"client_id": new_id(), "venue": venue.slug, "count": 3, "audience": "children", "occurrence_id": occurrence.pk}

    first = post(api, "/api/door/walkins", data)
    again = post(api, "/api/door/walkins", data)

    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["counts"]["walk_ins"] == 3
    undone = post(api, "/api/door/walkins/undo", {"client_id": data["client_id"]})
    assert undone.status_code == 200 and undone.json()["undone"] is True
    assert undone.json()["counts"]["walk_ins"] == 0
    assert WalkIn.objects.get().audience == "children"


# --- offline sync -------------------------------------------------------------------------


def test_a_sync_batch_replayed_three_times_changes_nothing(api, venue, occurrence, teammate):
    # given a queue from a phone that was offline: two tickets, an unknown code,
    # walk-ins, and an undone walk-in
    first = register(occurrence, party_size=2).registration.ticket
    second = register(occurrence, party_size=3).registration.ticket
    open_door(occurrence)
    api.force_login(teammate)
    at = minutes_ago_today(1).isoformat()
    wrong = new_id()
    batch = {
        "venue": venue.slug,
        "device": "phone-1",
        "items": [
            {"type": "scan", "code": first.secret, "scan_id": new_id(), "scanned_at": at},
            {"type": "scan", "code": second.secret, "scan_id": new_id(), "scanned_at": at, "headcount": 2},
            {"type": "scan", "code": "garbage", "scan_id": new_id(), "scanned_at": at},
            {"type": "walkin", "client_id": new_id(), "count": 4, "audience": "elderly", "recorded_at": at},
            {"type": "walkin", "client_id": wrong, "count": 9, "recorded_at": at},
            {"type": "undo_walkin", "client_id": wrong},
        ],
    }

    # when the batch is uploaded three times (the answer got lost twice)
    answers = [post(api, "/api/door/sync", batch) for _ in range(3)]

    # then every item was done once, and the counts are exactly right
    for response in answers:
        assert response.status_code == 200, response.content
        assert [r["status"] for r in response.json()["results"]] == ["done"] * 6
        assert response.json()["counts"] == {"checked_in": 4, "expected": 5, "walk_ins": 4}
    results = answers[-1].json()["results"]
    assert [r.get("result") for r in results[:3]] == ["ok", "ok", "unknown"]
    assert results[3]["created"] is False and results[5]["undone"] is True
    assert CheckIn.objects.count() == 3 and WalkIn.objects.count() == 2
    assert set(CheckIn.objects.values_list("offline", flat=True)) == {True}
    assert set(CheckIn.objects.values_list("device", flat=True)) == {"phone-1"}


def test_an_offline_scan_then_its_undo_in_one_batch(api, venue, ticket, teammate):
    api.force_login(teammate)
    sid = new_id()
    batch = {
        "venue": venue.slug,
        "items": [{"type": "scan", "code": ticket.secret, "scan_id": sid}, {"type": "undo_scan", "scan_id": sid}],
    }
    for _ in range(3):
        body = post(api, "/api/door/sync", batch).json()
    assert [r["status"] for r in body["results"]] == ["done", "done"]
    assert body["results"][1]["undone"] is True
    assert body["counts"]["checked_in"] == 0


def test_two_offline_devices_admitting_the_same_ticket_keep_the_earlier_scan(api, venue, ticket, teammate, owner):
    # given the same ticket admitted on two phones while both were offline
    early = minutes_ago_today(3).isoformat()
    late = minutes_ago_today(1).isoformat()
    def queue(device, scanned_at):
        scan = {"type": "scan", "code": ticket.secret, "scan_id": new_id(), "scanned_at": scanned_at}
        return {"venue": venue.slug, "device": device, "items": [scan]}

    from_a, from_b = queue("A", early), queue("B", late)
    phone_a, phone_b = APIClient(), APIClient()
    phone_a.force_login(teammate)
    phone_b.force_login(owner)

    # when the later one syncs first, then the earlier one, then both again, three times
    answer_b = phone_b.post("/api/door/sync", from_b, format="json").json()
    answer_a = phone_a.post("/api/door/sync", from_a, format="json").json()
    for _ in range(3):
        phone_b.post("/api/door/sync", from_b, format="json")
        phone_a.post("/api/door/sync", from_a, format="json")

    # then the earlier scan is the admission, the later a duplicate, counted once
    assert answer_b["results"][0]["result"] == "ok"
    assert answer_a["results"][0]["result"] == "ok"
    by_device = dict(CheckIn.objects.values_list("device", "result"))
    assert by_device == {"A": "ok", "B": "already_checked_in"}
    assert counts(phone_a, venue)["checked_in"] == 2
    ticket.refresh_from_db()
    assert ticket.admitted == 2 and CheckIn.objects.count() == 2


def test_a_bad_item_does_not_block_the_rest_of_the_queue(api, venue, ticket, teammate):
    api.force_login(teammate)
    batch = {
        "venue": venue.slug,
        "items": [
            {"type": "teleport", "scan_id": "x1"},
            {"type": "walkin", "client_id": "w-1", "count": 0},
            {"type": "undo_scan", "scan_id": "never-seen"},
            {"type": "scan", "scan_id": "s-1"},
            {"type": "scan", "code": ticket.secret, "scan_id": new_id()},
        ],
    }
    response = post(api, "/api/door/sync", batch)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "error", "error", "done"]
    assert [r.get("error", {}).get("code") for r in results[:4]] == ["bad_type", "bad_count", "unknown_scan", "required"]
    assert results[3]["error"]["field"] == "code"
    assert results[0]["id"] == "x1" and results[4]["result"] == "ok"


# --- today's list -------------------------------------------------------------------------


def test_today_lists_dates_and_digests_never_secrets(api, venue, other_venue, ticket, teammate):
    # given a ticket here today, one elsewhere, and one here on another day
    elsewhere = make_occurrence(venue=other_venue, days_ahead=1)
    register(elsewhere)
    later = make_occurrence(venue=venue, days_ahead=3, title="Another day")
    register(later)
    api.force_login(teammate)

    # when the scanner downloads today's list
    response = api.get("/api/door/today", {"venue": venue.slug})

    # then it has today's date and ticket at this venue, by digest only
    body = response.json()
    assert response.status_code == 200
    assert [o["id"] for o in body["occurrences"]] == [ticket.registration.occurrence_id]
    assert [t["digest"] for t in body["tickets"]] == [ticket.digest]
    assert ticket.secret not in response.content.decode()
    row = body["tickets"][0]
    assert (row["name"], row["party_size"], row["admitted"], row["status"]) == ("Trần Thị Bình", 2, 0, "confirmed")
    assert body["counts"] == {"checked_in": 0, "expected": 2, "walk_ins": 0}
    assert body["checkin_opens_minutes"] >= 0 and body["server_time"]
    assert body["venue"] == {"slug": venue.slug, "name": venue.name}

    # and another day can be asked for
    other_day = timezone.localdate(later.start).isoformat()
    listed = api.get("/api/door/today", {"venue": venue.slug, "day": other_day}).json()
    assert [o["id"] for o in listed["occurrences"]] == [later.pk]


# --- bad input ------------------------------------------------------------------------------


BAD_REQUESTS = [
    ("/api/door/scan", {"scan_id": "s"}, "required", "code"),
    ("/api/door/scan", {"code": "c", "venue": "{venue}"}, "required", "scan_id"),
    ("/api/door/scan", {"code": "c", "scan_id": "s", "venue": "no-such-venue"}, "unknown_venue", "venue"),
    (
        "/api/door/scan", {"code": "c", "scan_id": "s", "venue": "{venue}", "occurrence_id": "{other_occurrence}"},
        "unknown_occurrence", "occurrence_id",
    ),
    ("/api/door/scan", {"code": "c", "scan_id": "s", "venue": "{venue}", "occurrence_id": "tomorrow"}, "invalid", "occurrence_id"),
    ("/api/door/scan", {"code": "c", "scan_id": "s", "venue": "{venue}", "headcount": 0}, "min_value", "headcount"),
    ("/api/door/scan", {"code": "c", "scan_id": "s" * 65, "venue": "{venue}"}, "max_length", "scan_id"),
    ("/api/door/scan", {"code": "c", "scan_id": "s", "venue": "{venue}", "scanned_at": "yesterday"}, "invalid", "scanned_at"),
    ("/api/door/scan", ["not", "an", "object"], "invalid", None),
    ("/api/door/undo", {"scan_id": "never-seen"}, "unknown_scan", "scan_id"),
    ("/api/door/walkins", {"client_id": "w", "venue": "{venue}", "count": 0}, "bad_count", "count"),
    ("/api/door/walkins", {"client_id": "w", "venue": "{venue}", "count": 10**6}, "bad_count", "count"),
    ("/api/door/walkins", {"client_id": "w", "venue": "{venue}", "count": 1, "audience": "robots"}, "invalid_choice", "audience"),
    (
        "/api/door/walkins", {"client_id": "w", "venue": "{venue}", "count": 1, "occurrence_id": "{other_occurrence}"},
        "unknown_occurrence", "occurrence_id",
    ),
    ("/api/door/walkins/undo", {"client_id": "never-seen"}, "unknown_walkin", "client_id"),
    ("/api/door/sync", {"venue": "{venue}", "items": "all of them"}, "not_a_list", "items"),
    ("/api/door/sync", {"venue": "{venue}", "items": [{"type": "scan"}] * 501}, "max_length", "items"),
    ("/api/door/sync", {"venue": "{venue}", "items": [3]}, "not_a_dict", "items.0"),]


def _fill(value, venue, other_occurrence):
    if isinstance(value, dict):
        return {k: _fill(v, venue, other_occurrence) for k, v in value.items()}
    if value == "{venue}":
        return venue.slug
    if value == "{other_occurrence}":
        return other_occurrence.pk
    return value


@pytest.mark.parametrize("url, data, code, field", BAD_REQUESTS)
def test_bad_input_is_400_with_a_code_never_a_500(api, venue, other_venue, teammate, url, data, code, field):
    other_occurrence = make_occurrence(venue=other_venue, days_ahead=1)
    api.force_login(teammate)

    response = post(api, url, _fill(data, venue, other_occurrence))

    body = response.json()
    # an id that names nothing is 404; the rest is 400
    assert response.status_code == (404 if code in ("unknown_scan", "unknown_walkin") else 400), body
    assert body["code"] == code
    assert body["field"] == field
    assert body["message"]


def test_malformed_json_and_bad_query_are_400(api, venue, teammate):
    api.force_login(teammate)
    broken = api.post("/api/door/scan", "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "parse_error"
    form = api.post("/api/door/scan", {"code": "c"})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    bad_day = api.get("/api/door/today", {"venue": venue.slug, "day": "31/12/2025"})
    assert bad_day.status_code == 400 and bad_day.json()["field"] == "day"
    no_venue = api.get("/api/door/today")
    assert no_venue.status_code == 400 and no_venue.json() == {
        "code": "required", "message": "This field is required.", "field": "venue"
    }


# --- schema -----------------------------------------------------------------------------------


def test_the_schema_documents_the_door_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    for path in ["scan", "undo", "walkins", "walkins/undo", "sync"]:
        assert "post" in schema["paths"][f"/api/door/{path}"]
    assert "get" in schema["paths"]["/api/door/today"]
    assert schema["paths"]["/api/door/scan"]["post"]["security"] == [{"tokenAuth": []}, {"cookieAuth": []}]
    assert {"scan", "undo_scan", "walkin", "undo_walkin"} == set(
        schema["components"]["schemas"]["DoorSyncItem"]["discriminator"]["mapping"]
    )
