"""Exit 0 when Redis answers at the URL given."""

import sys

import redis

try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
except redis.RedisError as exc:
    print(f"Redis: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
