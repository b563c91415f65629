"""Rate limits: counted per key and window, on whatever cache the site has."""

import uuid

import pytest
from django.core.cache import cache

from common.throttle import throttle_hits


def throttle_hit(scope, key, *, limit, window):
    (allowed,) = throttle_hits([(scope, key, limit, window)])
    return allowed


def test_attempts_within_the_limit_pass_and_the_next_is_refused():
    # given a limit of 2 per 10 minutes, and a key no one has used
    key = uuid.uuid4().hex

    # when it is hit three times, and another key once
    hits = [throttle_hit("test", key, limit=2, window=600) for _ in range(3)]
    other = throttle_hit("test", uuid.uuid4().hex, limit=2, window=600)

    # then the third is refused, and the other key is not affected
    assert hits == [True, True, False]
    assert other is True


@pytest.mark.redis
def test_on_redis_an_attempt_is_one_round_trip_and_its_count_expires_with_the_window(monkeypatch):
    # given the site's cache on Redis (django-redis), and a spy on what reaches the server
    import redis
    from django_redis import get_redis_connection

    client = get_redis_connection()
    commands, batches = [], []
    execute_command, execute = redis.Redis.execute_command, redis.client.Pipeline.execute
    monkeypatch.setattr(redis.Redis, "execute_command", lambda self, *a, **k: commands.append(a[0]) or execute_command(self, *a, **k))
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *a, **k: batches.append(len(self.command_stack)) or execute(self, *a, **k))
    key = uuid.uuid4().hex

    # when a key is hit twice
    assert throttle_hit("test", key, limit=5, window=600)
    assert throttle_hit("test", key, limit=5, window=600)

    # then each hit was one batch (INCR and EXPIRE … NX), nothing sent alone
    assert commands == [] and batches == [2, 2]
    # and the count is kept under the cache's own key, with the window's expiry
    (stored,) = [k for k in client.keys(cache.make_key(f"throttle:test:{key}:*"))]
    assert int(client.get(stored)) == 2
    assert 590 < client.ttl(stored) <= 601


@pytest.mark.redis
def test_on_redis_an_address_and_a_phone_are_counted_in_one_round_trip(monkeypatch):
    # given a spy on the batches sent to Redis
    import redis

    batches = []
    execute = redis.client.Pipeline.execute
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *a, **k: batches.append(len(self.command_stack)) or execute(self, *a, **k))
    address, phone = uuid.uuid4().hex, uuid.uuid4().hex

    # when an address (limit 3) and a phone (limit 1) are counted together twice
    first = throttle_hits([("test_ip", address, 3, 600), ("test_phone", phone, 1, 600)])
    second = throttle_hits([("test_ip", address, 3, 600), ("test_phone", phone, 1, 600)])

    # then each time both were counted in one batch, each against its own limit
    assert batches == [4, 4]
    assert first == [True, True] and second == [True, False]
