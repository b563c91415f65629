"""The scanner page in a real browser: a keyboard-wedge scan, a camera scan
through Chromium's fake camera, and a scan with no network that is synced when
the network returns."""

import subprocess

import pytest
import zxingcpp
from django.utils import translation
from PIL import Image

from attendance.models import CheckIn, Ticket, WalkIn
from attendance.qr import qr_png
from attendance.texts import SCAN_MESSAGES
from attendance.views_door import page_strings
from tests.attendance_helpers import make_occurrence, register
from tests.browser.conftest import log_in, new_context, open_door

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Generous: the first page load also compiles the scripts and starts the service worker.
WAIT_MS = 20_000


def message(code: str) -> str:
    with translation.override("vi"):
        return str(SCAN_MESSAGES[code])


def page_string(name: str) -> str:
    with translation.override("vi"):
        return page_strings()[name]


@pytest.fixture
def occurrence(venue):
    return make_occurrence(venue=venue, capacity=20, days_ahead=1)


def ticket_for(occurrence, **kwargs) -> Ticket:
    return register(occurrence, **kwargs).registration.ticket


def open_scanner(page, live_server, user, venue, wait_offline_ready=False) -> list[str]:
    """Log in and open the scanner; returns the page's script errors, to assert none."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and "Failed to load resource" not in msg.text and errors.append(msg.text))
    url = f"/door/{venue.slug}/"
    log_in(page, live_server, user, url)
    page.wait_for_selector('html[data-door-ready="1"]', state="attached", timeout=WAIT_MS)
    if wait_offline_ready:
        page.wait_for_selector('html[data-door-list="saved"]', state="attached", timeout=WAIT_MS)
        page.wait_for_selector('html[data-door-sw="cached"]', state="attached", timeout=WAIT_MS)
    return errors


def counter(page, name: str) -> str:
    return page.text_content(f"#count-{name}").strip()


def test_a_ticket_typed_by_a_keyboard_wedge_scanner_is_admitted(launch, live_server, venue, teammate, occurrence):
    # given a ticket for a date whose door is open, and door staff on the scanner page
    ticket = ticket_for(occurrence, full_name="Lê Văn Cường")
    open_door(occurrence)
    page = new_context(launch()).new_page()
    errors = open_scanner(page, live_server, teammate, venue)
    assert page.get_attribute("html", "lang") == "vi"
    assert counter(page, "checked_in") == "0" and counter(page, "expected") == "1"
    # (the wedge field has the focus: a USB/Bluetooth scanner just types into it)
    assert page.evaluate("document.activeElement.id") == "door-code"

    # when the scanner types the ticket's code and Enter
    page.keyboard.type(ticket.secret)
    page.keyboard.press("Enter")

    # then the answer is green with the reason and the name, and the counter goes up
    answer = page.wait_for_selector('#door-answer[data-result="ok"]', timeout=WAIT_MS)
    assert "is-green" in answer.get_attribute("class")
    assert answer.get_attribute("data-source") == "server"
    assert page.text_content("#door-message") == message("ok")
    assert page.text_content("#door-name") == "Lê Văn Cường"
    page.wait_for_function("document.getElementById('count-checked_in').textContent.trim() === '1'")
    ticket.refresh_from_db()
    assert ticket.admitted == 1

    # and the same ticket again is amber, counted once
    page.keyboard.type(ticket.secret)
    page.keyboard.press("Enter")
    page.wait_for_selector('#door-answer[data-result="already_checked_in"]', timeout=WAIT_MS)
    assert "is-amber" in page.get_attribute("#door-answer", "class")
    assert counter(page, "checked_in") == "1"

    # and Undo gives the visit back
    page.click("#door-undo")
    page.wait_for_function("document.getElementById('count-checked_in').textContent.trim() === '0'", timeout=WAIT_MS)
    assert CheckIn.objects.filter(result="ok", undone_at__isnull=False).count() == 1
    assert errors == []


def test_walk_ins_are_counted_from_the_page(launch, live_server, venue, teammate):
    page = new_context(launch()).new_page()
    errors = open_scanner(page, live_server, teammate, venue)

    page.check('input[name="door-audience"][value="children"]')
    page.click("#door-walkin-one")
    page.wait_for_function("document.getElementById('count-walk_ins').textContent.trim() === '1'", timeout=WAIT_MS)
    page.fill("#door-walkin-count", "12")
    page.click("#door-walkin-many")
    page.wait_for_function("document.getElementById('count-walk_ins').textContent.trim() === '13'", timeout=WAIT_MS)

    assert sorted(WalkIn.objects.values_list("count", "audience")) == [(1, "children"), (12, "children")]
    assert errors == []


def _camera_video(secret: str, folder) -> str:
    """A y4m video of the ticket's QR code (the PNG its page shows), for Chromium's fake camera."""
    png = folder / "qr.png"
    png.write_bytes(qr_png(secret))
    # The image is a real QR code of the secret (checked with another decoder).
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(png))] == [secret]
    y4m = folder / "qr.y4m"
    # qr-scanner looks at the centre two thirds of the picture: keep the code inside it.
    subprocess.run(
        [
            "ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(png),
            "-vf", "scale=300:300:flags=neighbor,pad=640:480:(ow-iw)/2:(oh-ih)/2:white,format=yuv420p",
            "-t", "3", "-r", "10", str(y4m),
        ],
        check=True,
    )
    return str(y4m)


def test_a_ticket_shown_to_the_camera_is_admitted(launch, live_server, venue, teammate, occurrence, tmp_path):
    # given a ticket, and a phone whose camera sees its QR code
    ticket = ticket_for(occurrence, party_size=2)
    open_door(occurrence)
    video = _camera_video(ticket.secret, tmp_path)
    browser = launch(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    context = new_context(browser, permissions=["camera"])
    page = context.new_page()
    errors = open_scanner(page, live_server, teammate, venue)

    # when door staff start the camera
    page.click("#door-camera")

    # then the ticket is read and admitted, once although the code stays in view
    page.wait_for_selector('#door-answer[data-result="ok"]', timeout=WAIT_MS)
    assert page.get_attribute("#door-camera", "data-state") == "on"
    page.wait_for_function("document.getElementById('count-checked_in').textContent.trim() === '2'")
    page.wait_for_timeout(1500)
    ticket.refresh_from_db()
    assert ticket.admitted == 2
    assert CheckIn.objects.count() == 1
    assert errors == []


def test_with_no_network_the_page_decides_queues_and_syncs_later(launch, live_server, venue, teammate, occurrence):
    # given two tickets, and the scanner opened online (today's list and the page saved)
    ticket = ticket_for(occurrence, full_name="Phạm Thị Dung")
    ticket_for(occurrence)
    open_door(occurrence)
    context = new_context(launch())
    page = context.new_page()
    errors = open_scanner(page, live_server, teammate, venue, wait_offline_ready=True)

    # when the network drops and a ticket is scanned
    context.set_offline(True)
    page.fill("#door-code", ticket.secret)
    page.press("#door-code", "Enter")

    # then the page says it is offline, answers green by itself, and queues the scan
    page.wait_for_selector('#door-answer[data-result="ok"][data-source="device"]', timeout=WAIT_MS)
    assert "is-green" in page.get_attribute("#door-answer", "class")
    assert page.text_content("#door-name") == "Phạm Thị Dung"
    assert page.is_visible("#door-network")
    assert page.get_attribute("#door-network", "data-state") == "offline"
    assert page.text_content("#door-network").startswith(page_string("offline"))
    assert page.get_attribute("#door-queue", "data-count") == "1"
    assert page.text_content("#door-queue") == page_string("waiting_one")
    assert counter(page, "checked_in") == "1"
    assert CheckIn.objects.count() == 0

    # and the same ticket again is refused on this device (already admitted)
    page.fill("#door-code", ticket.secret)
    page.press("#door-code", "Enter")
    page.wait_for_selector('#door-answer[data-result="already_checked_in"]', timeout=WAIT_MS)
    assert page.get_attribute("#door-queue", "data-count") == "2"

    # and the page opens again with no network (service worker), queue intact
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector('html[data-door-ready="1"]', timeout=WAIT_MS)
    assert page.get_attribute("#door-network", "data-state") == "offline"
    assert page.get_attribute("#door-queue", "data-count") == "2"

    # when the network returns
    context.set_offline(False)

    # then the queue is synced and the server recorded exactly one admission
    page.wait_for_selector('#door-queue[data-count="0"]', state="attached", timeout=WAIT_MS)
    page.wait_for_selector("#door-network", state="hidden", timeout=WAIT_MS)
    assert sorted(CheckIn.objects.values_list("result", "offline")) == [("already_checked_in", True), ("ok", True)]
    ticket.refresh_from_db()
    assert ticket.admitted == 1
    page.wait_for_function("document.getElementById('count-checked_in').textContent.trim() === '1'")
    assert errors == []
