"""The door's request shapes bind shallow copies of their fields
(attendance.serializers.FlatRequestSerializer) and validate exactly as DRF's
deep-copied fields do."""

import copy

import pytest
from rest_framework import serializers

from attendance import serializers as s

SHAPES = [
    s.DoorScanSerializer, s.DoorUndoScanSerializer, s.DoorWalkInSerializer, s.DoorUndoWalkInSerializer,
    s.DoorTodayQuerySerializer, *s.SYNC_ITEM_SERIALIZERS.values(),
]

INPUTS = [
    {"code": "abc", "scan_id": "s-1", "venue": "thu-vien", "occurrence_id": 3, "headcount": 27, "device": "cổng 1",
     "scanned_at": "2026-12-02T08:30:00+07:00", "offline": True},
    {"code": "abc", "scan_id": "s-1", "venue": "thu-vien"},
    {"code": "", "scan_id": "x" * 65, "venue": "không phải slug", "headcount": 0, "occurrence_id": "ba"},
    {"client_id": "w-1", "count": "2", "venue": "thu-vien", "audience": "children", "recorded_at": "hôm qua"},
    {"client_id": "w-1", "count": 1, "venue": "thu-vien", "audience": "martians"},
    {"type": "scan", "code": "abc", "scan_id": "s-2"},
    {"venue": "thu-vien", "day": "2026-12-02"},
    {"venue": "thu-vien", "day": "02/12/2026"},
    {},
]


def _deep_copied(shape):
    """The same shape with DRF's own cloning of fields."""
    return type(f"Deep{shape.__name__}", (shape,), {"get_fields": lambda self: copy.deepcopy(self._declared_fields)})


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__)
def test_a_flat_shape_validates_as_drfs_deep_copy_does(shape):
    for data in INPUTS:
        # given the same input, validated by the shallow copies and by DRF's deep copies
        ours, drf = shape(data=data), _deep_copied(shape)(data=data)

        # then both accept or refuse it alike, with the same values and the same errors
        assert ours.is_valid() == drf.is_valid(), data
        assert ours.validated_data == drf.validated_data, data
        assert ours.errors == drf.errors, data


def test_each_request_binds_its_own_fields_and_leaves_the_declared_ones_alone():
    # given two requests validated at the same time
    first, second = s.DoorScanSerializer(data={}), s.DoorScanSerializer(data={})

    # then each field is bound to its own request, and the declared fields stay unbound
    for name, declared in s.DoorScanSerializer._declared_fields.items():
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
        assert getattr(declared, "parent", None) is None


def test_a_nested_field_is_refused_where_shallow_copies_would_share_it():
    with pytest.raises(TypeError, match="nested"):
        type("WithList", (s.FlatRequestSerializer,), {"codes": serializers.ListField(child=serializers.CharField())})
    with pytest.raises(TypeError, match="nested"):
        type("WithNested", (s.FlatRequestSerializer,), {"counts": s.DoorCountsSerializer()})
