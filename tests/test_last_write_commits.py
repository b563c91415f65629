"""A transaction whose last write carries its COMMIT (common.sql.atomic_committed_by_last_write):
on PostgreSQL the scan's record and the COMMIT reach the database together, so what the
scan locked (its ticket, the day's and the month's visit totals) is released before the
scanning process has even read the answer. Each test runs on committed data
(transaction=True): inside a test's own transaction the block is plain atomic()."""

import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.transaction import TransactionManagementError

import attendance.services as services
from attendance.models import CheckIn, Ticket, VisitCount
from attendance.services import ticket_redeem
from common.sql import atomic_committed_by_last_write, execute_together
from tests.attendance_helpers import make_occurrence, register

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ticket(venue):
    occurrence = make_occurrence(venue=venue, capacity=20)
    return register(occurrence, party_size=2, full_name="Phạm Văn Nam").registration.ticket


def _redeem(ticket, venue, scan_id, **options):
    """The ticket scanned at its date's start."""
    at = ticket.registration.occurrence.start
    return ticket_redeem(code=ticket.secret, venue=venue, scan_id=scan_id, now=at, **options)


def _from_another_connection(work):
    """work() run on a connection of its own (a thread), its result returned."""
    out = {}

    def run():
        try:
            out["value"] = work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out["value"]


def _seen_elsewhere(ticket):
    """(scans of the ticket committed, the ticket's row free to lock) as another connection sees them."""

    def look():
        try:
            with transaction.atomic():
                free = Ticket.objects.select_for_update(nowait=True).filter(pk=ticket.pk).exists()
        except OperationalError:  # locked by the scan's transaction
            free = False
        return CheckIn.objects.filter(ticket=ticket).count(), free

    return _from_another_connection(look)


def test_a_scan_is_committed_before_its_block_ends(ticket, venue, monkeypatch):
    # given a look from another connection taken right after the scan's record is written,
    # while the scan's transaction block is still open (its answer's counters are being made)
    seen = []
    door_counts = services._door_counts

    def counts_and_look(values, **kwargs):
        seen.append(_seen_elsewhere(ticket))
        return door_counts(values, **kwargs)

    monkeypatch.setattr(services, "_door_counts", counts_and_look)

    # when the ticket is scanned
    outcome = _redeem(ticket, venue, "early-commit", with_counts=True)

    # then the scan was already committed and the ticket's row already free: nothing waited
    # for this process to ask for the COMMIT; and the answer and the counts are right
    assert outcome.result == CheckIn.Result.OK
    assert seen == [(1, True)]
    assert outcome.counts["checked_in"] == 2
    assert Ticket.objects.get(pk=ticket.pk).admitted == 2
    assert sum(VisitCount.objects.filter(venue=venue).values_list("checked_in", flat=True)) == 2


def test_a_replayed_scan_id_rolls_back_and_answers_the_first_result(ticket, venue):
    # given a scan on record
    first = _redeem(ticket, venue, "replayed")

    # when the same upload arrives twice more (its write fails in the pipeline, on the scan id)
    again = [_redeem(ticket, venue, "replayed") for _ in range(2)]

    # then the first answer is given again, nothing is counted twice, and the connection still works
    assert [o.result for o in again] == [first.result, first.result] == [CheckIn.Result.OK] * 2
    assert CheckIn.objects.filter(scan_id="replayed").count() == 1
    assert Ticket.objects.get(pk=ticket.pk).admitted == 2
    assert sum(VisitCount.objects.filter(venue=venue).values_list("checked_in", flat=True)) == 2
    assert _redeem(ticket, venue, "next").result == CheckIn.Result.ALREADY


def test_inside_a_callers_transaction_nothing_is_committed_early(ticket, venue):
    # given a scan inside a caller's own transaction, which then fails
    class CallerFailed(Exception):
        pass

    with pytest.raises(CallerFailed), transaction.atomic():
        _redeem(ticket, venue, "inside")
        assert _seen_elsewhere(ticket) == (0, False)  # not committed, the row still locked
        raise CallerFailed

    # then the scan went with the caller's transaction
    assert not CheckIn.objects.filter(scan_id="inside").exists()
    assert Ticket.objects.get(pk=ticket.pk).admitted == 0


def _admit(ticket, count, *, last):
    return execute_together(
        [(f"UPDATE {Ticket._meta.db_table} SET admitted = admitted + %s WHERE id = %s", [count, ticket.pk])], last=last
    )


def test_a_statement_after_the_committing_write_is_refused_and_rolled_back(ticket):
    # when something writes after the transaction's last write
    with pytest.raises(TransactionManagementError), atomic_committed_by_last_write():
        _admit(ticket, 1, last=True)
        _admit(ticket, 5, last=False)

    # then the mistake is loud, the stray write is undone, and the last write stands (it was committed)
    assert Ticket.objects.get(pk=ticket.pk).admitted == 1


def test_a_last_write_in_a_savepoint_does_not_commit(ticket):
    # given a last write made inside a savepoint of the block, and the block then failing
    class BlockFailed(Exception):
        pass

    with pytest.raises(BlockFailed), atomic_committed_by_last_write():
        with transaction.atomic():
            _admit(ticket, 1, last=True)
        raise BlockFailed

    # then it was rolled back with the block
    assert Ticket.objects.get(pk=ticket.pk).admitted == 0


def test_on_commit_callbacks_run_once_after_the_block(ticket):
    # given a callback registered before the committing write
    ran = []
    with atomic_committed_by_last_write():
        transaction.on_commit(lambda: ran.append(Ticket.objects.get(pk=ticket.pk).admitted))
        _admit(ticket, 2, last=True)
        assert ran == []  # not yet: Django runs it when the block ends

    # then it ran once, after the commit, and saw the write
    assert ran == [2]


def test_the_connection_is_usable_after_a_failed_committing_write(ticket):
    # given a last write that fails in the database (a ticket secret already taken)
    other = register(ticket.registration.occurrence, phone="0912000111").registration.ticket
    with pytest.raises(Exception) as failure, atomic_committed_by_last_write():
        execute_together(
            [(f"UPDATE {Ticket._meta.db_table} SET secret = %s WHERE id = %s", [ticket.secret, other.pk])], last=True
        )

    # then it arrives as Django's IntegrityError, nothing changed, and the next transaction works
    assert isinstance(failure.value, IntegrityError)
    assert Ticket.objects.get(pk=other.pk).secret != ticket.secret
    with atomic_committed_by_last_write():
        _admit(ticket, 1, last=True)
    assert Ticket.objects.get(pk=ticket.pk).admitted == 1
