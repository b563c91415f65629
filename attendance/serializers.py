"""Request and response shapes of the door API (attendance.api).

They validate what a scanner sends and document it in the OpenAPI schema;
the decisions themselves are attendance.services'.
"""

import copy

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from attendance.models import CheckIn, WalkIn

# A batch from a phone that was offline for a whole morning fits easily; a
# bigger one is split by the client.
SYNC_MAX_ITEMS = 500
# Large enough for any group ticket (a party size is a small positive integer).
HEADCOUNT_MAX = 10_000


class DoorErrorSerializer(serializers.Serializer):
    """The one error shape of the door API."""

    code = serializers.CharField(help_text="Stable, machine-readable reason (e.g. required, unknown_venue, bad_count).")
    message = serializers.CharField(help_text="What went wrong, in the user's language.")
    field = serializers.CharField(allow_null=True, help_text="The request field at fault, if any.")


class DoorCountsSerializer(serializers.Serializer):
    checked_in = serializers.IntegerField(help_text="People admitted today (headcounts of admitted scans).")
    expected = serializers.IntegerField(help_text="People with a confirmed registration for today's dates.")
    walk_ins = serializers.IntegerField(help_text="Visitors counted at the door without a ticket.")


# -- requests -----------------------------------------------------------------------


class FlatRequestSerializer(serializers.Serializer):
    """A request shape of plain fields, validated on every scan.

    DRF clones a serializer's declared fields for each instance by deep copy,
    which runs every field's __init__ again (its validators rebuilt): about half
    of validating a scan. These fields are never changed after declaration, so
    each instance binds a shallow copy of them instead: its own name, parent
    and label, the same arguments and validators. Nested serializers and list
    or dict fields hold a child bound to its parent, so they are refused here."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, declared in cls._declared_fields.items():
            if isinstance(declared, serializers.BaseSerializer) or hasattr(declared, "child"):
                raise TypeError(f"{cls.__name__}.{name}: a nested field needs DRF's deep copy (serializers.Serializer).")

    def get_fields(self):
        return {name: copy.copy(declared) for name, declared in self._declared_fields.items()}


class DoorScanFieldsSerializer(FlatRequestSerializer):
    code = serializers.CharField(max_length=2000, help_text="What the scanner read: the ticket's secret (QR content).")
    scan_id = serializers.CharField(
        max_length=64, help_text="Client-generated unique id of this scan; sending it again is a no-op."
    )
    occurrence_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1,
        help_text="Admit only for this date (an occurrence at the venue); omit for any date today.",
    )
    headcount = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=HEADCOUNT_MAX,
        help_text="Admit N people of a group's party; omit to admit everyone not yet admitted.",
    )
    device = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    scanned_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the device scanned (its clock); defaults to now."
    )


class DoorScanSerializer(DoorScanFieldsSerializer):
    venue = serializers.SlugField(max_length=100, help_text="Slug of the venue at whose door the scan happens.")
    offline = serializers.BooleanField(
        required=False, default=False, help_text="The device decided offline; the scan is judged at scanned_at."
    )


class DoorUndoScanSerializer(FlatRequestSerializer):
    scan_id = serializers.CharField(max_length=64, help_text="The scan to undo (an admitted one).")


class DoorWalkInFieldsSerializer(FlatRequestSerializer):
    client_id = serializers.CharField(
        max_length=64, help_text="Client-generated unique id of this count; sending it again is a no-op."
    )
    # Range checked by the service (code bad_count), so every client gets the same answer.
    count = serializers.IntegerField(help_text="Number of visitors (1 to WALKIN_MAX_COUNT).")
    occurrence_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A date at the venue; omit for the venue's day."
    )
    audience = serializers.ChoiceField(choices=WalkIn.Audience.choices, required=False, allow_blank=True, default="")
    recorded_at = serializers.DateTimeField(required=False, allow_null=True, help_text="When the device counted.")
    device = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class DoorWalkInSerializer(DoorWalkInFieldsSerializer):
    venue = serializers.SlugField(max_length=100)
    offline = serializers.BooleanField(required=False, default=False)


class DoorUndoWalkInSerializer(FlatRequestSerializer):
    client_id = serializers.CharField(max_length=64)


class DoorTodayQuerySerializer(FlatRequestSerializer):
    venue = serializers.SlugField(max_length=100, help_text="Slug of the venue.")
    day = serializers.DateField(required=False, help_text="yyyy-mm-dd, local time; defaults to today.")


# Sync items: each is one of the actions above, with the batch's venue.


class DoorSyncScanItemSerializer(DoorScanFieldsSerializer):
    type = serializers.ChoiceField(choices=["scan"])
    offline = serializers.BooleanField(
        required=False, default=True, help_text="Queued items were decided offline (default true)."
    )


class DoorSyncUndoScanItemSerializer(DoorUndoScanSerializer):
    type = serializers.ChoiceField(choices=["undo_scan"])


class DoorSyncWalkInItemSerializer(DoorWalkInFieldsSerializer):
    type = serializers.ChoiceField(choices=["walkin"])
    offline = serializers.BooleanField(required=False, default=True)


class DoorSyncUndoWalkInItemSerializer(DoorUndoWalkInSerializer):
    type = serializers.ChoiceField(choices=["undo_walkin"])


SYNC_ITEM_SERIALIZERS = {
    "scan": DoorSyncScanItemSerializer,
    "undo_scan": DoorSyncUndoScanItemSerializer,
    "walkin": DoorSyncWalkInItemSerializer,
    "undo_walkin": DoorSyncUndoWalkInItemSerializer,
}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="DoorSyncItem",
        serializers=SYNC_ITEM_SERIALIZERS,
        resource_type_field_name="type",
        many=True,
    )
)
class SyncItemsField(serializers.ListField):
    """Items are validated one by one (attendance.api), so one bad item does not
    block the rest of a queue."""

    child = serializers.DictField()


class DoorSyncSerializer(serializers.Serializer):
    venue = serializers.SlugField(max_length=100)
    device = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    items = SyncItemsField(
        max_length=SYNC_MAX_ITEMS,
        help_text="Processed in order; each is idempotent (scan_id / client_id), so a batch may be sent again.",
    )


# -- responses ----------------------------------------------------------------------


class DoorScanDetailsSerializer(serializers.Serializer):
    headcount = serializers.IntegerField(help_text="People admitted by this scan.")
    name = serializers.CharField(required=False)
    organisation = serializers.CharField(required=False)
    party_size = serializers.IntegerField(required=False)
    admitted = serializers.IntegerField(required=False, help_text="People of the party admitted so far.")
    kind = serializers.CharField(required=False)
    occurrence_id = serializers.IntegerField(required=False, help_text="The ticket's date.")
    occurrence_start = serializers.DateTimeField(required=False)
    title = serializers.CharField(required=False)
    first_checked_in_at = serializers.DateTimeField(required=False)
    first_checked_in_by = serializers.CharField(required=False)
    first_device = serializers.CharField(required=False)


class DoorScanResultSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=CheckIn.Result.choices)
    colour = serializers.ChoiceField(choices=["green", "amber", "red"])
    message = serializers.CharField(help_text="The reason, in the user's language.")
    scan_id = serializers.CharField()
    details = DoorScanDetailsSerializer()
    counts = DoorCountsSerializer()


class DoorUndoScanResultSerializer(serializers.Serializer):
    scan_id = serializers.CharField()
    undone = serializers.BooleanField(help_text="The scan is (now or already) undone; false for a refused scan.")
    result = serializers.ChoiceField(choices=CheckIn.Result.choices)
    counts = DoorCountsSerializer()


class DoorWalkInResultSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this client_id was already recorded.")
    count = serializers.IntegerField()
    audience = serializers.CharField()
    occurrence_id = serializers.IntegerField(allow_null=True)
    day = serializers.DateField()
    undone = serializers.BooleanField()
    counts = DoorCountsSerializer()


class DoorSyncItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the batch.")
    type = serializers.CharField()
    id = serializers.CharField(help_text="The item's scan_id or client_id.")
    status = serializers.ChoiceField(choices=["done", "error"])
    result = serializers.ChoiceField(choices=CheckIn.Result.choices, required=False, help_text="For scans.")
    colour = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    details = DoorScanDetailsSerializer(required=False)
    created = serializers.BooleanField(required=False, help_text="For walk-ins.")
    undone = serializers.BooleanField(required=False, help_text="For undos.")
    error = DoorErrorSerializer(required=False, help_text="Why the item was refused (it will never be accepted).")


class DoorSyncResultSerializer(serializers.Serializer):
    results = DoorSyncItemResultSerializer(many=True)
    counts = DoorCountsSerializer()


class DoorTodayOccurrenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    cancelled = serializers.BooleanField()


class DoorTodayTicketSerializer(serializers.Serializer):
    digest = serializers.CharField(help_text="SHA-256 (hex) of the ticket's secret; the secret is never listed.")
    occurrence_id = serializers.IntegerField()
    occurrence_start = serializers.DateTimeField()
    occurrence_end = serializers.DateTimeField()
    occurrence_cancelled = serializers.BooleanField()
    status = serializers.CharField()
    name = serializers.CharField()
    organisation = serializers.CharField()
    party_size = serializers.IntegerField()
    admitted = serializers.IntegerField()


class DoorTodayVenueSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class DoorTodaySerializer(serializers.Serializer):
    venue = DoorTodayVenueSerializer()
    day = serializers.DateField()
    server_time = serializers.DateTimeField()
    checkin_opens_minutes = serializers.IntegerField(help_text="The door opens this long before a start.")
    checkin_closes_minutes = serializers.IntegerField(help_text="The door closes this long after an end.")
    occurrences = DoorTodayOccurrenceSerializer(many=True)
    tickets = DoorTodayTicketSerializer(many=True)
    counts = DoorCountsSerializer()

